#!/bin/bash
# reclassify.t - rules that change, applied to past bounces, with
# rebound-pipe, the rebound tool and a real PostgreSQL.  Bounces are
# delivered through rebound-pipe (kept raw, as by default); a candidate
# rule set turns a provider's refusal, read as unknown users so far, into
# what it is.  The dry run must predict exactly what --apply then changes,
# events and suppressions alike; the NOTIFY listener hears every change;
# --undo puts every row back byte for byte; nothing is lost or doubled.
# Then the tools that find the rules to write: rules test and review;
# and the retention of raw copies.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
D="$REPO/tests/data"

rb_init
pg_start
rb_write_conf

# dsn RECIPIENT TEXT - a remote MX's DSN for one recipient
dsn() {
	cat <<EOM
From: Mail Delivery System <MAILER-DAEMON@mx.provider.example>
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"
Message-ID: <dsn.$1@mx.provider.example>

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.provider.example

Final-Recipient: rfc822; $1
Action: failed
Status: ${STATUS:-5.1.1}
Remote-MTA: dns; mx.provider.example
Diagnostic-Code: smtp; $2

--b--
EOM
}
# bounce QUEUE_ID RECIPIENT TEXT - delivered as a remote NDR to classic VERP
bounce() {
	local user=${2%@*} domain=${2#*@}
	dsn "$2" "$3" | pipe_run -q "$1" -r "bounces+$user=$domain@$BOUNCE_DOMAIN" \
		--client-address=192.0.2.25 >/dev/null
}
# state - every row of the tables a run may touch, all columns, in order
state() {
	q "SELECT 'e', e::text FROM rebound.events e ORDER BY id" >"$1"
	q "SELECT 's', s::text FROM rebound.suppressions s ORDER BY address" >>"$1"
	q "SELECT 'p', p::text FROM rebound.provisional_suppressions p ORDER BY incident_id, address" >>"$1"
	q "SELECT 'r', r::text FROM rebound.soft_resets r ORDER BY address" >>"$1"
}
# lines_at_least N PATTERN FILE - whether FILE has N lines with PATTERN yet
lines_at_least() {
	[ "$(grep -c -- "$2" "$3")" -ge "$1" ]
}
# json_of FILE EXPR - a value of the JSON document in FILE
json_of() {
	/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# --- bounces as they come: a provider's refusal read as unknown users ---------
for i in 1 2 3 4 5 6; do
	bounce "P$i" "user$i@provider.example" "550 5.1.1 <user$i@provider.example>: Recipient rejected (policy XB-$i$i)"
done
bounce P7 "gone@other.example" "550 5.1.1 <gone@other.example>: User unknown in virtual mailbox table"
for f in rfc3464-postfix qmail exim gmail-text delay-text arf; do
	pipe_run -q "F-$f" -r "bounces@$BOUNCE_DOMAIN" --client-address=192.0.2.25 <"$D/classify/$f.eml" >/dev/null
done
pipe_run -q F-local -r "bounces+bob=bad.example@$BOUNCE_DOMAIN" --client-address= <"$D/postfix-rejected.eml" >/dev/null
is "$(q "SELECT count(*) FROM rebound.events WHERE raw_message_id IS NULL")" 0 "every event has its raw copy"
is "$(q "SELECT count(*) FROM rebound.suppressions WHERE address LIKE 'user%@provider.example'")" 6 \
	"the six refusals suppressed their addresses, as unknown users"
like "$(q "SELECT DISTINCT rules_digest FROM rebound.events")" "^[0-9a-f]{64}$" \
	"every event records the digest of the one rule set that classified it"
n_events=$(q "SELECT count(*) FROM rebound.events")
state "$T/before"

# --- the installed rules again: nothing changes -------------------------------
rebound_run --json reclassify >"$T/same.json"
is "$?" 0 "reclassify with the installed rules runs"
is "$(json_of "$T/same.json" 'd["summary"][0]["changed"], d["summary"][0]["raw"], len(d["changes"])')" \
	"(0, 14, 0)" "and finds nothing to change in 14 raw copies"

# --- a candidate rule: the dry run ------------------------------------------------
mkdir -p "$T/candidate"
cat >"$T/candidate/50-site.rules" <<'EOR'
# The provider documents XB policies as limits on the sending host.
site.xb-policy   policyviolation   status=5.1.1   /recipient rejected \(policy xb-/i
EOR
rebound_bg --json events --follow --count 12 >"$T/notes" 2>"$T/listen.err"
listener=$RB_BG
wait_for 10 grep -q "following events" "$T/listen.err"
rebound_run --json reclassify --rules "$T/candidate" --dry-run >"$T/dry.json"
is "$?" 0 "a dry run with the candidate rules"
state "$T/after-dry"
cmp -s "$T/before" "$T/after-dry"
ok $? "the dry run changed nothing"
is "$(json_of "$T/dry.json" '[(c["old"], c["new"], c["events"]) for c in d["changes"]]')" \
	"[('bounced userunknown hard', 'bounced policyviolation soft', 6)]" \
	"it predicts six unknown users read as a policy refusal"
is "$(json_of "$T/dry.json" 'sorted((a["address"], a["change"]) for a in d["addresses"])')" \
	"$(/usr/bin/python3 -c 'print(sorted(("user%d@provider.example" % i, "released") for i in range(1, 7)))')" \
	"and that their six addresses are released"
is "$(json_of "$T/dry.json" 'len(d["examples"]), d["examples"][0]["diagnostic"][:30]')" \
	"(2, '550 5.1.1 <user1@provider.exam')" "with examples"

# --- --apply does exactly that -------------------------------------------------------
rebound_run --json reclassify --rules "$T/candidate" --apply >"$T/apply.json"
is "$?" 0 "--apply"
run=$(json_of "$T/apply.json" 'd["summary"][0]["run"]')
for k in changes addresses; do
	is "$(json_of "$T/apply.json" "d['$k']")" "$(json_of "$T/dry.json" "d['$k']")" \
		"--apply reports the $k the dry run predicted"
done
state "$T/after"
# What changed, from the rows themselves: the events' new verdicts and the list.
changed=$(diff <(grep '^e' "$T/before") <(grep '^e' "$T/after") | grep -c '^>')
is "$changed" 6 "six event rows differ, as predicted"
is "$(q "SELECT v || ' ' || count(*) FROM (SELECT kind || ' ' || reason || ' ' ||
	CASE WHEN hard THEN 'hard' ELSE 'soft' END AS v FROM rebound.events
	WHERE recipient LIKE 'user%@provider.example') x GROUP BY v")" \
	"bounced policyviolation soft 6" "they read as policy refusals now"
is "$(diff <(grep '^s' "$T/before") <(grep '^s' "$T/after") | grep '^<' | grep -o 'user[0-9]@provider.example' | sort | tr '\n' ' ')" \
	"user1@provider.example user2@provider.example user3@provider.example user4@provider.example user5@provider.example user6@provider.example " \
	"exactly the six predicted addresses left the list"
is "$(diff <(grep '^s' "$T/before") <(grep '^s' "$T/after") | grep -c '^>')" 0 "and none joined it"
is "$(q "SELECT count(*) FROM rebound.events")" "$n_events" "no event lost or added"
is "$(q "SELECT count(*) - count(DISTINCT dedup_key) FROM rebound.events")" 0 "no event doubled"
is "$(q "SELECT count(DISTINCT rules_digest) FROM rebound.events WHERE recipient LIKE 'user%@provider.example'")" 1 \
	"the revised events record the candidate rule set"
isnt_digest=$(q "SELECT count(*) FROM rebound.events e JOIN rebound.reclassify_runs r ON r.rules_digest = e.rules_digest
	WHERE r.id = $run")
is "$isnt_digest" 6 "the run's digest, on the six it changed"
is "$(q "SELECT actor FROM rebound.suppression_history WHERE address = 'user1@provider.example' AND action = 'remove'")" \
	"reclassify run $run" "the history names the run"
wait_for 10 lines_at_least 6 '"reclassified"' "$T/notes"
is "$(grep -c "\"reclassified\":$run" "$T/notes")" 6 "the listener heard the six changes"

# --- --undo puts everything back ------------------------------------------------------
# A listener in text mode too: a revision is printed though its event was there before.
rebound_bg events --follow --count 6 >"$T/lines" 2>"$T/lines.err"
text_listener=$RB_BG
wait_for 10 grep -q "following events" "$T/lines.err"
rebound_run reclassify --undo "$run" >"$T/undo.out"
is "$?" 0 "--undo"
like "$(cat "$T/undo.out")" "run $run undone: 6 events and 6 addresses" "it says what it restored"
state "$T/undone"
cmp -s "$T/before" "$T/undone"
ok $? "events, suppressions, held suppressions and resets are back byte for byte"
[ $? -eq 0 ] || diag "$(diff "$T/before" "$T/undone" | head -10)"
wait_for 10 lines_at_least 6 '"restored"' "$T/notes"
is "$(grep -c "\"restored\":$run" "$T/notes")" 6 "the listener heard the six restored"
wait_for 10 lines_at_least 6 'restored=' "$T/lines"
is "$(grep -c "rcpt=<user[1-6]@provider.example>, kind=bounced, reason=userunknown, hard=yes, .*, restored=run $run\$" "$T/lines")" 6 \
	"in text, each line says the run that restored it"
rebound_run reclassify --undo "$run" 2>"$T/err"
is "$?" 65 "a run cannot be undone twice"
like "$(cat "$T/err")" "undone already" "and the error says so"

# --- bad requests ------------------------------------------------------------
rebound_run reclassify --dry-run --apply 2>/dev/null
is "$?" 64 "--dry-run and --apply together is a usage error"
rebound_run reclassify --since yesterday-ish 2>"$T/err"
is "$?" 65 "a --since that is no date is bad data"
rebound_run reclassify --undo 999999 2>/dev/null
is "$?" 65 "an unknown run cannot be undone"
rebound_run --json reclassify --since 2000-01-01 --until 2000-01-02 >"$T/empty.json"
is "$(json_of "$T/empty.json" 'd["summary"][0]["raw"]')" 0 "a window with no bounce reads none"

# --- rules test and review ------------------------------------------------------
out=$(rebound_run rules test --status 5.1.1 --code 550 "<ann@x.example>: Recipient rejected (policy XB-9)")
like "$out" "reason userunknown .*hard" "rules test: the installed rules read the refusal as an unknown user"
like "$out" "decided by user.status at .*10-structure.rules:[0-9]+" "and name the rule and its line"
cp "$T/candidate/50-site.rules" "$T/rules-site/"
out=$(rebound_run --json rules test --status 5.1.1 "550 5.1.1 Recipient rejected (policy XB-9)")
like "$out" '"reason":"policyviolation".*"rule":"site.xb-policy"' "with the site rule installed, the site rule decides"
rm "$T/rules-site/50-site.rules"
rebound_run rules test --status 5.1 "x" 2>/dev/null
is "$?" 64 "rules test refuses a status that is no status code"
for i in 1 2 3; do
	STATUS=5.0.0 bounce "R$i" "r$i@odd.example" "550 <r$i@odd.example>: computer says no, ticket $i$i$i"
done
out=$(rebound_run --json review)
like "$out" '"template":"550 5.0.0 <addr>: computer says no, ticket #","events":3,"addresses":3' \
	"review groups the replies no rule understood into one template"
like "$(rebound_run review)" "computer says no" "and shows it to people"

# --- retention: raw copies go, events stay -------------------------------------------
q "UPDATE rebound.raw_messages SET received_at = now() - interval '100 days'
    WHERE id IN (SELECT raw_message_id FROM rebound.events WHERE queue_id LIKE 'P%')" >/dev/null
out=$(rebound_run db maintain)
like "$out" "0 incidents closed, 7 raw copies dropped" "db maintain drops the raw copies past raw_retention_days"
is "$(q "SELECT count(*) || '/' || count(raw_message_id) FROM rebound.events WHERE queue_id LIKE 'P%'")" "7/0" \
	"their events are kept, without the copy"
is "$(q "SELECT count(*) FROM rebound.raw_messages")" 10 "the newer copies are kept"
q "UPDATE rebound.settings SET value = '0' WHERE name = 'raw_retention_days';
   UPDATE rebound.raw_messages SET received_at = now() - interval '1000 days'" >/dev/null
like "$(rebound_run db maintain)" "0 raw copies dropped" "raw_retention_days 0 keeps them for ever"

done_testing
