#!/bin/bash
# postfix.t - the bounce path end to end on real parts: mail sent through a
# private Postfix with VERP, smtp-sink as the remote MXs, DSNs delivered by
# pipe(8) to rebound-pipe, rows asserted in a private PostgreSQL.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
D="$REPO/tests/data"
RP=bounces@$BOUNCE_DOMAIN

rb_init
pg_start
rb_write_conf
DELAY_WARNING_TIME=3s QUEUE_LIFETIME=12s postfix_start

smtp_inject() {	# smtp_inject RECIPIENT FILE - a remote MX sends an NDR with MAIL FROM:<>
	swaks -s "127.0.0.1:$P_SMTP" --helo mx.remote.example --from '<>' --to "$1" \
		--data "@$2" --silent 2 >/dev/null 2>&1
}

# Greylisted first: its delay warning and expiry take the longest.
send_verp "$RP" carol@slow.example
send_verp "$RP" bob@bad.example
# Without VERP one DSN names every failed recipient.
printf 'Subject: two\n\nx\n' | sendmail -C "$T/etc" -f "$RP" ann@bad.example ben@bad.example
send_verp "$RP" alice@good.example
smtp_inject "bounces+dora=remote.example@$BOUNCE_DOMAIN" "$D/remote-ndr.eml"
ok $? "remote NDR accepted over SMTP with MAIL FROM:<>"
smtp_inject "bounces+dora=remote.example@$BOUNCE_DOMAIN" "$D/remote-ndr.eml"
ok $? "the same NDR accepted a second time"
# An NDR without a Message-ID, twice: Postfix gives each copy a new one.
sed -e '/^Message-Id:/d' -e 's/dora/erin/g' "$D/remote-ndr.eml" >"$T/ndr-no-msgid.eml"
smtp_inject "bounces+erin=remote.example@$BOUNCE_DOMAIN" "$T/ndr-no-msgid.eml" &&
	smtp_inject "bounces+erin=remote.example@$BOUNCE_DOMAIN" "$T/ndr-no-msgid.eml"
ok $? "an NDR without a Message-ID accepted twice"

# --- remote 550 at RCPT ----------------------------------------------------
wait_for 30 events_at_least 1 "recipient = 'bob@bad.example'"
ok $? "rejection of bob recorded"
is "$(q "SELECT kind, sync, status, reply_code, reason, hard, remote_mta, reporting_mta, bounce_address
	FROM rebound.events WHERE recipient = 'bob@bad.example'")" \
	"rejected|t|5.1.1|550|userunknown|t|127.0.0.1|$MTA_NAME|bounces+bob=bad.example@$BOUNCE_DOMAIN" \
	"remote 550 is one sync rejected event"
like "$(q "SELECT diagnostic FROM rebound.events WHERE recipient = 'bob@bad.example'")" \
	"^550 5\.1\.1 Recipient address rejected: User unknown" "diagnostic as the remote said it"
qid=$(q "SELECT orig_queue_id FROM rebound.events WHERE recipient = 'bob@bad.example'")
grep -q "$qid: to=<bob@bad.example>.*status=bounced" "$T/log/maillog"
ok $? "orig_queue_id matches the Postfix log ($qid)"

# --- one DSN naming two recipients ------------------------------------------
wait_for 30 events_at_least 2 "recipient IN ('ann@bad.example', 'ben@bad.example')"
is "$(q "SELECT count(*), count(DISTINCT queue_id) FROM rebound.events
	WHERE recipient IN ('ann@bad.example', 'ben@bad.example')")" "2|1" \
	"multi-recipient DSN gives one event per recipient"

# --- an NDR written by the remote after accepting ------------------------------
wait_for 30 events_at_least 1 "recipient = 'dora@remote.example'"
# Deduplication is proved only once both copies reached rebound-pipe and
# it committed each: a copy still queued or deferred would look the same.
dora_delivered() {
	[ "$(grep -c 'to=<bounces+dora=remote.example@.*relay=rebound.*status=sent' "$T/log/maillog")" -ge 2 ]
}
wait_for 30 dora_delivered
ok $? "both copies of the remote NDR were delivered to rebound-pipe"
is "$(grep -h 'to=<bounces+dora=' "$T/log/rebound.log" | grep -Eo 'new=[0-9]+' | tr '\n' ' ')" \
	"new=1 new=0 " "the first added the event, the second nothing"
is "$(q "SELECT kind || '|' || sync || '|' || reason FROM rebound.events WHERE recipient = 'dora@remote.example'")" \
	"bounced|false|mailboxfull" "remote NDR is an async bounce, recorded once though sent twice"
wait_for 30 events_at_least 1 "recipient = 'erin@remote.example'"
wait_for 30 queue_empty
is "$(count "recipient = 'erin@remote.example'")" 1 \
	"an NDR without a Message-ID is recorded once too, whatever Message-ID Postfix added"
is "$(grep -c 'to=<bounces+erin=remote.example@.*relay=rebound.*status=sent' "$T/log/maillog")" 2 \
	"both copies were delivered to rebound-pipe"
like "$(grep -h 'to=<bounces+erin=' "$T/log/rebound.log" | tail -1)" "new=0" \
	"the second one added nothing"

# --- delay warning, then expiry ---------------------------------------------
wait_for 30 events_at_least 1 "recipient = 'carol@slow.example' AND kind = 'delayed'"
ok $? "delay warning recorded"
is "$(q "SELECT kind || '|' || status || '|' || hard FROM rebound.events
	WHERE recipient = 'carol@slow.example' AND kind = 'delayed'")" "delayed|4.2.0|false" \
	"delay warning is kind delayed, not a failure"
wait_for 40 events_at_least 1 "recipient = 'carol@slow.example' AND kind = 'expired'"
ok $? "expiry recorded"
is "$(q "SELECT kind || '|' || action || '|' || status FROM rebound.events
	WHERE recipient = 'carol@slow.example' AND kind = 'expired'")" "expired|failed|4.2.0" \
	"expiry is Action failed with a 4.x.x status"
is "$(count "recipient = 'alice@good.example'")" 0 "delivered mail makes no event"

# --- PostgreSQL down while bounces arrive ------------------------------------
wait_for 30 queue_empty
before=$(count "true")
pg_stop
for r in p1 p2 p3; do send_verp "$RP" "$r@bad.example"; done
deferred() {
	[ "$(grep -c 'relay=rebound.*status=deferred' "$T/log/maillog")" -ge 3 ]
}
wait_for 30 deferred
ok $? "bounces deferred by Postfix while the database is down"
like "$(grep 'relay=rebound.*status=deferred' "$T/log/maillog" | head -1)" \
	"dsn=4\.3\.0, status=deferred \(connect to database" "pipe(8) logged our 4.3.0 reason"
is "$(postqueue -c "$T/etc" -j | grep -c 'bounces+p[123]=bad.example')" 3 "the three DSNs wait in the queue"
pg_resume
queue_flush
wait_for 30 events_at_least $((before + 3)) "true"
wait_for 30 queue_empty
ok $? "queue empty after the flush"
sleep 1
is "$(q "SELECT count(*) || '|' || count(DISTINCT recipient) FROM rebound.events
	WHERE recipient IN ('p1@bad.example', 'p2@bad.example', 'p3@bad.example')")" "3|3" \
	"every deferred bounce recorded exactly once"
! grep -q 'relay=rebound.*status=bounced' "$T/log/maillog"
ok $? "no bounce was ever bounced by the pipe"

done_testing
