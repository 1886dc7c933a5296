#!/bin/bash
# sql.t - the SQL-level tests (tests/sql/*.sql, pgTAP) against the private
# PostgreSQL cluster, with the schema applied by sql/rebound.sql.  Each
# file runs in a transaction it rolls back; its assertions are reported
# here one by one, prefixed with the file name, plus one check that the
# file ran to the end and ran every test it planned.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"

rb_init
pg_start
q "CREATE EXTENSION pgtap" >/dev/null 2>"$T/log/pgtap.log" ||
	bail_out "CREATE EXTENSION pgtap failed (install postgresql-15-pgtap): $(cat "$T/log/pgtap.log")"

# run_sql_file FILE - run one pgTAP file and report its assertions
run_sql_file() {
	local f=$1 name out rc
	name=$(basename "$f")
	out=$(cd "$(dirname "$f")" && psql -XAtq -v ON_ERROR_STOP=1 -f "$name" 2>&1)
	rc=$?
	[ $rc -eq 0 ] || diag "psql exit $rc:" "$(printf '%s\n' "$out" | grep -E 'ERROR|psql:' | head -5)"
	tap_relay "$name" "$rc" "$out"
}

files=("$REPO"/tests/sql/*.sql)
[ -e "${files[0]}" ] || bail_out "no tests in $REPO/tests/sql"
for f in "${files[@]}"; do
	run_sql_file "$f"
done

done_testing
