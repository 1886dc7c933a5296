#!/usr/bin/python3
"""bench.py - rebound-pipe --classify against Sisimai on one corpus, one core.

    /usr/bin/python3 tests/bench.py PIPE CONFIG CORPUS_EMAILS_DIR

Two measures, both in the same run for both tools:

  batch        one process classifies every file of the corpus, several
               times over (the directory is passed repeatedly); messages per
               second of wall time, pinned to CPU 0.
  per message  one process per file, as pipe(8) runs rebound-pipe: exec,
               parse, classify, print, no database; median and 95th
               percentile of the wall time per file.  Sisimai is run the
               same way (perl -MSisimai, one file per process).

The driver pins itself to CPU 0 and its children inherit that.  Standard
library only.  This is a benchmark, not a test: it checks nothing.
"""
import os
import statistics
import subprocess
import sys
import time

SISIMAI_BATCH = r'''
use strict; use Sisimai;
my ($rounds, @files) = @ARGV;
for (1..$rounds) { for my $f (@files) { my $v = Sisimai->make($f, delivered => 1, vacation => 1); } }
'''
SISIMAI_ONE = 'use Sisimai; my $v = Sisimai->make($ARGV[0], delivered => 1, vacation => 1);'


def wall(argv):
    """Wall time of one run of argv, output discarded."""
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def batch_rate(argv, messages, tries=3):
    """Best messages/s over a few runs: the least disturbed one."""
    return max(messages / wall(argv) for _ in range(tries))


def per_message(argv_for):
    times = sorted(wall(argv_for(f)) for f in FILES)
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return statistics.median(times) * 1e3, p95 * 1e3


def main():
    global FILES
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    pipe, conf, corpus = sys.argv[1:]
    os.sched_setaffinity(0, {0})
    FILES = [os.path.join(corpus, f) for f in sorted(os.listdir(corpus)) if not f.startswith(".")]
    n = len(FILES)
    version = subprocess.run(["perl", "-MSisimai", "-e", "print $Sisimai::VERSION"],
                             capture_output=True, text=True, check=True).stdout.strip()

    ours_rounds, sis_rounds = 40, 3
    ours = batch_rate([pipe, "-c", conf, "--classify"] + [corpus] * ours_rounds, n * ours_rounds)
    sis = batch_rate(["perl", "-e", SISIMAI_BATCH, str(sis_rounds)] + FILES, n * sis_rounds, 1)
    o_med, o_p95 = per_message(lambda f: [pipe, "-c", conf, "--classify", f])
    s_med, s_p95 = per_message(lambda f: ["perl", "-e", SISIMAI_ONE, f])

    print("corpus: %d messages; CPU 0 only" % n)
    print("%-34s %16s %18s %9s" % ("", "rebound-pipe", "Sisimai " + version, "ratio"))
    print("%-34s %12.0f/s %14.0f/s %8.1fx" % ("batch: messages per second", ours, sis, ours / sis))
    print("%-34s %13.2f ms %15.2f ms %8.1fx" % ("one process per message: median", o_med, s_med,
                                                 s_med / o_med))
    print("%-34s %13.2f ms %15.2f ms %8.1fx" % ("one process per message: p95", o_p95, s_p95,
                                                 s_p95 / o_p95))


if __name__ == "__main__":
    main()
