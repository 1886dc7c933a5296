#!/bin/bash
# incidents.t - a provider's block worded as unknown users must not empty
# the list.  Bounces go through rebound-pipe into a real PostgreSQL, with
# the mail sent recorded as rebound-milter records it; a burst of one
# reply from one provider for most of the recipients sent there opens one
# incident, which suppresses nobody until it is closed with the rebound
# tool, while a normal mailing's scattered unknown users suppress at once.
# incident_recipients is lowered to 10 to keep the test short; the
# defaults have their own tests (tests/sql/incidents.sql).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"

rb_init
pg_start
rb_write_conf
q "UPDATE rebound.settings SET value = '10' WHERE name = 'incident_recipients'" >/dev/null

# sent PREFIX DOMAIN N - N recipients PREFIXi@DOMAIN, as the milter records mail sent
sent() {
	q "WITH m AS (INSERT INTO rebound.messages (message_id_header, envelope_sender)
	      SELECT '$1' || i || '@client.example', 'news@example.com' FROM generate_series(1, $3) i
	      RETURNING id, split_part(message_id_header, '@', 1) AS local)
	   INSERT INTO rebound.recipients (message_id, address) SELECT id, local || '@$2' FROM m" >/dev/null
}
# bounce RECIPIENT TEXT - a remote MX's DSN to the classic VERP address of RECIPIENT
bounce() {
	local user=${1%@*} domain=${1#*@}
	cat <<EOM | pipe_run -q "Q$RANDOM" -r "bounces+$user=$domain@$BOUNCE_DOMAIN" --client-address=192.0.2.25 >/dev/null
From: MAILER-DAEMON@mx1.$domain
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"
Message-ID: <dsn.$user.$RANDOM@mx1.$domain>

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.$domain

Final-Recipient: rfc822; $1
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx$((RANDOM % 3)).$domain
Diagnostic-Code: smtp; $2

--b--
EOM
}
listed() {	# listed PATTERN - how many addresses like PATTERN are suppressed
	q "SELECT count(*) FROM rebound.suppressions WHERE address LIKE '$1'"
}
held() {
	q "SELECT count(*) FROM rebound.provisional_suppressions WHERE address LIKE '$1' AND state = 'held'"
}

# A listener on rebound_incidents: psql reports what it heard when it ends.
mkfifo "$T/listen.fifo"
psql -XqAt <"$T/listen.fifo" >"$T/listen.out" 2>&1 &
RB_PIDS="$RB_PIDS $!"
exec 3>"$T/listen.fifo"
echo "LISTEN rebound_incidents;" >&3

sent live blocked.example 14
sent news big.example 200

# --- a normal campaign: 12 unknown users of 200 --------------------------------
for i in $(seq 1 12); do
	bounce "news$i@big.example" "550 5.1.1 <news$i@big.example>: Recipient address rejected: User unknown"
done
is "$(listed 'news%@big.example')" 12 "a campaign's 12 unknown users of 200 sent: all suppressed at once"

# --- the block: the provider refuses 12 of the 14 recipients sent there, in words
# the rules read as an unknown user ---------------------------------------------
for i in $(seq 1 12); do
	bounce "live$i@blocked.example" "550 5.1.1 <live$i@blocked.example>: Recipient rejected (policy XB-$i, ref $RANDOM)"
done
is "$(q "SELECT count(*) FROM rebound.incidents")" 1 "the block opened one incident"
is "$(listed 'live%@blocked.example')" 0 "and suppresses nobody"
is "$(held 'live%@blocked.example')" 12 "the twelve are held instead"
is "$(q "SELECT count(*) FROM rebound.events WHERE recipient LIKE 'live%' AND reason = 'userunknown' AND hard")" 12 \
	"though each was read as an unknown user"
rebound_run suppress export >"$T/export"
grep -q 'live' "$T/export"
ok $((!$?)) "held addresses are not in the list the milter loads"
id=$(q "SELECT id FROM rebound.incidents")

out=$(rebound_run incidents list)
like "$out" "^ *$id +open +blocked.example +12 +12 " "incidents list: open, the provider, 12 recipients, 12 held"
like "$out" "550 5.1.1 <addr>: recipient rejected \\(policy #, ref #\\)" "with the reply template"
out=$(rebound_run incidents show "$id")
like "$out" "status: +open" "incidents show: its status"
like "$(printf '%s\n' "$out" | grep -c 'live[0-9]*@blocked.example .*held')" "^12$" "and the twelve it holds"
out=$(rebound_run --json incidents show "$id")
like "$out" '^\{"incident":\[\{"id":[0-9]+,"status":"open"' "--json: one object"

# --- closing -------------------------------------------------------------------
rebound_run incidents close "$id" 2>/dev/null
is "$?" 64 "close needs --real or --sender-side"
rebound_run incidents close --real --sender-side "$id" 2>/dev/null
is "$?" 64 "not both"
rebound_run incidents close --sender-side 999999 2>/dev/null
is "$?" 65 "an unknown incident is bad data"
out=$(rebound_run incidents close --sender-side --note "IP listed, delisted since" "$id")
like "$out" "closed as sender-side: 12 held suppressions released" "closed as sender-side"
is "$(listed 'live%@blocked.example')/$(held 'live%@blocked.example')" "0/0" "nobody suppressed, nothing held"
rebound_run incidents close --real "$id" 2>/dev/null
is "$?" 65 "a closed incident stays closed"

# A second burst, at another provider, that is real.
sent dead closed.example 11
for i in $(seq 1 11); do
	bounce "dead$i@closed.example" "550 5.1.1 <dead$i@closed.example>: mailbox closed by the provider"
done
id2=$(q "SELECT max(id) FROM rebound.incidents")
is "$(listed 'dead%@closed.example')/$(held 'dead%@closed.example')" "0/11" "a second burst held"
like "$(rebound_run incidents close --real "$id2")" "closed as real: 11 held suppressions applied" \
	"closed as real"
is "$(listed 'dead%@closed.example')" 11 "its addresses are suppressed now"

# What the listener heard: each incident opened, then closed.
echo "SELECT 1;" >&3
exec 3>&-
wait_for 10 grep -q '"status" : "real"\|"status":"real"' "$T/listen.out"
is "$(grep -o '"status" *: *"[a-z_]*"' "$T/listen.out" | tr -d ' ' | tr '\n' ' ')" \
	'"status":"open" "status":"sender_side" "status":"open" "status":"real" ' \
	"the listener heard both open and close"

done_testing
