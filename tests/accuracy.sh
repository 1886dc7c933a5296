#!/bin/sh
# accuracy.sh - compare score.py's figures with tests/accuracy-floors.
#
#   tests/accuracy.sh SCORE.json OUTPUT.jsonl FLOORS [DISPUTED.json]
#
# SCORE.json is score.py's --json output against the corpus labels,
# OUTPUT.jsonl what rebound-pipe --classify printed.  DISPUTED.json, when
# given, is score.py's output against the labels with the pairs of
# tests/accuracy-disputes read as rebound decides them on purpose
# (tests/accuracy-labels.py): the floors hold those figures, and both are
# printed.  Exits 1 if any measure is below its floor (or above zero
# where zero is required).
set -eu
[ $# -eq 3 ] || [ $# -eq 4 ] || {
	echo "usage: $0 score.json output.jsonl floors [disputed.json]" >&2; exit 2; }
exec /usr/bin/python3 - "$@" <<'PY'
import json, sys

rows = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
floors = {}
for line in open(sys.argv[3]):
    line = line.split("#", 1)[0].split()
    if len(line) == 2:
        floors[line[0]] = float(line[1])

def pct(a, b):
    return 100.0 * a / b if b else 0.0

failures = ("rejected", "bounced", "expired")

def figures(score):
    return {
        "files_exactly_right_pct": pct(score["files_exactly_right_recipient_set"], score["files_in_scope"]),
        "precision_pct": score["precision_pct"] or 0.0,
        "category_pct": score["category"]["agreement_pct"] or 0.0,
        "status_real_pct": score["status_exact_real_codes"]["agreement_pct"] or 0.0,
        "hard_soft_pct": score["hard_soft"]["agreement_pct"] or 0.0,
        "replycode_pct": score["replycode"]["agreement_pct"] or 0.0,
        "nonbounce_files_with_output": score["nonbounce_files_with_output"],
        # A delay notice (DSN Action: delayed, or a text warning) is never a failure.
        "delay_notices_as_failures": sum(1 for r in rows
                                         if r.get("action") == "delayed" and r.get("kind") in failures),
    }

raw = figures(json.load(open(sys.argv[1])))
got = figures(json.load(open(sys.argv[4]))) if len(sys.argv) > 4 else raw
if len(sys.argv) > 4:
    print("%-30s %12s %12s" % ("", "as labelled", "disputes"))
bad = 0
for name, floor in floors.items():
    # NAME_as_labelled holds the figure against the labels as they are, so
    # that the disputes cannot hide a fall of the plain figure either.
    base = name[:-len("_as_labelled")] if name.endswith("_as_labelled") else name
    value = raw[base] if base != name else got[name]
    shown = "%11.2f%% " % raw[base] if len(sys.argv) > 4 and base.endswith("_pct") else \
            "%12d " % raw[base] if len(sys.argv) > 4 else ""
    if base.endswith("_pct"):
        ok = value + 1e-9 >= floor
        print("%-30s %s%7.2f%%  floor %6.2f%%  %s" % (name, shown, value, floor,
                                                     "ok" if ok else "BELOW FLOOR"))
    else:
        ok = value <= floor
        print("%-30s %s%7d   max %7d    %s" % (name, shown, value, floor, "ok" if ok else "TOO MANY"))
    bad += not ok
sys.exit(1 if bad else 0)
PY
