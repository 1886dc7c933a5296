#!/bin/bash
# pipe-units.t - the database half of rebound-pipe's unit tests
# (tests/unit/pipe/test-store and test-deliver) against the private
# PostgreSQL cluster, with the schema applied by sql/rebound.sql.  Each
# unit test's assertions are reported here one by one, prefixed with its
# name, plus one check that it exited 0 having run its database half.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"

rb_init
pg_start

# run_unit NAME - run tests/unit/pipe/NAME against the cluster
run_unit() {
	local name=$1 bin=$REPO/tests/unit/pipe/$1 out rc line plan=0 ran=0
	[ -x "$bin" ] || bail_out "$bin not built (make test-binaries)"
	out=$(cd "$T" && REBOUND_TEST_DATABASE="$DB_CONNINFO" "$bin" 2>"$T/log/$name.err")
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		1..*) plan=${line#1..} ;;
		"ok "*)
			ran=$((ran + 1))
			ok 0 "$name: $(printf '%s' "$line" | sed -E 's/^ok [0-9]+( - )?//')" ;;
		"not ok "*)
			ran=$((ran + 1))
			ok 1 "$name: $(printf '%s' "$line" | sed -E 's/^not ok [0-9]+( - )?//')" ;;
		"#"*) echo "$line" ;;
		esac
	done <<<"$out"
	[ $rc -eq 0 ] || diag "$name exit $rc:" "$(tail -5 "$T/log/$name.err")"
	ok $((rc != 0 || plan == 0 || ran != plan)) "$name: exit 0, $ran of $plan tests ran"
	printf '%s' "$out" | grep -q 'REBOUND_TEST_DATABASE is not set'
	ok $((!$?)) "$name: ran its database half"
}

run_unit test-store
run_unit test-deliver
done_testing
