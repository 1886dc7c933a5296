#!/bin/bash
# milter.t - rebound-milter: each behaviour through a miltertest script
# against the real binary, with a private PostgreSQL behind it.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/milter.sh"

rb_init
milter_init
# A unix socket, as contrib/postfix has it.  It is also what miltertest
# needs for the flood below: it takes a short read(2) of a reply for an
# error, and over TCP ten thousand replies come in segments that can split
# one; a unix socket delivers each reply whole.
install -d -o nobody -m 750 "$T/milter"
MILTER_SOCKET="unix:$T/milter/socket"
pg_start
milter_conf
q "SELECT rebound.suppress('gone@good.example', 'userunknown')" >/dev/null
# A suppression an open incident holds is recorded, never enforced.
q "WITH i AS (INSERT INTO rebound.incidents (provider_key, reply_template, first_at, last_at,
	recipients_at_open) VALUES ('good.example', '550 5.1.1 x', now(), now(), 50) RETURNING id)
   INSERT INTO rebound.provisional_suppressions (incident_id, address, reason, basis)
   SELECT id, 'held@good.example', 'userunknown', 'hard' FROM i" >/dev/null

"$T/bin/rebound-milter" -n -c "$T/etc/rebound.conf"
ok $? "-n accepts the configuration"
printf 'milter_failure_action = maybe\n' >"$T/etc/bad.conf"
err=$("$T/bin/rebound-milter" -n -c "$T/etc/bad.conf" 2>&1 >/dev/null)
is "$?" 78 "-n refuses a bad configuration with EX_CONFIG, not a crash"
like "$err" 'bad\.conf.*milter_failure_action.*bad value "maybe" \(want accept or tempfail\)' \
	"and says which file, setting and value"

milter_start
wait_for 20 milter_logged "suppression list loaded: 1 entries"
ok $? "suppression list loaded at start, without the held suppression"

# --- outbound: signed return path, tags, token header ----------------------
mt_run outbound.lua SENDER=ann@$SENDER_DOMAIN RCPT=rcpt1@good.example QID=4A1B2C3D
ok $? "outbound.lua: tag headers removed, token header added"
line=$(grep '4A1B2C3D: from=' "$MILTER_LOG")
like "$line" "return-path=<bounces\+[a-z2-7]{34}@$BOUNCE_DOMAIN> nrcpt=1 tags=2" \
	"return path rewritten to a token at the bounce domain"
token=$(printf '%s' "$line" | sed -E 's/.*return-path=<bounces\+([a-z2-7]{34})@.*/\1/')
wait_for 10 sql_is "SELECT count(*) FROM rebound.messages WHERE token = '$token'" 1
ok $? "message row stored under the full token"
is "$(q "SELECT queue_id, message_id_header, envelope_sender, tags->>'campaign', tags->>'list',
	(SELECT string_agg(address, ',') FROM rebound.recipients r WHERE r.message_id = m.id)
	FROM rebound.messages m WHERE token = '$token'")" \
	"4A1B2C3D|outbound.4A1B2C3D@client.example|ann@$SENDER_DOMAIN|spring|news|rcpt1@good.example" \
	"message row: queue id, Message-ID, sender, tags, recipient"
grep -q '4A1B2C3D: X-Rebound-Tag ignored: tag without .* (1 of 2 headers)$' "$MILTER_LOG"
ok $? "the malformed tag header is logged, not refused"

# 10,000 more tag headers: 16 tags are kept, and the rest cost one log line.
mt_run outbound.lua SENDER=ann@$SENDER_DOMAIN RCPT=flood@good.example QID=4A1B2C40 FLOOD=10000
ok $? "outbound.lua: 10,000 X-Rebound-Tag headers"
is "$(grep -c '4A1B2C40: X-Rebound-Tag' "$MILTER_LOG")" 1 "they are logged in one line"
like "$(grep '4A1B2C40: X-Rebound-Tag' "$MILTER_LOG")" \
	"ignored: tag without .* \(9987 of 10002 headers\)$" "which counts the headers ignored"
wait_for 10 sql_is "SELECT count(*) FROM rebound.recipients WHERE address = 'flood@good.example'" 1
is "$(q "SELECT (SELECT count(*) FROM jsonb_object_keys(tags)) FROM rebound.messages
	WHERE queue_id = '4A1B2C40'")" 16 "and the message keeps 16 tags"

# A recipient in Latin-1, not UTF-8: PostgreSQL would refuse the raw bytes,
# so the milter repairs them and the record is stored, not dropped.
mt_run outbound.lua SENDER=ann@$SENDER_DOMAIN RCPT=$'caf\xe9@good.example' QID=4A1B2C3E
ok $? "outbound.lua: a recipient that is not UTF-8"
wait_for 10 sql_is "SELECT count(*) FROM rebound.recipients WHERE address = U&'caf\\FFFD@good.example'" 1
ok $? "its bytes are repaired to UTF-8 and the recipient stored"

mt_run untouched.lua SENDER=bob@other.example RCPT=rcpt2@good.example
ok $? "untouched.lua: no header edits for another sender domain"
ok "$(grep -c 'from=<bob@other.example>' "$MILTER_LOG")" "no return path for another sender domain"

# --- suppression -------------------------------------------------------------
mt_run suppressed.lua SENDER=ann@$SENDER_DOMAIN RCPT=Gone@Good.Example OTHER=fine@good.example \
	QID=5B2C3D4E
ok $? "suppressed.lua: suppressed recipient refused, the next one passes"
wait_for 10 events_at_least 1 "recipient = 'gone@good.example'"
is "$(q "SELECT kind, sync, source, rule, reason, status, reply_code, queue_id, diagnostic
	FROM rebound.events WHERE recipient = 'gone@good.example'")" \
	"rejected|t|milter|suppressed|suppressed|5.1.1|550|5B2C3D4E|<gone@good.example>: recipient suppressed (userunknown)" \
	"suppression refusal recorded as a sync milter event"

mt_run suppressed.lua SENDER=ann@$SENDER_DOMAIN RCPT=gone@good.example OTHER=held@good.example \
	QID=5B2C3D4F
ok $? "an address an incident holds is not refused"

q "SELECT rebound.suppress('late@good.example', 'manual')" >/dev/null
sleep 1
mt_run suppressed.lua SENDER=ann@$SENDER_DOMAIN RCPT=late@good.example OTHER=fine@good.example QID=X
ok $? "a suppression added while running applies at once (NOTIFY)"
q "SELECT rebound.unsuppress('late@good.example')" >/dev/null
# The milter must answer, and answer CONTINUE, for the very address that
# was refused a moment ago: a dead milter or a stale list both fail here.
# Within 3 seconds, well before the next full load (suppression_refresh =
# 10s): the NOTIFY must take it off the list, as it put it there.
unsuppressed() { MT_QUIET=1 mt_run rcpt.lua SENDER=ann@$SENDER_DOMAIN RCPT=late@good.example EXPECT=continue; }
wait_for 3 unsuppressed
ok $? "a removed suppression no longer refuses, at once (NOTIFY)"

# --- Postfix's own rejections (SMFIP_RCPT_REJ) -------------------------------
mt_run rcptrej.lua SENDER=ann@$SENDER_DOMAIN RCPT=NoSuch@good.example QID=6C3D4E5F
ok $? "rcptrej.lua: RCPT_REJ negotiated, rejected recipient continued"
wait_for 10 events_at_least 1 "recipient = 'nosuch@good.example'"
is "$(q "SELECT kind, sync, source, rule, reason, status, hard, queue_id, diagnostic
	FROM rebound.events WHERE recipient = 'nosuch@good.example'")" \
	"rejected|t|milter|postfix|userunknown|5.1.1|t|6C3D4E5F|Recipient address rejected: <NoSuch@good.example>: User unknown" \
	"Postfix rejection recorded with status and text"

# --- bounce domain -----------------------------------------------------------
valid=$("$T/bin/mint-token" "$T/etc/token.key" 5)
expired=$("$T/bin/mint-token" "$T/etc/token.key" -2)
head -c 32 /dev/urandom | base64 >"$T/etc/other.key"
chmod 600 "$T/etc/other.key"
forged=$("$T/bin/mint-token" "$T/etc/other.key" 5)
mt_run bounce.lua DOMAIN=$BOUNCE_DOMAIN VALID="$valid" EXPIRED="$expired" FORGED="$forged"
ok $? "bounce.lua: forged, expired, malformed refused; valid and classic VERP pass"
grep -q "reject to=<bounces+$forged@$BOUNCE_DOMAIN>: forged return path" "$MILTER_LOG" &&
	grep -q "reject to=<bounces+$expired@$BOUNCE_DOMAIN>: expired return path" "$MILTER_LOG"
ok $? "refusals logged with the verdict"

# --- SIGHUP reload -------------------------------------------------------------
milter_conf "sender_domains = $SENDER_DOMAIN, other.example"
kill -HUP "$MILTER_PID"
wait_for 10 milter_logged "configuration reloaded"
ok $? "SIGHUP reloads the configuration"
mt_run outbound.lua SENDER=carl@other.example RCPT=rcpt3@good.example QID=7D4E5F60
ok $? "the reloaded sender_domains apply"
kill -0 "$MILTER_PID"
ok $? "still running after SIGHUP"
reloads() { grep -c "configuration reloaded" "$MILTER_LOG"; }
reload() {	# reload - SIGHUP, and wait until the milter says it reloaded
	local before
	before=$(reloads)
	kill -HUP "$MILTER_PID"
	wait_for 10 eval '[ "$(reloads)" -gt "$before" ]'
}

# A configuration with an error is logged, and the old one kept.
printf 'milter_failure_action = maybe\n' >>"$T/etc/rebound.conf"
kill -HUP "$MILTER_PID"
wait_for 10 milter_logged 'reload failed, keeping the old configuration: .*milter_failure_action'
ok $? "SIGHUP with a broken configuration: the error is logged"
mt_run outbound.lua SENDER=carl@other.example RCPT=rcpt3b@good.example QID=7D4E5F61
ok $? "and the old configuration kept: other.example is still signed"

# A new key, another return_path_prefix and a shorter token_lifetime, read
# while a transaction that started before is still in progress.
cp -p "$T/etc/token.key" "$T/etc/old.key"
mt_run outbound.lua SENDER=carl@other.example RCPT=rcpt3c@good.example QID=7D4E5F62 PAUSE=3 &
inflight=$!
wait_for 10 milter_logged '7D4E5F62: '
head -c 32 /dev/urandom | base64 >"$T/etc/token.key"
milter_conf "return_path_prefix = rb" "token_lifetime = 2d"
reload
ok $? "SIGHUP with a new key, return_path_prefix and token_lifetime"
wait "$inflight"
ok $? "a transaction in progress finishes with the settings it started with (other.example signed)"
like "$(grep '7D4E5F62: from=' "$MILTER_LOG")" "return-path=<bounces\+[a-z2-7]{34}@" \
	"  under the old prefix"
mt_run outbound.lua SENDER=ann@$SENDER_DOMAIN RCPT=rcpt3d@good.example QID=7D4E5F63
ok $? "a new transaction is signed"
like "$(grep '7D4E5F63: from=' "$MILTER_LOG")" "return-path=<rb\+[a-z2-7]{34}@$BOUNCE_DOMAIN>" \
	"  with the new return_path_prefix"
# Signed for token_lifetime = 2d: rebound-pipe, with the same setting,
# takes it as valid; one signed for the old 30 days would claim a last
# day past today + 2 days + 1 and be expired.
signed=$(sed -nE 's/.*7D4E5F63: from=.* return-path=<rb\+([a-z2-7]{34})@.*/\1/p' "$MILTER_LOG")
pipe_run -q LIFE1 -r "rb+$signed@$BOUNCE_DOMAIN" <"$REPO/tests/data/postfix-rejected.eml" >/dev/null
like "$(grep ' LIFE1: ' "$MILTER_LOG")" "token=valid" \
	"  and its token lasts token_lifetime = 2d: rebound-pipe finds it valid"
mt_run untouched.lua SENDER=carl@other.example RCPT=rcpt3e@good.example
ok $? "  and the new sender_domains: other.example no longer signed"
new_valid=$("$T/bin/mint-token" "$T/etc/token.key" 1)
beyond=$("$T/bin/mint-token" "$T/etc/token.key" 5)
old_key=$("$T/bin/mint-token" "$T/etc/old.key" 1)
mt_run bounce.lua DOMAIN=$BOUNCE_DOMAIN PREFIX=rb VALID="$new_valid" EXPIRED="$beyond" FORGED="$old_key"
ok $? "bounce.lua: a token of the new key passes; the old key's and one past token_lifetime are refused"
grep -q "reject to=<rb+$old_key@$BOUNCE_DOMAIN>: forged return path" "$MILTER_LOG"
ok $? "  the old key's token is forged now"
grep -q "reject to=<rb+$beyond@$BOUNCE_DOMAIN>: expired return path" "$MILTER_LOG"
ok $? "  a token valid for 5 days is past token_lifetime = 2d (plus a day)"
cp -p "$T/etc/old.key" "$T/etc/token.key"
milter_conf
reload

# --- PostgreSQL down: spool, then replay ---------------------------------------
pg_stop
mt_run outbound.lua SENDER=dora@$SENDER_DOMAIN RCPT=rcpt4@good.example QID=8E5F6071
ok $? "mail flows while PostgreSQL is down"
wait_for 15 grep -qs 8E5F6071 "$MILTER_SPOOL"/*.spool
ok $? "the record went to the spool"
milter_stop
ok $? "milter stops cleanly on SIGTERM"
# Started with the database down, the milter has never loaded the list.
milter_conf "suppression_failure_action = tempfail"
milter_start
mt_run rcpt.lua SENDER=ann@$SENDER_DOMAIN RCPT=unknown@good.example EXPECT=refuse
ok $? "suppression_failure_action = tempfail: a recipient is refused while the list never loaded"
grep -q "defer to=<unknown@good.example>: suppression list not loaded" "$MILTER_LOG"
ok $? "  with a 4xx, logged"
sleep 1
replayed_after=$(date +%s.%N)
pg_resume
wait_for 20 sql_is "SELECT count(*) FROM rebound.messages WHERE queue_id = '8E5F6071'" 1
ok $? "spooled record stored after a restart with the database back"
is "$(q "SELECT created_at < to_timestamp($replayed_after) FROM rebound.messages
	WHERE queue_id = '8E5F6071'")" t "it keeps the time it was sent, not the time of the replay"
spool_empty() { [ -z "$(ls "$MILTER_SPOOL")" ]; }
wait_for 5 spool_empty
ok $? "spool emptied"
list_loaded() { MT_QUIET=1 mt_run rcpt.lua SENDER=ann@$SENDER_DOMAIN RCPT=unknown@good.example EXPECT=continue; }
wait_for 20 list_loaded
ok $? "once the list is loaded, the recipient passes"
milter_conf
reload

# --- neither the database nor the spool: milter_failure_action ----------------
# With PostgreSQL down and the spool not writable, a record cannot be kept.
# The milter answers only once a record is kept, so the message in flight
# passes unchanged (the default policy, accept) rather than signed with a
# token nobody recorded, and so do later ones.  Once the spool works again,
# signing resumes at once, without a restart and without waiting for the
# database.
pg_stop
chmod 500 "$MILTER_SPOOL"
mt_run untouched.lua SENDER=erin@$SENDER_DOMAIN RCPT=rcpt5@good.example QID=9A6B7C8D
ok $? "a message whose record can be neither stored nor spooled passes unchanged"
grep -q "spool write failed, 1 record lost" "$MILTER_LOG" &&
	grep -q "9A6B7C8D: cannot store or spool the message record; accepting unchanged" "$MILTER_LOG"
ok $? "the lost record and the policy are logged"
mt_run untouched.lua SENDER=erin@$SENDER_DOMAIN RCPT=rcpt6@good.example
ok $? "the next message passes unchanged (milter_failure_action = accept)"
grep -q "the spool is not writable; accepting unchanged" "$MILTER_LOG"
ok $? "and the policy is logged"
milter_conf "milter_failure_action = tempfail"
reload
mt_run tempfail.lua SENDER=erin@$SENDER_DOMAIN RCPT=rcpt6b@good.example QID=9A6B7C8F
ok $? "milter_failure_action = tempfail: the message is refused for now"
grep -q "the spool is not writable; tempfail" "$MILTER_LOG"
ok $? "  and the policy is logged"
milter_conf
reload
chmod 700 "$MILTER_SPOOL"
wait_for 15 milter_logged "spool writable again"
ok $? "the writer notices the spool is writable again"
mt_run outbound.lua SENDER=erin@$SENDER_DOMAIN RCPT=rcpt7@good.example QID=AB7C8D9E
ok $? "outbound.lua: the next message is signed again"
pg_resume
wait_for 20 sql_is "SELECT count(*) FROM rebound.messages WHERE queue_id = 'AB7C8D9E'" 1
ok $? "and its record reaches the database"
wait_for 20 milter_logged "suppression list available again"
ok $? "the suppression list's loader says when it has the database back"

# --- a writer held up: the reply waits, then the milter spools the record ------
# The end-of-message reply waits until the record is committed or synced to
# the spool, for milter_record_timeout at most.  A lock holds the writer's
# insert: the reply comes after the timeout, with the record in the spool,
# and the record is in the database exactly once when the lock goes.
# milter_queue_size = 1: with the writer held, the record after the one
# in the queue spills to the spool straight away, so that a slow database
# never holds up SMTP for longer than milter_record_timeout.
# The restart also takes syslog_facility and syslog_name, logged through a
# real socket (syslog_socket).
syslog_start
milter_stop
milter_conf "milter_record_timeout = 1s" "milter_queue_size = 1" "syslog_socket = $SYSLOG_SOCKET" \
	"syslog_facility = local5" "syslog_name = rb-milter-test"
milter_start
coproc LOCKER { exec psql -XqAt 2>&1; }
locker_pid=$LOCKER_PID
printf 'BEGIN;\nLOCK TABLE rebound.messages IN SHARE ROW EXCLUSIVE MODE;\nSELECT 1;\n' >&"${LOCKER[1]}"
read -r -t 10 line <&"${LOCKER[0]}"
is "$line" 1 "a session holds a lock on rebound.messages"
started=$(date +%s%3N)
mt_run outbound.lua SENDER=fay@$SENDER_DOMAIN RCPT=held@good.example QID=C0FFEE01
ok $? "outbound.lua: the message is signed while the writer is held"
waited=$(($(date +%s%3N) - started))
ok $((waited < 1000 || waited > 30000)) "the reply waited for the timeout, 1 s ($waited ms)"
grep -q "C0FFEE01: record not stored within 1s; spooling it" "$MILTER_LOG" &&
	grep -qs "C0FFEE01" "$MILTER_SPOOL"/*.spool
ok $? "the milter spooled the record itself before it answered"
mt_run outbound.lua SENDER=fay@$SENDER_DOMAIN RCPT=held@good.example QID=C0FFEE02
ok $? "a second message waits in the queue of one"
started=$(date +%s%3N)
mt_run outbound.lua SENDER=fay@$SENDER_DOMAIN RCPT=held@good.example QID=C0FFEE03
ok $? "a third is signed too"
waited=$(($(date +%s%3N) - started))
# Not a stopwatch, which a loaded machine can fail: a reply that waited
# for milter_record_timeout leaves its "record not stored" warning.
grep -qs "C0FFEE03" "$MILTER_SPOOL"/*.spool && ! grep -q "C0FFEE03: record not stored" "$MILTER_LOG"
ok $? "milter_queue_size = 1: the queue full, the record went to the spool at once, without waiting for the 1 s ($waited ms)"
# local5 is facility 21, warning is 4: priority 21 * 8 + 4 = 172.
like "$(grep 'C0FFEE01: record not stored' "$SYSLOG_LOG")" \
	'^<172>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} rb-milter-test\[[0-9]+\]: warning: C0FFEE01: record not stored within 1s; spooling it$' \
	"the milter's warning reached syslog: facility local5, level warning, named rb-milter-test"
printf 'COMMIT;\n' >&"${LOCKER[1]}"
exec {LOCKER[1]}>&-
wait "$locker_pid" 2>/dev/null
wait_for 20 sql_is "SELECT count(*) FROM rebound.messages WHERE queue_id = 'C0FFEE01'" 1
ok $? "once the lock goes, the record is stored"
wait_for 10 spool_empty
ok $? "and the spool is emptied"
wait_for 20 sql_is "SELECT count(*) FROM rebound.messages WHERE queue_id LIKE 'C0FFEE0_'" 3
is "$(q "SELECT count(*) FROM rebound.recipients WHERE address = 'held@good.example'")" 3 \
	"exactly once each, the three of them"
milter_conf

# --- a bounce that comes before its message's record ---------------------------
# The writer stores records a moment after the message is accepted, and a
# remote MX close by can reject it and Postfix bounce it sooner.  The bounce
# makes the message's row from its signed token; the record, here replayed
# from the spool, completes the row and links the event to its recipient.
pipe_run -q EARLY1 -r "bounces+$valid@$BOUNCE_DOMAIN" <"$REPO/tests/data/postfix-rejected.eml" >/dev/null
ok $? "a bounce whose message has no row yet is delivered"
is "$(q "SELECT m.token, m.envelope_sender IS NULL, e.recipient_id IS NULL
	FROM rebound.events e JOIN rebound.messages m ON m.id = e.message_id
	WHERE e.queue_id = 'EARLY1'")" "$valid|t|t" "its event is linked to a row made from the token"
milter_stop
printf 'M\t%s\tE4RLY\t<early@client.example>\tann@%s\t{"list":"early"}\tbob@bad.example\tcarol@good.example\n' \
	"$valid" "$SENDER_DOMAIN" >"$MILTER_SPOOL/0000000000000099.spool"
chown nobody "$MILTER_SPOOL/0000000000000099.spool"
milter_start
wait_for 20 sql_is "SELECT count(*) FROM rebound.messages WHERE queue_id = 'E4RLY'" 1
ok $? "the message's record comes later"
is "$(q "SELECT count(*), min(m.envelope_sender), min(m.tags->>'list'), min(rc.address)
	FROM rebound.events e JOIN rebound.messages m ON m.id = e.message_id
	JOIN rebound.recipients rc ON rc.id = e.recipient_id WHERE e.queue_id = 'EARLY1'")" \
	"1|ann@$SENDER_DOMAIN|early|bob@bad.example" \
	"it completes the row and links the event to its recipient"
is "$(q "SELECT count(*) FROM rebound.messages WHERE token = '$valid'")" 1 "one row for the message"
milter_stop
milter_clean_stderr

done_testing
