#!/bin/sh
# run.sh TARGET SECONDS SEED_DIR... - run tests/fuzz/fuzz-TARGET under
# libFuzzer for SECONDS and print its executions.  Seeds are read in place;
# new inputs go to build/fuzz/corpus-TARGET, crashes to build/fuzz/artifacts/.
# Exits non-zero if the fuzzer found anything.
set -u
t=$1 secs=$2
shift 2
bin=tests/fuzz/fuzz-$t
[ -x "$bin" ] || { echo "fuzz: $bin not built" >&2; exit 1; }
for d in "$@"; do
	[ -e "$d" ] || { echo "fuzz: seed directory $d missing" >&2; exit 1; }
done
mkdir -p "build/fuzz/corpus-$t" build/fuzz/artifacts
log=build/fuzz/$t.log
# -timeout: one input taking 10 s is a hang; -rss_limit_mb: 2 GB is a leak
# or an unbounded allocation.  ASan's leak check stays on.
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
	-print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$t-" \
	"build/fuzz/corpus-$t" "$@" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
echo "fuzz-$t: ${execs:-?} executions in $secs s, exit $rc"
if [ $rc -ne 0 ]; then
	grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -20 >&2
	exit 1
fi
