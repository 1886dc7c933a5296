#!/bin/bash
# regress.t - every fuzz target's entry point, built without libFuzzer
# (tests/fuzz/replay-<t>), over the inputs kept in tests/fuzz/regress/<t>/
# (one per bug the fuzzers found) and the seed fixtures.
. "$(dirname "$0")/../lib/tap.sh"
R=$(cd "$(dirname "$0")/../.." && pwd)
F=$R/tests/fuzz

replay() {	# replay TARGET MIN_INPUTS PATH...
	local t=$1 min=$2 n
	shift 2
	[ -x "$F/replay-$t" ] || bail_out "$F/replay-$t not built"
	n=$("$F/replay-$t" "$F/regress/$t" "$@")
	ok $? "replay-$t runs its regression inputs and seeds"
	[ "${n:-0}" -ge "$min" ]
	ok $? "replay-$t ran $n inputs (at least $min)"
}

replay mime 20 "$R/tests/data" "$R/tests/data/classify"
replay verp 5 "$F/seeds/verp"
replay rules 3 "$R/rules"
replay cfg 1 "$F/seeds/cfg"
done_testing
