#!/bin/bash
# regress.t - every fuzz target's entry point, built without libFuzzer
# (tests/fuzz/replay-<t>), over the inputs kept in tests/fuzz/regress/<t>/
# (one per bug the fuzzers found, and one per parser edge the trust and
# classifier work added; tests/fuzz/regress/README says which is which)
# and the seed fixtures.  A hang is a failure too: the rules input that
# once looped for ever has to finish within the time limit.
. "$(dirname "$0")/../lib/tap.sh"
R=$(cd "$(dirname "$0")/../.." && pwd)
F=$R/tests/fuzz
LIMIT=${REGRESS_LIMIT:-60}

replay() {	# replay TARGET MIN_SEEDS PATH... - the regression inputs, then the seeds
	local t=$1 min=$2 n kept
	shift 2
	[ -x "$F/replay-$t" ] || bail_out "$F/replay-$t not built"
	kept=$(find "$F/regress/$t" -type f | wc -l)
	n=$(timeout "$LIMIT" "$F/replay-$t" "$F/regress/$t")
	ok $? "replay-$t runs its $kept regression inputs within $LIMIT s"
	is "${n:-0}" "$kept" "replay-$t ran every one of them"
	[ "$kept" -ge 1 ]
	ok $? "tests/fuzz/regress/$t is not empty"
	n=$(timeout "$LIMIT" "$F/replay-$t" "$@")
	ok $? "replay-$t runs its seeds"
	[ "${n:-0}" -ge "$min" ]
	ok $? "replay-$t ran $n seeds (at least $min)"
}

replay mime 20 "$R/tests/data" "$R/tests/data/classify"
replay verp 5 "$F/seeds/verp"
replay rules 3 "$R/rules"
replay cfg 1 "$F/seeds/cfg"
done_testing
