#!/bin/bash
# demo.sh - rebound's main job on an embedded default: a private PostgreSQL
# and a private Postfix under a temporary directory (loopback only, high
# ports), smtp-sink as the remote MXs, rebound-milter signing the return
# path of outbound mail and refusing a suppressed recipient, a few messages
# sent, and what rebound made of them printed at the end: the events recorded in
# PostgreSQL, the live notifications a listener received, the suppression
# list and the statistics.  Then a provider that refuses everybody, in
# words the rules read as unknown users: the burst opens an incident that
# holds the suppressions, and closing it as sender-side releases them.
# It stops what it started and leaves nothing behind (KEEP=1 keeps the
# directory).
set -u
. "$(dirname "$0")/harness.sh"
SENDER=news@example.com

say() {
	if [ -t 1 ]; then printf '\033[1m==> %s\033[0m\n' "$*"; else printf '==> %s\n' "$*"; fi
}

# pg_listening - whether a rebound listener has run its LISTEN
pg_listening() {
	[ "$(q "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'rebound' AND query LIKE 'LISTEN%'")" -ge 1 ]
}

say "starting a private PostgreSQL cluster, rebound-milter and a Postfix instance"
rb_init
[ -x "$REPO/milter/rebound-milter" ] || rb_die "milter/rebound-milter not built (run 'make')"
cp "$REPO/milter/rebound-milter" "$T/bin/"
head -c 32 /dev/urandom | base64 >"$T/etc/token.key"
chown nobody "$T/etc/token.key"
chmod 600 "$T/etc/token.key"
pg_start
rb_write_conf "milter_socket = inet:$P_MILTER@127.0.0.1" "milter_user = nobody" \
	"milter_spool_directory = $T/milter-spool" "sender_domains = example.com" \
	"token_key_file = $T/etc/token.key"
say "an operator suppresses an address before the campaign (rebound suppress add)"
rebound_run suppress add --reason unsubscribed --note "asked by phone" erin@good.example
"$T/bin/rebound-milter" -f -c "$T/etc/rebound.conf" 2>>"$T/log/milter.stderr" &
RB_PIDS="$RB_PIDS $!"
wait_for 20 port_listening "$P_MILTER" || rb_die "rebound-milter did not start: $(tail -3 "$T/log/milter.stderr")"
wait_for 10 grep -q "suppression list loaded" "$T/log/rebound.log"
BLOCKED_REPLY="550 5.1.1 Recipient rejected (policy XB-17)" \
DELAY_WARNING_TIME=3s QUEUE_LIFETIME=12s POSTFIX_EXTRA="smtpd_milters = inet:127.0.0.1:$P_MILTER
non_smtpd_milters = inet:127.0.0.1:$P_MILTER
milter_default_action = accept" postfix_start
cat <<EOT
    work directory  $T
    Postfix         127.0.0.1:$P_SMTP, myhostname $MTA_NAME
    rebound-milter  127.0.0.1:$P_MILTER (smtpd_milters and non_smtpd_milters), signs mail from example.com
    remote MXs      good.example  (smtp-sink, accepts everything)   127.0.0.1:$P_GOOD
                    bad.example   (smtp-sink, 550 5.1.1 at RCPT)     127.0.0.1:$P_BAD
                    slow.example  (smtp-sink, 450 4.2.0 at RCPT)     127.0.0.1:$P_SLOW
                    blocked.example (smtp-sink, 550 5.1.1 "policy XB-17" to everybody) 127.0.0.1:$P_EXTRA
    bounce domain   $BOUNCE_DOMAIN -> pipe(8) -> rebound-pipe -> PostgreSQL
EOT

say "listening for live events (rebound events --follow, channel rebound_events)"
rebound_bg events --follow >"$T/live-events.txt" 2>/dev/null
wait_for 10 pg_listening || echo "    (the listener is not ready; continuing)"

say "sending a campaign from $SENDER through Postfix (tagged with X-Rebound-Tag)"
send_tagged() {
	printf 'Subject: spring news\nX-Rebound-Tag: campaign=spring; list=news\n\nhello\n' |
		sendmail -C "$T/etc" -f "$SENDER" "$@"
}
send_tagged alice@good.example
send_tagged bob@bad.example
send_tagged carol@slow.example
send_tagged ann@bad.example ben@bad.example
echo "    alice@good.example, bob@bad.example, carol@slow.example, ann+ben@bad.example"

say "the remote MX sees a signed return path instead of $SENDER"
sunk() { grep -lqs alice@good.example "$T"/sink/* 2>/dev/null; }
wait_for 20 sunk
grep -ih '^X-Mail-Args:' "$T"/sink/* 2>/dev/null | head -1 | sed 's/^/    /'

say "an SMTP client sends to the suppressed erin@good.example: refused at RCPT"
swaks -s "127.0.0.1:$P_SMTP" --helo app.example.com --from "$SENDER" \
	--to erin@good.example 2>&1 | grep -E '^ *(~>|<~|->|<-|\*\*|<\*\*) *(RCPT|[0-9]{3})' |
	grep -E 'RCPT|550' | sed 's/^/    /'

say "a remote MX that accepted mail for dora@remote.example now sends its NDR"
swaks -s "127.0.0.1:$P_SMTP" --helo mx.remote.example --from '<>' \
	--to "bounces+dora=remote.example@$BOUNCE_DOMAIN" \
	--data "@$REPO/tests/data/remote-ndr.eml" --silent 2 >/dev/null 2>&1

say "a stranger forges a DSN naming frank@good.example: recorded as unverified, suppressing nobody"
printf '%s\n' "From: MAILER-DAEMON@mx.stranger.example" "Subject: Undelivered Mail" \
	"MIME-Version: 1.0" \
	"Content-Type: multipart/report; report-type=delivery-status; boundary=\"f\"" "" "--f" \
	"Content-Type: message/delivery-status" "" "Reporting-MTA: dns; $MTA_NAME" "" \
	"Final-Recipient: rfc822; frank@good.example" "Action: failed" "Status: 5.1.1" "" \
	"--f--" >"$T/forged.eml"
swaks -s "127.0.0.1:$P_SMTP" --helo mx.stranger.example --from '<>' \
	--to "bounces@$BOUNCE_DOMAIN" --data "@$T/forged.eml" --silent 2 >/dev/null 2>&1

say "waiting for the bounces (the greylisted mail expires after 12 seconds)"
done_yet() {
	[ "$(count "kind = 'expired'")" -ge 1 ] && [ "$(count "true")" -ge 8 ] && queue_empty
}
wait_for 50 done_yet || echo "    (timed out; showing what arrived)"

say "events recorded in PostgreSQL (rebound.events)"
psql -X -P footer=off -c "
SELECT e.kind,
       CASE WHEN e.sync THEN 'sync' ELSE 'async' END AS mode, e.source,
       e.recipient, e.status, e.reply_code AS reply, e.reason,
       CASE WHEN e.hard THEN 'hard' ELSE 'soft' END AS hard_soft, e.provenance,
       m.tags->>'campaign' AS campaign, left(m.token, 10) AS token,
       left(e.diagnostic, 36) AS diagnostic
  FROM rebound.events e LEFT JOIN rebound.messages m ON m.id = e.message_id
 ORDER BY e.id"

say "the log lines rebound-milter and rebound-pipe wrote (syslog facility mail, here a file)"
sed -e 's/^[^ ]* //' -e 's/, size=[0-9]*//' "$T/log/rebound.log" | cut -c1-150

say "what the listener printed as each event was committed"
cut -c1-150 "$T/live-events.txt"

say "the suppression list (rebound suppress list): hard failures at once, soft ones counted"
rebound_run suppress list

say "the statistics (rebound stats)"
rebound_run stats

say "blocked.example refuses everybody: '550 5.1.1 Recipient rejected (policy XB-17)'"
echo "    its reply reads as an unknown user; a burst of it is an incident.  incident_recipients"
echo "    is lowered from 50 to 5 for the demo (rebound.settings)"
q "UPDATE rebound.settings SET value = '5' WHERE name = 'incident_recipients'" >/dev/null
for u in gina hank ivan jane kurt liam; do
	send_tagged "$u@blocked.example"
done
burst_done() { [ "$(count "recipient LIKE '%@blocked.example' AND provenance = 'verified'")" -ge 6 ]; }
wait_for 30 burst_done || echo "    (timed out; showing what arrived)"
say "one incident (rebound incidents list): six recipients, their suppressions held, not enforced"
rebound_run incidents list
echo "    on the suppression list: $(rebound_run suppress list blocked.example | grep -c blocked.example) of them"
say "the postmaster finds that the provider listed our IP, and closes it as sender-side"
rebound_run incidents close "$(q "SELECT max(id) FROM rebound.incidents")" --sender-side \
	--note "our IP was listed at the provider"
rebound_run incidents show "$(q "SELECT max(id) FROM rebound.incidents")" | sed 's/^/    /'
say "done; stopping Postfix, PostgreSQL and the sinks"
