#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""generalisation.py - which rules and phrases decide how much of the corpus.

    tests/generalisation.py EXPLAIN.txt RULES_DIR [--full OUT.txt]

EXPLAIN.txt is what "rebound-pipe --classify --explain" printed for the
labelled corpus.  For each rule, and each phrase of a @phrases list, the
report counts the recipients it decided, the files and the families
(a family is a file name without its number: lhost-postfix-12.eml belongs
to lhost-postfix).  A rule or phrase that decides in one family only may
exist to match that family's samples; each must show where its wording
comes from:

  - a phrase, by the comment after it ("# Postfix local(8), Exim");
  - a rule with a regex of its own, by a "Source:" line in the comment
    paragraph above it.

The report also checks the built-in files themselves: every phrase has
its comment and every rule with a regex of its own a Source line, so that
a postmaster can tell where each wording comes from.  It exits 1 when
anything lacks a source.
"""
import collections
import os
import re
import sys

DECIDED = re.compile(r'^  decided by (\S+?)(?: at (\S+):(\d+))?(?:, phrase (\S+):(\d+))?[:,]')
RECIPIENT = re.compile(r'^(\S.*): recipient ')


def family(path):
    name = os.path.basename(path)
    return re.sub(r'-\d+\.eml$', '', name)


def read_rules(directory):
    """Rules, phrases and their sources, from the *.rules files."""
    rules = {}      # id -> dict(file, line, source, own_regex)
    phrases = {}    # (file, line) -> dict(text, source, list)
    problems = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith('.rules') or name.startswith('.'):
            continue
        path = os.path.join(directory, name)
        paragraph = []          # comment lines of the current paragraph
        current_list = None
        with open(path, encoding='utf-8') as fp:
            for lineno, raw in enumerate(fp, 1):
                line = raw.rstrip('\n')
                stripped = line.strip()
                if not stripped:
                    paragraph = []
                    current_list = None
                    continue
                if line[0] in ' \t':
                    if stripped.startswith('#') or current_list is None:
                        continue
                    m = re.match(r'^(.*?)(?:(?<=[ \t])#\s*(.*))?$', stripped)
                    text, comment = m.group(1).strip(), (m.group(2) or '').strip()
                    phrases[(name, lineno)] = {'text': text, 'source': comment, 'list': current_list}
                    if not comment:
                        problems.append('%s:%d: phrase "%s" of %s names no source'
                                        % (name, lineno, text, current_list))
                    continue
                if stripped.startswith('#'):
                    paragraph.append(stripped.lstrip('#').strip())
                    continue
                current_list = None
                source = ' '.join(c for c in paragraph)
                has_source = any(re.match(r'Sources?:', c) for c in paragraph)
                words = stripped.split()
                if words[0] == '@phrases':
                    current_list = words[1]
                    rules[words[1]] = {'file': name, 'line': lineno, 'source': source,
                                       'has_source': True, 'phrases': True}
                    continue
                if words[0].startswith('@'):
                    continue
                own_regex = '/' in stripped and not re.search(r'\blike=', stripped)
                rules[words[0]] = {'file': name, 'line': lineno, 'source': source,
                                   'has_source': has_source or not own_regex, 'phrases': False}
                if own_regex and not has_source:
                    problems.append('%s:%d: rule %s has a regex of its own and no Source: line'
                                    % (name, lineno, words[0]))
    return rules, phrases, problems


def read_explain(path):
    """(file, rule, phrase file, phrase line) for every recipient decided."""
    decided = []
    current = None
    with open(path, encoding='utf-8', errors='replace') as fp:
        for line in fp:
            m = RECIPIENT.match(line)
            if m:
                current = m.group(1)
                continue
            m = DECIDED.match(line)
            if m and current is not None:
                phrase = (os.path.basename(m.group(4)), int(m.group(5))) if m.group(4) else None
                decided.append((current, m.group(1), phrase))
    return decided


def main():
    args = sys.argv[1:]
    full = None
    if '--full' in args:
        i = args.index('--full')
        full = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__.strip().split('\n\n')[0], file=sys.stderr)
        return 2
    rules, phrases, problems = read_rules(args[1])
    decided = read_explain(args[0])
    by_rule = collections.defaultdict(list)
    by_phrase = collections.defaultdict(list)
    for path, rule, phrase in decided:
        by_rule[rule].append(path)
        if phrase is not None:
            by_phrase[phrase].append(path)

    lines = []
    lines.append('%-26s %6s %6s %8s  %s' % ('rule', 'rcpts', 'files', 'families', 'where'))
    for rule, paths in sorted(by_rule.items(), key=lambda kv: (-len(set(map(family, kv[1]))), kv[0])):
        info = rules.get(rule)
        where = '%s:%d' % (info['file'], info['line']) if info else 'built-in fallback'
        lines.append('%-26s %6d %6d %8d  %s' % (rule, len(paths), len(set(paths)),
                                                 len(set(map(family, paths))), where))
    lines.append('')
    lines.append('%-26s %6s %6s %8s  %s' % ('phrase', 'rcpts', 'files', 'families', 'text'))
    for key, paths in sorted(by_phrase.items(), key=lambda kv: (-len(set(map(family, kv[1]))), kv[0])):
        p = phrases.get(key, {'text': '?'})
        lines.append('%-26s %6d %6d %8d  %s' % ('%s:%d' % key, len(paths), len(set(paths)),
                                                 len(set(map(family, paths))), p['text']))
    if full:
        with open(full, 'w', encoding='utf-8') as out:
            out.write('\n'.join(lines) + '\n')

    single_rules = []
    for rule, paths in sorted(by_rule.items()):
        fams = set(map(family, paths))
        if len(fams) != 1 or rule not in rules:
            continue
        info = rules[rule]
        single_rules.append(rule)
        mark = 'ok' if info['has_source'] else 'NO SOURCE'
        if not info['has_source']:
            problems.append('%s:%d: rule %s decides in %s only and names no source'
                            % (info['file'], info['line'], rule, fams.pop()))
        else:
            print('single-family rule   %-22s %-22s %s  %s:%d' % (rule, list(fams)[0], mark,
                                                                 info['file'], info['line']))
    single_phrases = 0
    for key, paths in sorted(by_phrase.items()):
        fams = set(map(family, paths))
        if len(fams) != 1:
            continue
        single_phrases += 1
        p = phrases.get(key, {'text': '?', 'source': ''})
        print('single-family phrase %-22s %-22s %s:%d "%s" (%s)' % (
            p.get('list', '?'), list(fams)[0], key[0], key[1], p['text'], p['source'] or 'NO SOURCE'))
    families = set(map(family, (d[0] for d in decided)))
    n_rules = sum(1 for r in by_rule if r in rules)
    print('generalisation: %d recipients in %d families; %d rules and %d phrases decide; '
          '%d rules and %d phrases decide in one family only; %d without a source'
          % (len(decided), len(families), n_rules, len(by_phrase), len(single_rules),
             single_phrases, len(problems)))
    for p in problems:
        print('generalisation: ' + p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
