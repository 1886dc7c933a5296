#!/bin/bash
# token.t - rebound-pipe verifies signed return paths and links events to
# the message and recipient they name.  The tokens here are minted by an
# independent implementation of the format in common/mail/token.h (Python's
# hmac and base64), so the test also pins the format down.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
D="$REPO/tests/data"

rb_init
pg_start

head -c 32 /dev/urandom | base64 >"$T/etc/token.key"
head -c 32 /dev/urandom | base64 >"$T/etc/token.old"
chown nobody "$T/etc/token.key" "$T/etc/token.old"
chmod 600 "$T/etc/token.key" "$T/etc/token.old"
rb_write_conf "token_key_file = $T/etc/token.key" "token_previous_key_file = $T/etc/token.old"

# mint KEYFILE MESSAGE_ID FLAGS LAST_DAY - print a token
mint() {
	python3 - "$@" <<'PY'
import base64, hashlib, hmac, struct, sys
key = open(sys.argv[1], "rb").read().rstrip(b" \t\r\n")
body = struct.pack(">BQH", 0x10 | int(sys.argv[3]), int(sys.argv[2], 16), int(sys.argv[4]))
mac = hmac.new(key, body, hashlib.sha256).digest()[:10]
print(base64.b32encode(body + mac).decode().rstrip("=").lower())
PY
}
today=$(($(date +%s) / 86400))

deliver() {	# deliver QUEUE_ID RECIPIENT < message; sets OUT and RC
	OUT=$(pipe_run -q "$1" -r "$2")
	RC=$?
}

# A message with one recipient, as the milter records it.
tok1=$(mint "$T/etc/token.key" 00000000000000a1 1 $((today + 30)))
is "${#tok1}" 34 "a token is 34 characters"
q "INSERT INTO rebound.messages (token, queue_id, envelope_sender, tags)
   VALUES ('$tok1', 'OUT1', 'news@example.com', '{\"campaign\": \"spring\"}');
   INSERT INTO rebound.recipients (message_id, address)
   SELECT id, 'bob@bad.example' FROM rebound.messages WHERE token = '$tok1'" >/dev/null

deliver T1 "bounces+$tok1@bounce.example.test" <"$D/postfix-rejected.eml"
is "$RC" 0 "bounce to a valid token delivered"
is "$(q "SELECT m.queue_id, rc.address, m.tags->>'campaign' FROM rebound.events e
	JOIN rebound.messages m ON m.id = e.message_id
	JOIN rebound.recipients rc ON rc.id = e.recipient_id WHERE e.queue_id = 'T1'")" \
	"OUT1|bob@bad.example|spring" "event linked to its message, recipient and tags"
like "$(grep ' T1: ' "$T/log/rebound.log")" "token=valid" "log line names the verdict"

# Upper case (an MTA that folds local parts) still verifies.
up=$(echo "$tok1" | tr a-z A-Z)
deliver T1U "bounces+$up@bounce.example.test" <"$D/remote-ndr.eml"
is "$RC" 0 "upper-cased token delivered"
is "$(q "SELECT count(*) FROM rebound.events WHERE queue_id = 'T1U' AND message_id IS NOT NULL")" 1 \
	"upper-cased token links too"

# A single-recipient token names the recipient even when the report does not
# (an NDR that only says the mailbox is full).
printf 'From: MAILER-DAEMON@mx.example\nTo: bounces@bounce.example.test\nSubject: Undeliverable\n\nSorry, the mailbox is full and cannot accept mail. 552 5.2.2\n' >"$T/anon.eml"
deliver T2 "bounces+$tok1@bounce.example.test" <"$T/anon.eml"
is "$RC" 0 "anonymous NDR delivered"
is "$(q "SELECT coalesce(recipient, 'NULL') || '|' || (recipient_id IS NOT NULL) FROM rebound.events WHERE queue_id = 'T2'")" \
	"bob@bad.example|true" "single-recipient token supplies the recipient"

# Key rotation: a token signed with the previous key still links.
tok2=$(mint "$T/etc/token.old" 00000000000000a2 0 $((today + 30)))
q "INSERT INTO rebound.messages (token, queue_id) VALUES ('$tok2', 'OUT2');
   INSERT INTO rebound.recipients (message_id, address)
   SELECT id, a FROM rebound.messages, (VALUES ('bob@bad.example'), ('eve@bad.example')) v(a)
   WHERE token = '$tok2'" >/dev/null
deliver T3 "bounces+$tok2@bounce.example.test" <"$D/postfix-rejected.eml"
is "$(q "SELECT m.queue_id || '|' || rc.address FROM rebound.events e JOIN rebound.messages m ON m.id = e.message_id
	JOIN rebound.recipients rc ON rc.id = e.recipient_id WHERE e.queue_id = 'T3'")" \
	"OUT2|bob@bad.example" "previous key verifies; recipient found by address"

# Forged: signed with a key we do not hold.  Kept raw for audit; it gets no
# events, since whatever it says comes from whoever forged it.
head -c 32 /dev/urandom | base64 >"$T/etc/stranger.key"
tok3=$(mint "$T/etc/stranger.key" 00000000000000a1 1 $((today + 30)))
deliver T4 "bounces+$tok3@bounce.example.test" <"$D/postfix-rejected.eml"
is "$RC" 0 "bounce to a forged token is taken (exit 0)"
is "$(q "SELECT count(*) FROM rebound.events WHERE queue_id = 'T4'")" 0 \
	"a forged token gets no events"
like "$(q "SELECT parse_error FROM rebound.raw_messages WHERE queue_id = 'T4'")" "forged return path" \
	"it is kept raw, saying why"
like "$(grep ' T4: ' "$T/log/rebound.log")" "token=forged" "log line says forged"

# Expired, but signed by us: the bounce is still ours, so it links.
tok4=$(mint "$T/etc/token.key" 00000000000000a4 1 $((today - 2)))
q "INSERT INTO rebound.messages (token) VALUES ('$tok4')" >/dev/null
deliver T5 "bounces+$tok4@bounce.example.test" <"$D/postfix-rejected.eml"
is "$(q "SELECT count(*) FROM rebound.events WHERE queue_id = 'T5' AND message_id IS NOT NULL")" 1 \
	"expired token of ours still links"
like "$(grep ' T5: ' "$T/log/rebound.log")" "token=expired" "log line says expired"

# A key file others can read is refused: the bounce is deferred, not lost.
chmod 644 "$T/etc/token.key"
deliver T6 "bounces+$tok1@bounce.example.test" <"$D/postfix-rejected.eml"
is "$RC" 75 "world-readable key defers (EX_TEMPFAIL)"
like "$OUT" "^4\.3\.5 key file .*token\.key: mode 644" "4.x.x line names the key file"
is "$(q "SELECT count(*) FROM rebound.events WHERE queue_id = 'T6'")" 0 "nothing stored"
# Classic VERP needs no key at all, so it still works meanwhile.
deliver T7 "bounces+bob=bad.example@bounce.example.test" <"$D/remote-ndr.eml"
is "$RC" 0 "classic VERP delivered while the key is unreadable"
chmod 600 "$T/etc/token.key"

# A report to a plain address whose returned headers carry our token, in
# the Return-Path only: the token is the evidence, and the recipient it
# names is the message's own.  The same report naming a stranger is not.
returned() {	# returned QUEUE_ID RECIPIENT - a DSN quoting the headers of tok2's message
	{ sed -n '1,/^--remote-boundary$/p' "$D/remote-ndr.eml"
	  printf 'Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.remote.example\n\n'
	  printf 'Final-Recipient: rfc822; %s\nAction: failed\nStatus: 5.1.1\n\n' "$2"
	  printf -- '--remote-boundary\nContent-Type: text/rfc822-headers\n\n'
	  printf 'Return-Path: <bounces+%s@bounce.example.test>\nSubject: news %s\n\n' "$tok2" "$1"
	  printf -- '--remote-boundary--\n'; } | pipe_run -q "$1" -r bounces@bounce.example.test \
		--client-address=192.0.2.7 >/dev/null
}
returned T8 eve@bad.example
is "$(q "SELECT provenance || '|' || m.queue_id FROM rebound.events e
	JOIN rebound.messages m ON m.id = e.message_id WHERE e.queue_id = 'T8'")" "verified|OUT2" \
	"a token in the returned Return-Path verifies a recipient of its message"
returned T9 mallory@bad.example
is "$(q "SELECT provenance FROM rebound.events WHERE queue_id = 'T9'")" "unverified" \
	"and leaves a recipient the message never had unverified"

# The operator's view: rebound return-path check.
out=$(rebound_run return-path check "bounces+$tok1@bounce.example.test")
is "$?" 0 "return-path check accepts a valid token"
like "$out" "token=valid message=00000000000000a1 last_day=[0-9-]+ single_recipient$" \
	"return-path check prints message id, last day and flags"
out=$(rebound_run return-path check "bounces+$tok3@bounce.example.test" "bounces+bob=bad.example@bounce.example.test")
is "$?" 1 "return-path check exits 1 for a forged token"
like "$out" "token=forged" "forged token reported"
like "$out" "token=none recipient=bob@bad.example" "classic VERP reported with its recipient"

done_testing
