#!/bin/bash
# demo.sh - rebound's main job on an embedded default: a private PostgreSQL
# and a private Postfix under a temporary directory (loopback only, high
# ports), smtp-sink as the remote MXs, a few messages sent with VERP, and
# what rebound made of them printed at the end: the events recorded in
# PostgreSQL, the live notifications a listener received, the suppression
# list and the statistics.  It stops what it started and leaves nothing
# behind (KEEP=1 keeps the directory).
set -u
. "$(dirname "$0")/harness.sh"
RP=bounces@$BOUNCE_DOMAIN

say() {
	if [ -t 1 ]; then printf '\033[1m==> %s\033[0m\n' "$*"; else printf '==> %s\n' "$*"; fi
}

# pg_listening - whether a rebound listener has run its LISTEN
pg_listening() {
	[ "$(q "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'rebound' AND query LIKE 'LISTEN%'")" -ge 1 ]
}

say "starting a private PostgreSQL cluster and Postfix instance"
rb_init
pg_start
rb_write_conf
DELAY_WARNING_TIME=3s QUEUE_LIFETIME=12s postfix_start
cat <<EOT
    work directory  $T
    Postfix         127.0.0.1:$P_SMTP, myhostname $MTA_NAME
    remote MXs      good.example  (smtp-sink, accepts everything)   127.0.0.1:$P_GOOD
                    bad.example   (smtp-sink, 550 5.1.1 at RCPT)     127.0.0.1:$P_BAD
                    slow.example  (smtp-sink, 450 4.2.0 at RCPT)     127.0.0.1:$P_SLOW
    bounce domain   $BOUNCE_DOMAIN -> pipe(8) -> rebound-pipe -> PostgreSQL
EOT

say "listening for live events (rebound events --follow, channel rebound_events)"
rebound_run events --follow >"$T/live-events.txt" 2>/dev/null &
RB_PIDS="$RB_PIDS $!"
wait_for 10 pg_listening || echo "    (the listener is not ready; continuing)"

say "sending mail through Postfix with VERP return paths ($RP)"
send_verp "$RP" alice@good.example
send_verp "$RP" bob@bad.example
send_verp "$RP" carol@slow.example
printf 'Subject: team news\n\nhello\n' |
	sendmail -C "$T/etc" -f "$RP" ann@bad.example ben@bad.example
echo "    alice@good.example, bob@bad.example, carol@slow.example, ann+ben@bad.example"

say "a remote MX that accepted mail for dora@remote.example now sends its NDR"
swaks -s "127.0.0.1:$P_SMTP" --helo mx.remote.example --from '<>' \
	--to "bounces+dora=remote.example@$BOUNCE_DOMAIN" \
	--data "@$REPO/tests/data/remote-ndr.eml" --silent 2 >/dev/null 2>&1

say "waiting for the bounces (the greylisted mail expires after 12 seconds)"
done_yet() {
	[ "$(count "kind = 'expired'")" -ge 1 ] && [ "$(count "true")" -ge 6 ] && queue_empty
}
wait_for 50 done_yet || echo "    (timed out; showing what arrived)"

say "events recorded in PostgreSQL (rebound.events)"
psql -X -P footer=off -c "
SELECT kind,
       CASE WHEN sync THEN 'sync' ELSE 'async' END AS mode,
       recipient, status, reply_code AS reply, reason, category,
       CASE WHEN hard THEN 'hard' ELSE 'soft' END AS hard_soft,
       left(diagnostic, 44) AS diagnostic
  FROM rebound.events ORDER BY id"

say "the log lines rebound-pipe wrote (syslog facility mail, here a file)"
sed -e 's/^[^ ]* //' -e 's/, size=[0-9]*//' "$T/log/rebound.log" | cut -c1-150

say "what the listener printed as each event was committed"
cut -c1-150 "$T/live-events.txt"

say "an operator suppresses an address by hand (rebound suppress add)"
rebound_run suppress add --reason unsubscribed --note "asked by phone" erin@good.example

say "the suppression list (rebound suppress list): hard failures at once, soft ones counted"
rebound_run suppress list

say "the statistics (rebound stats)"
rebound_run stats
say "done; stopping Postfix, PostgreSQL and the sinks"
