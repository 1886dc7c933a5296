#!/bin/bash
# corpus.t - every bounce of the shared corpus goes through rebound-pipe's
# delivery path into PostgreSQL: exit 0, no crash, no sanitizer report, and
# every one leaves at least one row behind.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
# make check-corpus names the corpus; make check does not run this file.
[ -n "${CORPUS:-}" ] || bail_out "CORPUS is not set (make check-corpus CORPUS=DIR)"
[ -d "$CORPUS/emails" ] || bail_out "corpus not found at $CORPUS/emails (set CORPUS=)"

rb_init
pg_start
rb_write_conf

n=0 failed=0 dups=0
for f in "$CORPUS"/emails/*.eml; do
	n=$((n + 1))
	out=$(pipe_run -q "C$n" -r "bounces@$BOUNCE_DOMAIN" <"$f" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || printf '%s' "$out" | grep -Eq 'runtime error|Sanitizer|ERROR:'; then
		failed=$((failed + 1))
		diag "$(basename "$f"): exit $rc: $(printf '%s' "$out" | head -5)"
	fi
	case "$out" in *" 0 new") dups=$((dups + 1)) ;; esac
done
ok $((n < 300)) "corpus has its files ($n)"
is "$failed" 0 "every corpus file delivered with exit 0 and no sanitizer report"
is "$(grep -c 'status=recorded' "$T/log/rebound.log")" "$n" "one log line per bounce, each recorded"
# A file whose report repeats an earlier one (same body and Message-ID) adds nothing.
is "$(( $(q "SELECT count(DISTINCT queue_id) FROM rebound.events") + dups ))" "$n" \
	"every file left its own events or was recognised as a repeat ($dups repeats)"
diag "$(q "SELECT kind || ': ' || count(*) FROM rebound.events GROUP BY kind ORDER BY kind")"

done_testing
