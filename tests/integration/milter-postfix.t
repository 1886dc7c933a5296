#!/bin/bash
# milter-postfix.t - rebound-milter behind a real Postfix (smtpd_milters and
# non_smtpd_milters): the signed return path reaches the remote MX
# (smtp-sink -d), suppressed and forged/expired-token recipients are
# refused at RCPT, Postfix's own rejections are recorded, and mail keeps
# flowing while PostgreSQL is down, its records stored once it is back.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/milter.sh"

rb_init
milter_init
pg_start
# As in contrib/postfix/main.cf: a unix socket in Postfix's queue directory,
# in a directory of the milter's user that Postfix may enter, and written
# relative to the queue directory on Postfix's side.
install -d -o nobody -g postfix -m 750 "$T/spool/rebound"
MILTER_SOCKET="unix:$T/spool/rebound/milter"
# A suppression_reply of our own, with each of its escapes.
milter_conf "suppression_reply = 554 5.7.1 <%a> is refused here: %r, 100%% sure"
q "SELECT rebound.suppress('gone@good.example', 'userunknown')" >/dev/null
milter_start
wait_for 20 milter_logged "suppression list loaded" || diag "suppression list not loaded"
POSTFIX_EXTRA="smtpd_milters = unix:rebound/milter
non_smtpd_milters = unix:rebound/milter
milter_default_action = tempfail" postfix_start

smtp() {	# smtp FROM TO [swaks args...] - one SMTP transaction; the dialogue on stdout
	local from=$1 to=$2
	shift 2
	swaks -s "127.0.0.1:$P_SMTP" --helo client.example --from "$from" --to "$to" "$@" 2>&1
}
sunk() {	# sunk REGEX - a message the good sink received matches
	grep -Elqs -- "$1" "$T"/sink/* 2>/dev/null
}

# --- outbound: signed return path at the remote MX ---------------------------
out=$(smtp ann@$SENDER_DOMAIN alice@good.example --header "X-Rebound-Tag: campaign=pf" \
	--header "Message-ID: <pf1@client.example>")
like "$out" "<- *250 2.0.0 Ok: queued" "message accepted"
wait_for 30 sunk "pf1@client.example"
ok $? "message reached the sink"
f=$(grep -l "pf1@client.example" "$T"/sink/* | head -1)
like "$(grep -i '^X-Mail-Args:' "$f")" "bounces\+[a-z2-7]{34}@$BOUNCE_DOMAIN" \
	"the remote MX sees the signed return path"
token=$(grep -i '^X-Mail-Args:' "$f" | sed -E 's/.*bounces\+([a-z2-7]{34})@.*/\1/')
like "$token" '^[a-z2-7]{34}$' "the token is read from what the MX saw"
pf_qid=$(printf '%s\n' "$out" | sed -nE 's/.*250 2\.0\.0 Ok: queued as ([0-9A-Za-z]+).*/\1/p')
ok "$(grep -ci '^X-Rebound-Tag:' "$f")" "X-Rebound-Tag removed"
like "$(grep -i '^X-Rebound-Token:' "$f")" "$token" "X-Rebound-Token added with the same token"
wait_for 10 sql_is "SELECT tags->>'campaign' FROM rebound.messages WHERE token = '$token'" pf
ok $? "message row with its tags, under the token the MX saw"
# The queue id Postfix gave the client, and the sender before the milter
# rewrote it, both read from outside the milter.
like "$pf_qid" '^[0-9A-Za-z]{6,}$' "Postfix said the queue id ($pf_qid)"
is "$(q "SELECT queue_id, envelope_sender FROM rebound.messages WHERE token = '$token'")" \
	"$pf_qid|ann@$SENDER_DOMAIN" "queue id and original sender stored"

# RET= and ENVID= of MAIL FROM stay with the message when the milter gives
# it a new return path: the remote MX must see them.  This is the promise
# end to end; Postfix 3.7 keeps them even when smfi_chgfrom() is given no
# ESMTP arguments (tried: the test still passed), so it does not prove
# that the milter passes them on.
python3 - "$P_SMTP" "ann@$SENDER_DOMAIN" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example")
s.sendmail(sys.argv[2], ["dsn@good.example"],
           b"Subject: dsn\r\nMessage-ID: <pfdsn@client.example>\r\n\r\nhi\r\n",
           mail_options=["RET=HDRS", "ENVID=rb42"])
s.quit()
PY
ok $? "a message with RET=HDRS and ENVID=rb42 accepted"
wait_for 30 sunk "pfdsn@client.example"
args=$(grep -i '^X-Mail-Args:' "$(grep -l "pfdsn@client.example" "$T"/sink/* | head -1)")
like "$args" "bounces\+[a-z2-7]{34}@$BOUNCE_DOMAIN" "the remote MX sees the signed return path"
like "$args" " RET=HDRS( |$)" "  and RET=HDRS"
like "$args" " ENVID=rb42( |$)" "  and ENVID=rb42"

printf 'Subject: local\nMessage-ID: <pf2@client.example>\n\nhi\n' |
	sendmail -C "$T/etc" -f app@$SENDER_DOMAIN bob@good.example
wait_for 30 sunk "pf2@client.example"
f=$(grep -l "pf2@client.example" "$T"/sink/* | head -1)
like "$(grep -i '^X-Mail-Args:' "$f")" "bounces\+[a-z2-7]{34}@$BOUNCE_DOMAIN" \
	"sendmail(1) submissions are signed too (non_smtpd_milters)"

# --- remote 550 -> Postfix DSN -> rebound-pipe -> event linked by the token --------
out=$(smtp ann@$SENDER_DOMAIN bob@bad.example --header "X-Rebound-Tag: campaign=pf550; list=news" \
	--header "Message-ID: <pf550@client.example>")
like "$out" "<- *250 2.0.0 Ok: queued" "message to a rejecting MX accepted"
wait_for 30 events_at_least 1 "recipient = 'bob@bad.example' AND source = 'pipe'"
ok $? "the DSN for the remote 550 was recorded by rebound-pipe"
# The milter answers the end of the message once its record is committed,
# or synced to the spool when the database is slow; in that case the DSN
# can reach rebound-pipe first: the pipe then makes the message's row from
# the token, and the milter's insert links the event to its recipient when
# it replays the spool.
linked() {
	[ -n "$(q "SELECT 1 FROM rebound.events WHERE recipient = 'bob@bad.example'
		AND source = 'pipe' AND recipient_id IS NOT NULL")" ]
}
wait_for 10 linked
is "$(q "SELECT e.kind, e.sync, e.status, rc.address, m.tags->>'campaign', m.tags->>'list'
	FROM rebound.events e JOIN rebound.messages m ON m.id = e.message_id
	JOIN rebound.recipients rc ON rc.id = e.recipient_id
	WHERE e.recipient = 'bob@bad.example' AND e.source = 'pipe'")" \
	"rejected|t|5.1.1|bob@bad.example|pf550|news" \
	"event linked to its message, recipient and tags through the signed return path"
like "$(grep 'to=<bounces+' "$MILTER_LOG" | grep 'rcpt=<bob@bad.example>')" "token=valid" \
	"rebound-pipe logged the token as valid"

# --- suppressed recipient ------------------------------------------------------
out=$(smtp ann@$SENDER_DOMAIN gone@good.example)
like "$out" "<\*\* *554 5\.7\.1 <gone@good.example> is refused here: userunknown, 100% sure" \
	"suppressed recipient refused at RCPT with suppression_reply: %a, %r and %% replaced"
wait_for 10 events_at_least 1 "recipient = 'gone@good.example' AND rule = 'suppressed'"
ok $? "suppression refusal recorded"

# --- Postfix's own rejection ---------------------------------------------------
out=$(smtp ann@$SENDER_DOMAIN nobody@nowhere.example)
like "$out" "<\*\* *5[0-9][0-9] " "Postfix refuses a recipient it cannot route"
wait_for 10 events_at_least 1 "recipient = 'nobody@nowhere.example' AND rule = 'postfix'"
ok $? "Postfix's rejection recorded by the milter"
like "$(q "SELECT source, sync, status, diagnostic FROM rebound.events
	WHERE recipient = 'nobody@nowhere.example'")" "^milter\|t\|5\.[0-9]+\.[0-9]+\|.+" \
	"with the enhanced status and text"

# --- the bounce MX: forged and expired tokens ---------------------------------
head -c 32 /dev/urandom | base64 >"$T/etc/other.key"
chmod 600 "$T/etc/other.key"
forged=$("$T/bin/mint-token" "$T/etc/other.key" 5)
expired=$("$T/bin/mint-token" "$T/etc/token.key" -1)
out=$(smtp '<>' "bounces+$forged@$BOUNCE_DOMAIN")
like "$out" "<\*\* *550 5\.1\.1 .*forged return path" "forged token refused at RCPT"
out=$(smtp '<>' "bounces+$expired@$BOUNCE_DOMAIN")
like "$out" "<\*\* *550 5\.1\.1 .*expired return path" "expired token refused at RCPT"

# --- PostgreSQL down: mail flows, records arrive later ------------------------
pg_stop
out=$(smtp ann@$SENDER_DOMAIN carol@good.example --header "Message-ID: <pf3@client.example>")
like "$out" "<- *250 2.0.0 Ok: queued" "accepted while PostgreSQL is down"
wait_for 30 sunk "pf3@client.example"
ok $? "and delivered"
f=$(grep -l "pf3@client.example" "$T"/sink/* | head -1)
like "$(grep -i '^X-Mail-Args:' "$f")" "bounces\+[a-z2-7]{34}@" "still with a signed return path"
pg_resume
wait_for 30 sql_is "SELECT count(*) FROM rebound.recipients WHERE address = 'carol@good.example'" 1
ok $? "the spooled record is stored after pg_resume"

milter_stop
milter_clean_stderr
done_testing
