#!/bin/bash
# corpus.t - every bounce of the shared corpus goes through rebound-pipe's
# delivery path into PostgreSQL: exit 0, no crash, no sanitizer report, and
# every one leaves at least one row behind.  Then, on what it stored: the
# storage each bounce costs (printed, for README), "rebound reclassify"
# with the rules that stored it (it must change nothing, and prints its
# speed), "rebound review" and "rebound rules test".
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
# make check-corpus names the corpus; make check does not run this file.
[ -n "${CORPUS:-}" ] || bail_out "CORPUS is not set (make check-corpus CORPUS=DIR)"
[ -d "$CORPUS/emails" ] || bail_out "corpus not found at $CORPUS/emails (set CORPUS=)"

rb_init
pg_start
rb_write_conf

# The size of the tables a bounce fills, in bytes.
sizes() {
	q "SELECT pg_total_relation_size('rebound.events') || ' ' ||
	          pg_total_relation_size('rebound.raw_messages')"
}
read -r events0 raw0 <<<"$(sizes)"

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

# --- storage: every bounce is kept raw by default --------------------------------
q "VACUUM ANALYZE rebound.events, rebound.raw_messages" >/dev/null 2>&1
read -r events1 raw1 <<<"$(sizes)"
stored=$(q "SELECT count(*) FROM rebound.raw_messages")
is "$stored" "$n" "every bounce is kept raw, repeats too ($stored)"
is "$(q "SELECT count(*) FROM rebound.events WHERE raw_message_id IS NULL")" 0 "every event has its raw copy"
with_events=$(q "SELECT count(DISTINCT raw_message_id) FROM rebound.events")
per_event=$(( (events1 - events0) / stored )) per_raw=$(( (raw1 - raw0) / stored ))
diag "storage per bounce ($stored bounces, $(du -sb "$CORPUS/emails" | cut -f1) bytes of mail):" \
	"events and their indexes $per_event bytes, raw copy $per_raw bytes" \
	"per 100,000 bounces: $(( per_event * 100000 / 1048576 )) MiB of events," \
	"$(( per_raw * 100000 / 1048576 )) MiB of raw copies"
ok $((per_raw <= 0)) "the raw copies take room ($per_raw bytes a bounce)"

# --- reclassify with the rules that stored it: nothing changes ----------------------
rebound_run --json reclassify --dry-run >"$T/re.json"
is "$?" 0 "reclassify the stored corpus"
summary=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["summary"][0]
print(s["raw"], s["cut"], s["changed"], s["inserted"], "%.0f" % (s["raw"] / d["seconds"]))' "$T/re.json")
read -r raw cut changed inserted rate <<<"$summary"
is "$raw/$cut" "$with_events/0" "it reads again every raw copy that made events"
is "$changed/$inserted" "0/0" "and with the same rules it changes nothing: the same path as rebound-pipe"
diag "reclassify: $raw bounces at $rate per second"

# --- review and rules test on what the corpus holds ---------------------------------
rebound_run --json review -n 1000 >"$T/review.json"
groups=$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(len(r), sum(x["events"] for x in r))' "$T/review.json")
read -r ngroups nevents <<<"$groups"
is "$nevents" "$(q "SELECT count(*) FROM rebound.events WHERE reason IN ('undefined', 'onhold')
	AND kind <> 'unknown' AND reply_template IS NOT NULL")" \
	"review accounts for every event no rule understood ($nevents in $ngroups templates)"
diag "$(rebound_run review -n 5)"
# One reply for each rule that decided a failure of the corpus.
bad=0 same=0 total=0
while IFS='|' read -r status code reason diagnostic; do
	total=$((total + 1))
	out=$(rebound_run --json rules test ${status:+--status "$status"} ${code:+--code "$code"} -- "$diagnostic")
	if [ $? -ne 0 ] || ! printf '%s' "$out" | grep -q '"reason":"[a-z]*"'; then
		bad=$((bad + 1))
	elif printf '%s' "$out" | grep -q "\"reason\":\"$reason\""; then
		same=$((same + 1))
	fi
done < <(q "SELECT DISTINCT ON (rule) coalesce(status, ''), coalesce(reply_code::text, ''), reason,
	replace(replace(left(diagnostic, 1000), '|', ' '), E'\n', ' ')
	FROM rebound.events WHERE kind IN ('rejected', 'expired', 'bounced')
	AND diagnostic IS NOT NULL AND diagnostic <> '' AND status ~ '^[245]\.[0-9]+\.[0-9]+$'
	ORDER BY rule, id")
is "$bad" 0 "rules test answers for a reply of each of the $total rules that decided a failure"
diag "rules test: $same of $total replies alone get the reason their whole bounce got"

done_testing
