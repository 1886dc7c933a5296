#!/usr/bin/python3
"""bench-ab.py - one process per file, several rebound-pipe binaries side by side.

    /usr/bin/python3 tests/tools/bench-ab.py [--split] CONFIG CORPUS_EMAILS_DIR NULL PIPE...

For every other file of the corpus, runs each PIPE as pipe(8) would run
rebound-pipe (`PIPE -c CONFIG --classify FILE`, no database) and NULL
(tests/tools/bench-null) one after the other, so that a busy moment of
the machine falls on all of them, and prints the median wall time of
each and its ratio to NULL's.  For telling whether a change made one
process cheaper: tests/bench.py's ratio moves less than its noise for a
change of a few percent.

--split also runs the first PIPE three more ways, to show where its time
goes: with the message replaced by an empty file (loading the rules
only), with an empty rule set (the configuration's rule directories
replaced by an empty one), and with both.

The driver pins itself to CPU 0 and its children inherit that.  Standard
library only.  A benchmark, not a test: it checks nothing.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from bench import empty_rules_conf  # noqa: E402


def wall(argv):
    """Wall time of one run of argv, input empty, output discarded."""
    t = time.perf_counter()
    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t


def main():
    args = sys.argv[1:]
    split = bool(args) and args[0] == "--split"
    if split:
        args = args[1:]
    if len(args) < 4:
        sys.exit(__doc__)
    conf, corpus, null, pipes = args[0], args[1], args[2], args[3:]
    os.sched_setaffinity(0, {0})
    files = [os.path.join(corpus, f) for f in sorted(os.listdir(corpus))
             if not f.startswith(".")][::2]
    with tempfile.TemporaryDirectory(prefix="rebound-bench-ab.") as tmp:
        bare = empty_rules_conf(conf, tmp)
        empty = os.path.join(tmp, "empty.eml")
        open(empty, "w").close()
        sides = [(os.path.basename(null) + " (null)", lambda f: [null])]
        for p in pipes:
            sides.append((p, lambda f, p=p: [p, "-c", conf, "--classify", f]))
        if split:
            first = pipes[0]
            sides += [
                (first + ", empty file", lambda f: [first, "-c", conf, "--classify", empty]),
                (first + ", no rules", lambda f: [first, "-c", bare, "--classify", f]),
                (first + ", no rules, empty file",
                 lambda f: [first, "-c", bare, "--classify", empty]),
            ]
        times = [[] for _ in sides]
        for f in files:
            for t, (_, argv_for) in zip(times, sides):
                t.append(wall(argv_for(f)))
    floor = statistics.median(times[0])
    print("%d files, one process each, CPU 0 only" % len(files))
    for (name, _), t in zip(sides, times):
        median = statistics.median(t)
        print("%-60s %8.3f ms %6.2fx" % (name, median * 1e3, median / floor))
    print("(load average %s)" % " ".join("%.2f" % x for x in os.getloadavg()))


if __name__ == "__main__":
    main()
