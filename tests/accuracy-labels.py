#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""accuracy-labels.py - the corpus labels with the disputed pairs read as rebound decides them.

    tests/accuracy-labels.py LABELS.jsonl DISPUTES OUTPUT.jsonl > ADJUSTED.jsonl

DISPUTES (tests/accuracy-disputes) lists, one per line, "FILE RECIPIENT
REASON hard|soft  # why": labels that rebound contradicts on purpose.  The
labels are written out with those pairs' reason and hardbounce replaced,
for the floors of "make accuracy" to hold.  Every dispute must name a
labelled pair, give a reason, and agree with what rebound printed
(OUTPUT.jsonl) in category and hard/soft; anything else is an error
(exit 1), so that a dispute cannot outlive the decision it explains.
"""
import importlib.util
import json
import os
import sys


def load_score(labels_path):
    """score.py's category of a reason name, from beside the corpus."""
    here = os.path.dirname(os.path.abspath(labels_path))
    path = os.environ.get('SCORE') or os.path.join(here, '..', 'tools', 'score.py')
    spec = importlib.util.spec_from_file_location('score', path)
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    return score.category


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().split('\n\n')[1], file=sys.stderr)
        return 2
    labels_path, disputes_path, output_path = sys.argv[1:]
    category = load_score(labels_path)
    disputes, errors = {}, []
    with open(disputes_path, encoding='utf-8') as fp:
        for lineno, line in enumerate(fp, 1):
            text, _, why = line.partition('#')
            words = text.split()
            if not words:
                continue
            if len(words) != 4 or words[3] not in ('hard', 'soft') or not why.strip():
                errors.append('%s:%d: want FILE RECIPIENT REASON hard|soft  # why'
                              % (disputes_path, lineno))
                continue
            disputes[(words[0], words[1].lower())] = (words[2], words[3] == 'hard', lineno)
    predicted = {}
    with open(output_path, encoding='utf-8') as fp:
        for line in fp:
            if line.strip():
                o = json.loads(line)
                key = (os.path.basename(o['file']), (o.get('recipient') or '').lower())
                predicted.setdefault(key, o)
    seen = set()
    with open(labels_path, encoding='utf-8') as fp:
        for line in fp:
            o = json.loads(line)
            key = (o['file'], (o.get('recipient') or '').lower())
            if key in disputes:
                reason, hard, lineno = disputes[key]
                p = predicted.get(key)
                if p is None or category(p['reason']) != category(reason) or bool(p['hard']) != hard:
                    errors.append('%s:%d: %s %s: rebound now says %s %s, not %s %s'
                                  % (disputes_path, lineno, key[0], key[1],
                                     p and p['reason'], p and ('hard' if p['hard'] else 'soft'),
                                     reason, 'hard' if hard else 'soft'))
                o['disputed_label'] = {'reason': o['reason'], 'hardbounce': o['hardbounce']}
                o['reason'], o['hardbounce'] = reason, hard
                seen.add(key)
            sys.stdout.write(json.dumps(o, ensure_ascii=False) + '\n')
    for key, (reason, hard, lineno) in disputes.items():
        if key not in seen:
            errors.append('%s:%d: %s %s is not a labelled pair' % (disputes_path, lineno, *key))
    for e in errors:
        print('accuracy-labels: ' + e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
