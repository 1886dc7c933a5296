#!/bin/bash
# pipe-units.t - the database half of rebound-pipe's unit tests
# (tests/unit/store/test-store and tests/unit/pipe/test-deliver) against the private
# PostgreSQL cluster, with the schema applied by sql/rebound.sql.  Each
# unit test's assertions are reported here one by one, prefixed with its
# name, plus one check that it exited 0 having run its database half.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"

rb_init
pg_start

# run_unit FOLDER/NAME - run tests/unit/FOLDER/NAME against the cluster
run_unit() {
	local name=$1 bin=$REPO/tests/unit/$1 out rc
	[ -x "$bin" ] || bail_out "$bin not built (make test-binaries)"
	out=$(cd "$T" && REBOUND_TEST_DATABASE="$DB_CONNINFO" "$bin" 2>"$T/log/${name##*/}.err")
	rc=$?
	[ $rc -eq 0 ] || diag "$name exit $rc:" "$(tail -5 "$T/log/${name##*/}.err")"
	tap_relay "$name" "$rc" "$out"
	printf '%s' "$out" | grep -q 'REBOUND_TEST_DATABASE is not set'
	ok $((!$?)) "$name: ran its database half"
}

run_unit store/test-store
run_unit pipe/test-deliver
done_testing
