#!/usr/bin/python3
"""bench.py - rebound-pipe --classify against Sisimai on one corpus, one core.

    /usr/bin/python3 tests/bench.py PIPE CONFIG CORPUS_EMAILS_DIR NULL

Two measures, both in the same run for both tools:

  batch        one process classifies every file of the corpus, several
               times over (the directory is passed repeatedly); messages per
               second of wall time, pinned to CPU 0; the best of three
               tries each, rebound-pipe and Sisimai taking turns.
  per message  one process per file, as pipe(8) runs rebound-pipe: exec,
               parse, classify, print, no database; median and 95th
               percentile of the wall time per file.  Sisimai is run the
               same way (perl -MSisimai, one file per process), and so is
               NULL (tests/tools/bench-null, a C program that does
               nothing): the cost of an exec on this machine, which
               rebound-pipe's median is set against.  rebound-pipe also
               runs with an empty rule set (the same configuration, its
               rule directories replaced by an empty one): exec, parse
               and output without the rules, the floor that faster rule
               loading could reach.  For each file the four run one after
               the other, so that a busy moment of the machine falls on
               all of them.

The driver pins itself to CPU 0 and its children inherit that.  Standard
library only.  This is a benchmark, not a test: it checks nothing.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

SISIMAI_BATCH = r'''
use strict; use Sisimai;
my ($rounds, @files) = @ARGV;
for (1..$rounds) { for my $f (@files) { my $v = Sisimai->make($f, delivered => 1, vacation => 1); } }
'''
SISIMAI_ONE = 'use Sisimai; my $v = Sisimai->make($ARGV[0], delivered => 1, vacation => 1);'


def wall(argv):
    """Wall time of one run of argv, input empty, output discarded."""
    t = time.perf_counter()
    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def batch_rates(runs, tries=3):
    """Best messages/s of each (argv, messages) over a few tries, the runs
    taking turns, so that a busy spell of the machine is not all one side's:
    the least disturbed try of each."""
    best = [0.0] * len(runs)
    for _ in range(tries):
        for i, (argv, messages) in enumerate(runs):
            best[i] = max(best[i], messages / wall(argv))
    return best


def per_message(*argv_fors):
    """Median and p95 in ms of each command line maker, run file by file
    in turn."""
    times = [[] for _ in argv_fors]
    for f in FILES:
        for t, argv_for in zip(times, argv_fors):
            t.append(wall(argv_for(f)))
    out = []
    for t in times:
        t.sort()
        p95 = t[min(len(t) - 1, int(len(t) * 0.95))]
        out.append((statistics.median(t) * 1e3, p95 * 1e3))
    return out


def empty_rules_conf(conf, tmp):
    """A copy of conf in tmp whose rule directories are one empty directory."""
    rules = os.path.join(tmp, "rules")
    os.mkdir(rules)
    with open(conf) as f:
        keep = [line for line in f
                if line.split("=")[0].strip() not in ("builtin_rules_directory", "rules_directory")]
    path = os.path.join(tmp, "empty-rules.conf")
    with open(path, "w") as f:
        f.writelines(keep)
        f.write("builtin_rules_directory = %s\nrules_directory =\n" % rules)
    return path


def main():
    global FILES
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    pipe, conf, corpus, null = sys.argv[1:]
    os.sched_setaffinity(0, {0})
    FILES = [os.path.join(corpus, f) for f in sorted(os.listdir(corpus)) if not f.startswith(".")]
    n = len(FILES)
    version = subprocess.run(["perl", "-MSisimai", "-e", "print $Sisimai::VERSION"],
                             capture_output=True, text=True, check=True).stdout.strip()

    ours_rounds, sis_rounds = 40, 3
    ours, sis = batch_rates([
        ([pipe, "-c", conf, "--classify"] + [corpus] * ours_rounds, n * ours_rounds),
        (["perl", "-e", SISIMAI_BATCH, str(sis_rounds)] + FILES, n * sis_rounds)])
    with tempfile.TemporaryDirectory(prefix="rebound-bench.") as tmp:
        bare = empty_rules_conf(conf, tmp)
        (o_med, o_p95), (s_med, s_p95), (n_med, n_p95), (e_med, _) = per_message(
            lambda f: [pipe, "-c", conf, "--classify", f],
            lambda f: ["perl", "-e", SISIMAI_ONE, f],
            lambda f: [null],
            lambda f: [pipe, "-c", bare, "--classify", f])

    print("corpus: %d messages; CPU 0 only" % n)
    print("%-34s %16s %18s %9s" % ("", "rebound-pipe", "Sisimai " + version, "ratio"))
    print("%-34s %12.0f/s %14.0f/s %8.1fx" % ("batch: messages per second", ours, sis, ours / sis))
    print("%-34s %13.2f ms %15.2f ms %8.1fx" % ("one process per message: median", o_med, s_med,
                                                 s_med / o_med))
    print("%-34s %13.2f ms %15.2f ms %8.1fx" % ("one process per message: p95", o_p95, s_p95,
                                                 s_p95 / o_p95))
    print("%-34s %13.2f ms %15.2f ms %8.2fx" % ("one process: median against a null exec",
                                                 o_med, n_med, o_med / n_med))
    print("%-34s %13.2f ms %15.2f ms %8.2fx" % ("the same with an empty rule set",
                                                 e_med, n_med, e_med / n_med))
    print("(the null exec: %s, p95 %.2f ms; load average %s)" % (
        os.path.basename(null), n_p95, " ".join("%.2f" % x for x in os.getloadavg())))


if __name__ == "__main__":
    main()
