#!/bin/bash
# trust.t - what an outsider can and cannot make rebound do.  A private
# Postfix with rebound-milter (signing outbound mail, guarding the bounce
# domain) and rebound-pipe, as tests/integration/milter-postfix.t sets
# them up.  Every attack is mail anyone can send to the bounce domain over
# SMTP; each must end refused at RCPT or recorded as unverified, with the
# suppression list unchanged.  The genuine paths (our Postfix's DSN for a
# remote 550, a remote NDR to a valid token, a feedback report about a
# signed message) still suppress.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/milter.sh"

rb_init
milter_init
pg_start
install -d -o nobody -g postfix -m 750 "$T/spool/rebound"
MILTER_SOCKET="unix:$T/spool/rebound/milter"
milter_conf
milter_start
wait_for 20 milter_logged "suppression list loaded" || diag "suppression list not loaded"
POSTFIX_EXTRA="smtpd_milters = unix:rebound/milter
non_smtpd_milters = unix:rebound/milter
milter_default_action = tempfail" postfix_start

smtp() {	# smtp FROM TO [swaks args...] - one SMTP transaction; the dialogue on stdout
	local from=$1 to=$2
	shift 2
	swaks -s "127.0.0.1:$P_SMTP" --helo mx.stranger.example --from "$from" --to "$to" "$@" 2>&1
}
sunk() {	# sunk REGEX - a message the good sink received matches
	grep -Elqs -- "$1" "$T"/sink/* 2>/dev/null
}
token_of() {	# token_of MESSAGE-ID - the token the remote MX saw for a message
	grep -l "$1" "$T"/sink/* | head -1 | xargs grep -i '^X-Mail-Args:' |
		sed -E 's/.*bounces\+([a-z2-7]{34})@.*/\1/'
}
suppressions() {
	q "SELECT coalesce(string_agg(address, ',' ORDER BY address), '') FROM rebound.suppressions"
}
provenance_of() {	# provenance_of RECIPIENT - kind|provenance|sync of its pipe events
	q "SELECT string_agg(kind || '|' || provenance || '|' || CASE WHEN sync THEN 't' ELSE 'f' END,
		',' ORDER BY id)
	   FROM rebound.events WHERE source = 'pipe' AND (recipient = '$1' OR reported_recipient = '$1')"
}
dsn() {	# dsn RECIPIENT STATUS [REPORTING_MTA [TEXT]] - a plausible remote DSN on stdout
	cat <<EOM
From: Mail Delivery System <MAILER-DAEMON@mx.stranger.example>
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"
Message-ID: <dsn.$RANDOM.$RANDOM@mx.stranger.example>

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; ${3:-mx.stranger.example}

Final-Recipient: rfc822; $1
Action: failed
Status: $2
Diagnostic-Code: smtp; 550 $2 ${4:-no such user}

--b--
EOM
}
# send_report TO FILE - a report over SMTP with MAIL FROM:<>, as any MX sends one
send_report() {
	smtp '<>' "$1" --data "$2"
}
# deliveries - how many bounces rebound-pipe has logged (its one line each)
deliveries() {
	grep -c ', orig_queue_id=' "$MILTER_LOG"
}

# --- genuine: our Postfix's DSN for a remote 550 ----------------------------
out=$(smtp ann@$SENDER_DOMAIN bob@bad.example --header "Message-ID: <t1@client.example>")
like "$out" "<- *250 2.0.0 Ok: queued" "outbound message to a rejecting MX accepted"
wait_for 30 events_at_least 1 "recipient = 'bob@bad.example' AND source = 'pipe' AND provenance = 'verified'"
is "$(provenance_of bob@bad.example)" "rejected|verified|t" \
	"our Postfix's own DSN: a synchronous rejection, verified by its token"
wait_for 10 sql_is "SELECT count(*) FROM rebound.suppressions WHERE address = 'bob@bad.example'" 1
ok $? "and it suppresses bob"

# --- genuine: a remote NDR to a valid token ------------------------------------
smtp ann@$SENDER_DOMAIN alice@good.example --header "Message-ID: <t2@client.example>" >/dev/null
wait_for 30 sunk "t2@client.example"
tok_alice=$(token_of "t2@client.example")
is "${#tok_alice}" 34 "the remote MX saw a signed return path"
wait_for 10 sql_is "SELECT count(*) FROM rebound.recipients WHERE address = 'alice@good.example'" 1
dsn alice@good.example 5.1.1 >"$T/ndr-alice.eml"
out=$(send_report "bounces+$tok_alice@$BOUNCE_DOMAIN" "$T/ndr-alice.eml")
like "$out" "<- *250 " "a remote NDR to the token is accepted"
wait_for 30 events_at_least 1 "recipient = 'alice@good.example' AND source = 'pipe'"
is "$(provenance_of alice@good.example)" "bounced|verified|f" \
	"an asynchronous bounce, verified: its recipient is the message's"
wait_for 10 sql_is "SELECT count(*) FROM rebound.suppressions WHERE address = 'alice@good.example'" 1
ok $? "and it suppresses alice"

# --- genuine: a feedback report about a signed, tagged message -----------------
smtp ann@$SENDER_DOMAIN carol@good.example --header "Message-ID: <t3@client.example>" \
	--header "X-Rebound-Tag: campaign=fbl" >/dev/null
wait_for 30 sunk "t3@client.example"
tok_carol=$(token_of "t3@client.example")
wait_for 10 sql_is "SELECT count(*) FROM rebound.recipients WHERE address = 'carol@good.example'" 1
arf() {	# arf RECIPIENT TOKEN - an RFC 5965 report about a message with that token
	cat <<EOM
From: feedback@isp.example
Subject: FW: complaint
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b"

--b
Content-Type: text/plain

This is an abuse report.

--b
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: isp-fbl/1.0
Version: 1
Original-Rcpt-To: $1

--b
Content-Type: text/rfc822-headers

Return-Path: <bounces+$2@$BOUNCE_DOMAIN>
From: ann@$SENDER_DOMAIN
To: $1
Subject: news
X-Rebound-Token: $2

--b--
EOM
}
arf carol@good.example "$tok_carol" >"$T/arf-carol.eml"
send_report "fbl@$BOUNCE_DOMAIN" "$T/arf-carol.eml" >/dev/null
wait_for 30 events_at_least 1 "recipient = 'carol@good.example' AND kind = 'complaint'"
is "$(provenance_of carol@good.example)" "complaint|verified|f" \
	"a complaint about a message that carries our token: verified"
wait_for 10 sql_is "SELECT count(*) FROM rebound.suppressions WHERE address = 'carol@good.example'" 1
ok $? "and it suppresses carol"

genuine=$(suppressions)
is "$genuine" "alice@good.example,bob@bad.example,carol@good.example" \
	"the genuine paths suppressed exactly their recipients"

# --- attacks ----------------------------------------------------------------------
# A message to two recipients whose token an outsider (one of them) received.
smtp ann@$SENDER_DOMAIN erin@good.example,frank@good.example \
	--header "Message-ID: <t4@client.example>" >/dev/null
wait_for 30 sunk "t4@client.example"
tok_multi=$(token_of "t4@client.example")
wait_for 10 sql_is "SELECT count(*) FROM rebound.recipients WHERE address = 'frank@good.example'" 1

attack() {	# attack NAME TO RECIPIENT FILE - send a report and wait for rebound-pipe
	local before
	before=$(deliveries)
	out=$(send_report "$2" "$4")
	like "$out" "<- *250 " "$1: accepted at SMTP"
	wait_for 30 eval '[ "$(deliveries)" -gt "$before" ]'
	ok $? "$1: rebound-pipe took it"
}

dsn victim1@victim.example 5.1.1 >"$T/a1.eml"
attack "a DSN to the plain bounce address" "bounces@$BOUNCE_DOMAIN" victim1@victim.example "$T/a1.eml"
is "$(provenance_of victim1@victim.example)" "bounced|unverified|f" "  recorded as unverified"

dsn victim2@victim.example 5.1.1 >"$T/a2.eml"
attack "a DSN to a classic VERP address naming someone else" \
	"bounces+dan=good.example@$BOUNCE_DOMAIN" victim2@victim.example "$T/a2.eml"
is "$(provenance_of victim2@victim.example)" "bounced|unverified|f" "  recorded as unverified"

dsn victim3@victim.example 5.1.1 >"$T/a3.eml"
attack "a DSN to a valid token naming someone the message never had" \
	"bounces+$tok_multi@$BOUNCE_DOMAIN" victim3@victim.example "$T/a3.eml"
is "$(provenance_of victim3@victim.example)" "bounced|unverified|f" "  recorded as unverified"

# It claims to come from our own Postfix, for an unknown domain.
dsn someone@bigmail.example 5.1.2 "$MTA_NAME" "Host or domain name not found" >"$T/a4.eml"
attack "a DSN forging our Reporting-MTA with 5.1.2" "bounces@$BOUNCE_DOMAIN" \
	someone@bigmail.example "$T/a4.eml"
is "$(provenance_of someone@bigmail.example)" "bounced|unverified|f" \
	"  not taken for our own synchronous finding; unverified"
dsn other@bigmail.example 5.1.2 "$MTA_NAME" "Host or domain name not found" >"$T/a4b.eml"
attack "the same to a classic VERP address of the named recipient" \
	"bounces+other=bigmail.example@$BOUNCE_DOMAIN" other@bigmail.example "$T/a4b.eml"
is "$(provenance_of other@bigmail.example)" "bounced|verp|f" \
	"  provenance verp, not synchronous (classic VERP is no evidence while we sign)"

arf victim4@victim.example "$tok_multi" >"$T/a5.eml"
attack "a fake complaint about a co-recipient's message naming a stranger" "fbl@$BOUNCE_DOMAIN" \
	victim4@victim.example "$T/a5.eml"
is "$(provenance_of victim4@victim.example)" "complaint|unverified|f" "  recorded as unverified"
head -c 32 /dev/urandom | base64 >"$T/etc/other.key"
chmod 600 "$T/etc/other.key"
forged=$("$T/bin/mint-token" "$T/etc/other.key" 5)
arf victim5@victim.example "$forged" >"$T/a6.eml"
attack "a fake complaint carrying a forged token" "fbl@$BOUNCE_DOMAIN" victim5@victim.example \
	"$T/a6.eml"
is "$(provenance_of victim5@victim.example)" "complaint|unverified|f" "  recorded as unverified"

# A report naming more recipients than the message had, and one over the cap.
{ dsn frank@good.example 5.1.1 | sed '/^--b--$/d'
  printf 'Final-Recipient: rfc822; victim6@victim.example\nAction: failed\nStatus: 5.1.1\n\n'
  printf 'Final-Recipient: rfc822; victim7@victim.example\nAction: failed\nStatus: 5.1.1\n\n--b--\n'
} >"$T/a7.eml"
attack "a report naming more recipients than the message had" \
	"bounces+$tok_multi@$BOUNCE_DOMAIN" frank@good.example "$T/a7.eml"
is "$(provenance_of frank@good.example),$(provenance_of victim6@victim.example)" \
	"bounced|unverified|f,bounced|unverified|f" "  every recipient of it unverified, even a real one"
{ dsn erin@good.example 5.1.1 | sed '/^--b--$/d'
  for i in $(seq 1 1000); do
	printf 'Final-Recipient: rfc822; many%d@victim.example\nAction: failed\nStatus: 5.1.1\n\n' "$i"
  done
  echo '--b--'
} >"$T/a8.eml"
attack "a report naming 1001 recipients" "bounces+$tok_multi@$BOUNCE_DOMAIN" erin@good.example "$T/a8.eml"
is "$(q "SELECT count(*) FROM rebound.events WHERE recipient LIKE 'many%' OR recipient = 'erin@good.example'")" 0 \
	"  no events for any of them"
like "$(q "SELECT parse_error FROM rebound.raw_messages ORDER BY id DESC LIMIT 1")" "more recipients" \
	"  the report is kept raw, saying why"
like "$(grep 'names more recipients' "$MILTER_LOG")" "bounces\+$tok_multi" "  with a log line"

# Refused at RCPT: forged and over-long tokens, quoted or not.
for spelling in "bounces+$forged@$BOUNCE_DOMAIN" "\"bounces+$forged\"@$BOUNCE_DOMAIN" \
	"\"BOUNCES+$forged\"@$BOUNCE_DOMAIN" "@relay.example:bounces+$forged@$BOUNCE_DOMAIN" \
	"bounces-$forged@$BOUNCE_DOMAIN"; do
	out=$(smtp '<>' "$spelling")
	like "$out" "<\*\* *550 5\.1\.1 .*forged return path" "forged token refused at RCPT: $spelling"
done
long=$("$T/bin/mint-token" "$T/etc/token.key" 4000)
out=$(smtp '<>' "\"bounces+$long\"@$BOUNCE_DOMAIN")
like "$out" "<\*\* *550 5\.1\.1 .*expired return path" \
	"a token of ours that claims 4000 days is refused as expired"

# Classic VERP turned off in the milter: no spelling of it gets past RCPT.
printf 'bounce_classic_verp = no\n' >>"$T/etc/rebound.conf"
kill -HUP "$MILTER_PID"
wait_for 10 milter_logged "configuration reloaded"
for spelling in "bounces+zed=victim.example@$BOUNCE_DOMAIN" "\"bounces+zed=victim.example\"@$BOUNCE_DOMAIN"; do
	out=$(smtp '<>' "$spelling")
	like "$out" "<\*\* *550 5\.1\.1 " "classic VERP refused when turned off: $spelling"
done

is "$(suppressions)" "$genuine" "no attack changed the suppression list"
is "$(q "SELECT string_agg(recipient, ',' ORDER BY recipient) FROM rebound.awaiting_review
	WHERE problem = 'unverified'")" \
	"frank@good.example,someone@bigmail.example,victim1@victim.example,victim2@victim.example,victim3@victim.example,victim4@victim.example,victim5@victim.example,victim6@victim.example,victim7@victim.example" \
	"the unverified hard failures and complaints wait for review"

milter_stop
milter_clean_stderr
done_testing
