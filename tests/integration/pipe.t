#!/bin/bash
# pipe.t - rebound-pipe against a real PostgreSQL: exit statuses, rows,
# deduplication, raw storage, caps, the root refusal and database outages.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
D="$REPO/tests/data"

rb_init
pg_start
rb_write_conf

# deliver QUEUE_ID RECIPIENT < message; sets OUT and RC.  The reports here
# reach rebound-pipe as Postfix's own DSNs do, with no SMTP client; set
# CLIENT for one that came from a remote MX.
deliver() {
	OUT=$(pipe_run -q "$1" -r "$2" --client-address="${CLIENT-}")
	RC=$?
}

# --- configuration check ---------------------------------------------------
pipe_run -n
ok $? "-n accepts a valid configuration"
printf 'database = x\nbogus_key = 1\n' >"$T/etc/bad.conf"
chmod 644 "$T/etc/bad.conf"
err=$(runuser -u nobody -- "$T/bin/rebound-pipe" -c "$T/etc/bad.conf" -n 2>&1)
is "$?" 78 "-n with an unknown key exits EX_CONFIG"
like "$err" "bad.conf, line 2: unknown parameter \"bogus_key\"" "error names file and line"

# --- --classify: a bad rule file, and output that cannot be written ----------
printf 'broken.rule   no-such-reason   /x/\n' >"$T/rules-site/broken.rules"
chmod 644 "$T/rules-site/broken.rules"
err=$(pipe_run --classify "$D/postfix-rejected.eml" 2>&1 >/dev/null)
is "$?" 78 "--classify with a bad rule file exits EX_CONFIG"
like "$err" "broken\.rules:1: .*no-such-reason" "naming the file, the line and what is wrong"
rm "$T/rules-site/broken.rules"
pipe_run --classify "$D/postfix-rejected.eml" >/dev/full 2>/dev/null
is "$?" 74 "--classify whose output cannot be written exits EX_IOERR"

# -n checks what a signed bounce will need, as the user master.cf runs
# rebound-pipe as: run as root, -u names that user.
pipe_check() {	# pipe_check KEY_FILE - -n with token_key_file = KEY_FILE, as root for nobody
	{ cat "$T/etc/rebound.conf"; echo "token_key_file = $1"; } >"$T/etc/key.conf"
	chmod 644 "$T/etc/key.conf"
	ERR=$("$T/bin/rebound-pipe" -c "$T/etc/key.conf" -u nobody -n 2>&1)
	RC=$?
}
head -c 32 /dev/urandom | base64 >"$T/etc/pipe.key"
chown nobody "$T/etc/pipe.key"
chmod 600 "$T/etc/pipe.key"
pipe_check "$T/etc/pipe.key"
is "$RC:$ERR" "0:" "-n -u nobody: a key the user can read, exit 0"
pipe_check "$T/etc/missing.key"
is "$RC:$ERR" "78:rebound-pipe: key file $T/etc/missing.key: No such file or directory" \
	"-n: a missing key, exit 78"
cp "$T/etc/pipe.key" "$T/etc/root.key"
chown root "$T/etc/root.key"
pipe_check "$T/etc/root.key"
is "$RC:$ERR" "78:rebound-pipe: key file $T/etc/root.key: Permission denied" \
	"-n as root: a key the user cannot read"
chmod 644 "$T/etc/root.key"
pipe_check "$T/etc/root.key"
is "$RC:$ERR" "78:rebound-pipe: key file $T/etc/root.key: mode 644 lets others read or write it; chmod o-rw it" \
	"-n: a world-readable key"
printf 'too short\n' >"$T/etc/short.key"
chown nobody "$T/etc/short.key"
chmod 600 "$T/etc/short.key"
pipe_check "$T/etc/short.key"
is "$RC:$ERR" "78:rebound-pipe: key file $T/etc/short.key: want 16 to 1024 octets of secret, found 9 (make one with: head -c 32 /dev/urandom | base64)" \
	"-n: a key too short"
err=$("$T/bin/rebound-pipe" -c "$T/etc/rebound.conf" -u root -n 2>&1)
is "$?:$err" "78:rebound-pipe: user root is root; pipe(8) and rebound-pipe refuse to deliver as root" \
	"-n -u root: refused"
err=$("$T/bin/rebound-pipe" -c "$T/etc/rebound.conf" -u no-such-user -n 2>&1)
is "$?:$err" "78:rebound-pipe: user no-such-user: no such user (the user= of master.cf; name it with -u)" \
	"-n -u: a user that does not exist"
: >"$T/log/root-only.log"
chmod 600 "$T/log/root-only.log"
{ cat "$T/etc/rebound.conf"; echo "log_file = $T/log/root-only.log"; } >"$T/etc/log.conf"
chmod 644 "$T/etc/log.conf"
err=$("$T/bin/rebound-pipe" -c "$T/etc/log.conf" -u nobody -n 2>&1)
like "$?:$err" "^78:rebound-pipe: log_file $T/log/root-only.log: Permission denied; make it writable" \
	"-n: a log file the user cannot write"
# Delivered all the same, and Postfix, which logs our output line, says why
# nothing reached the log file.
sed 's/dora/logf/g' "$D/remote-ndr.eml" >"$T/logf.eml"
out=$(runuser -u nobody -- "$T/bin/rebound-pipe" -c "$T/etc/log.conf" -q LOGF1 \
	-r "bounces+logf=remote.example@$BOUNCE_DOMAIN" <"$T/logf.eml")
is "$?:$out" "0:1 event recorded, 1 new; log_file: Permission denied" \
	"a log file it cannot open: delivered, and said in the line Postfix logs"

# --- syslog: syslog_facility and syslog_name, through a real socket -----------
syslog_start
rb_write_conf "syslog_socket = $SYSLOG_SOCKET" "syslog_facility = local3" "syslog_name = rb-pipe-test"
sed 's/dora/sysl/g' "$D/remote-ndr.eml" | pipe_run -q SYSL1 -r "bounces+sysl=remote.example@$BOUNCE_DOMAIN" \
	>/dev/null
ok $? "delivered with syslog_socket, syslog_facility and syslog_name set"
# local3 is facility 19, info is 6: priority 19 * 8 + 6 = 158.
wait_for 5 grep -q 'SYSL1: ' "$SYSLOG_LOG"
like "$(grep 'SYSL1: ' "$SYSLOG_LOG")" \
	'^<158>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} rb-pipe-test\[[0-9]+\]: SYSL1: to=<bounces\+sysl=remote\.example@.*status=recorded' \
	"one syslog record, facility local3, level info, named rb-pipe-test"
rb_write_conf

# --- root is refused, and the bounce deferred, not lost -------------------
out=$("$T/bin/rebound-pipe" -c "$T/etc/rebound.conf" -q ROOT1 -r x@y <"$D/postfix-rejected.eml")
is "$?" 75 "delivery as root exits EX_TEMPFAIL"
like "$out" "^4\.3\.0 .*root" "root refusal prints a 4.x.x line"
is "$(count "queue_id = 'ROOT1'")" 0 "nothing stored as root"

# --- a Postfix DSN for a remote 550 ---------------------------------------
deliver Q1 "bounces+bob=bad.example@bounce.example.test" <"$D/postfix-rejected.eml"
is "$RC" 0 "Postfix DSN delivered"
like "$OUT" "^1 event recorded, 1 new" "status line for pipe(8)"
row=$(q "SELECT kind, sync, recipient, status, reply_code, reason, category, hard, remote_mta,
	reporting_mta, orig_queue_id FROM rebound.events WHERE queue_id = 'Q1'")
is "$row" "rejected|t|bob@bad.example|5.1.1|550|userunknown|user_unknown|t|127.0.0.1|mta.example.test|3DF32A74B9F" \
	"one sync rejected event with status, reply code and MTAs"
like "$(q "SELECT diagnostic FROM rebound.events WHERE queue_id = 'Q1'")" \
	"^550 5\.1\.1 <bob@bad\.example>: Recipient address rejected: User unknown in virtual mailbox table$" \
	"diagnostic unfolded"
like "$(grep ' Q1: ' "$T/log/rebound.log")" \
	"Q1: to=<bounces\+bob=bad.example@bounce.example.test>, orig_queue_id=3DF32A74B9F, .*kind=rejected, dsn=5\.1\.1, reason=userunknown, .*status=recorded" \
	"one log line in Postfix style"

# --- the same bounce again adds nothing -----------------------------------
deliver Q1 "bounces+bob=bad.example@bounce.example.test" <"$D/postfix-rejected.eml"
is "$RC" 0 "duplicate delivery exits 0"
is "$OUT" "1 event recorded, 0 new" "status line on duplicate: nothing new"
is "$(count "recipient = 'bob@bad.example'")" 1 "duplicate adds no event"
# The same report again with a new Received line and queue id adds nothing.
{ echo "Received: from mx.relay.example by mta.example.test; Mon, 23 Nov 2026 10:00:00 +0000"
  cat "$D/postfix-rejected.eml"; } | OUT=$(pipe_run -q Q1B -r "bounces+bob=bad.example@bounce.example.test" \
	--client-address=)
is "$?:$OUT" "0:1 event recorded, 0 new" "retransmitted report delivered, nothing new"
is "$(count "recipient = 'bob@bad.example'")" 1 "retransmitted report adds no event"

# --- several recipients in one report ---------------------------------------
deliver Q2 "bounces@bounce.example.test" <"$D/postfix-multi.eml"
is "$RC" 0 "multi-recipient DSN delivered"
is "$(q "SELECT string_agg(recipient || ':' || reason, ',' ORDER BY recipient) FROM rebound.events WHERE queue_id = 'Q2'")" \
	"ann@bad.example:userunknown,ben@full.example:mailboxfull" "one event per recipient"
is "$(q "SELECT count(DISTINCT dedup_key) FROM rebound.events WHERE queue_id = 'Q2'")" 2 "distinct dedup keys"

# --- delay, expiry, remote NDR ------------------------------------------------
deliver Q3 "bounces+carol=slow.example@bounce.example.test" <"$D/postfix-delayed.eml"
is "$(q "SELECT kind || '|' || sync || '|' || status || '|' || hard FROM rebound.events WHERE queue_id = 'Q3'")" \
	"delayed|false|4.2.0|false" "Action: delayed is a delay, not a failure"
deliver Q4 "bounces+carol=slow.example@bounce.example.test" <"$D/postfix-expired.eml"
is "$(q "SELECT kind || '|' || reason || '|' || status FROM rebound.events WHERE queue_id = 'Q4'")" \
	"expired|expired|4.2.0" "failed with a 4.x.x status is an expiry"
CLIENT=192.0.2.25 deliver Q5 "bounces+dora=remote.example@bounce.example.test" <"$D/remote-ndr.eml"
is "$(q "SELECT kind || '|' || sync || '|' || reason || '|' || reporting_mta FROM rebound.events WHERE queue_id = 'Q5'")" \
	"bounced|false|mailboxfull|mx.remote.example" "a remote's NDR is an async bounce"

# --- linking to the outbound message ------------------------------------------
q "INSERT INTO rebound.messages (message_id_header, envelope_sender, tags)
   VALUES ('newsletter-7@client.example', 'news@client.example', '{\"campaign\": \"nov\"}');
   INSERT INTO rebound.recipients (message_id, address)
   SELECT id, 'bob@bad.example' FROM rebound.messages WHERE message_id_header = 'newsletter-7@client.example'" >/dev/null
sed -e 's/newsletter-1@client.example/newsletter-7@client.example/' \
    -e 's/47F6CA74BA3@/47F6CA74BA7@/' "$D/postfix-rejected.eml" |
	pipe_run -q Q6 -r "bounces+bob=bad.example@bounce.example.test" >/dev/null
is "$(q "SELECT m.tags->>'campaign' FROM rebound.events e JOIN rebound.messages m ON m.id = e.message_id
	JOIN rebound.recipients r ON r.id = e.recipient_id WHERE e.queue_id = 'Q6' AND r.address = e.recipient")" \
	"nov" "event linked to message and recipient by the returned Message-ID"

# --- every bounce is kept raw by default, for rebound reclassify ------------
is "$(q "SELECT count(*) FROM rebound.events e JOIN rebound.raw_messages r ON r.id = e.raw_message_id
	WHERE e.queue_id = 'Q1' AND r.local_origin AND r.parse_error IS NULL")" 1 \
	"a parsed bounce is kept raw by default, with how it came (from Postfix itself)"
is "$(q "SELECT count(*) FROM rebound.raw_messages r JOIN rebound.events e ON e.raw_message_id = r.id
	WHERE e.queue_id = 'Q5' AND NOT r.local_origin")" 1 "and a remote's NDR with it"
rb_write_conf "raw_messages = unparsed"
sed -e 's/47F6CA74BA3@/47F6CA74BA5@/' "$D/postfix-rejected.eml" |
	pipe_run -q Q5U -r "bounces+bob=bad.example@bounce.example.test" >/dev/null
is "$(q "SELECT count(*) FILTER (WHERE raw_message_id IS NULL) || '/' || count(*) FROM rebound.events
	WHERE queue_id = 'Q5U'")" "1/1" "raw_messages = unparsed keeps no copy of a parsed bounce"
rb_write_conf

# --- input that is not a report: stored raw, exit 0 --------------------------
deliver Q7 "bounces+eve=odd.example@bounce.example.test" < <(printf 'this is not mail\n\001\002 at all')
is "$RC" 0 "garbage on stdin exits 0"
is "$(q "SELECT e.kind || '|' || e.recipient || '|' || (r.content = convert_to('this is not mail' || E'\n\001\002 at all', 'SQL_ASCII'))
	FROM rebound.events e JOIN rebound.raw_messages r ON r.id = e.raw_message_id WHERE e.queue_id = 'Q7'")" \
	"unknown|eve@odd.example|true" "garbage stored raw as kind unknown, recipient from VERP"
deliver Q8 "bounces@bounce.example.test" < <(head -c 20000 /dev/urandom)
is "$RC" 0 "random bytes exit 0"
is "$(q "SELECT count(*) FROM rebound.events e JOIN rebound.raw_messages r ON r.id = e.raw_message_id
	WHERE e.queue_id = 'Q8' AND e.kind = 'unknown' AND r.size = 20000")" 1 "random bytes stored raw"
deliver Q9 "bounces@bounce.example.test" </dev/null
is "$RC" 0 "empty input exits 0"
is "$(count "queue_id = 'Q9' AND kind = 'unknown'")" 1 "empty input recorded"

# Invalid UTF-8 and control characters in a diagnostic reach the row valid.
sed -e 's/User unknown in virtual mailbox table/User \xff\xfe unknown \x1b[31m/' \
    -e 's/47F6CA74BA3@/47F6CA74BA9@/' "$D/postfix-rejected.eml" |
	pipe_run -q Q10 -r "bounces+bob=bad.example@bounce.example.test" >/dev/null
is "$?" 0 "invalid UTF-8 in a diagnostic is accepted"
like "$(q "SELECT diagnostic FROM rebound.events WHERE queue_id = 'Q10'")" "User .* unknown" "diagnostic stored as valid text"
line=$(grep ' Q10: ' "$T/log/rebound.log")
[ -n "$line" ] && ! printf '%s' "$line" | LC_ALL=C grep -q '[^[:print:]]'
ok $? "log line has only printable characters"

# --- caps: a large message is read to the end but only the cap is kept -----
rb_write_conf "max_message_size = 64k" "raw_message_limit = 4k"
{ cat "$D/postfix-multi.eml" | sed -e 's/AB13@/AB14@/' -e '$d'
  printf -- '--AB12.1/mta.example.test\nContent-Type: message/rfc822\n\nSubject: big\n\n'
  head -c 3000000 /dev/zero | tr '\0' 'x' | fold -w 76; } >"$T/big.eml"
deliver Q11 "bounces@bounce.example.test" <"$T/big.eml"
is "$RC" 0 "3 MB report with a 64 kB cap exits 0"
is "$(count "queue_id = 'Q11'")" 2 "report parsed from the first 64 kB"
head -c 3000000 /dev/urandom >"$T/big.bin"
deliver Q12 "bounces@bounce.example.test" <"$T/big.bin"
is "$RC" 0 "3 MB of garbage exits 0"
is "$(q "SELECT r.size || '|' || r.truncated || '|' || octet_length(r.content) FROM rebound.events e
	JOIN rebound.raw_messages r ON r.id = e.raw_message_id WHERE e.queue_id = 'Q12'")" \
	"3000000|true|4096" "raw copy capped, real size and truncation recorded"
rb_write_conf

# --- what the server says beside a result goes to the log ------------------
# pipe(8) reads stdout and stderr as one output, and takes the status from
# its start; a server WARNING (a trigger's, or a server shutting down
# before a failover) must not come first.
q "CREATE FUNCTION public.pipe_t_notice() RETURNS trigger LANGUAGE plpgsql AS
	\$\$BEGIN RAISE WARNING 'pipe.t warns'; RAISE EXCEPTION 'pipe.t refuses'; END\$\$;
	CREATE TRIGGER pipe_t_notice BEFORE INSERT ON rebound.events
	FOR EACH ROW EXECUTE FUNCTION public.pipe_t_notice()"
out=$(pipe_run -q Q12W -r "bounces+erin=bad.example@bounce.example.test" --client-address= \
	<"$D/postfix-rejected.eml" 2>&1)
is "$?" 75 "an insert the server refuses exits EX_TEMPFAIL"
# The error's CONTEXT may follow on the same line; nothing may precede it,
# and nothing may follow on another line.
status_line='^4\.3\.0 database query: ERROR:  pipe\.t refuses(; [^'$'\n'']*)?$'
[[ $out =~ $status_line ]]
alone=$?
ok $alone "pipe(8)'s output is the status line alone"
[ $alone -eq 0 ] || diag "output: $out"
like "$(grep ' database: WARNING: ' "$T/log/rebound.log")" "pipe\.t warns" \
	"the server's warning is in the log"
q "DROP TRIGGER pipe_t_notice ON rebound.events; DROP FUNCTION public.pipe_t_notice()"

# --- a database that does not answer in time: pipe_time_limit, db_statement_timeout
# A session holds an exclusive lock on the tables a delivery writes, so
# that its statements wait.  Each deadline must end the delivery with a
# deferral long before pipe(8)'s own limit would bounce it.
coproc LOCKER { exec psql -XqAt 2>&1; }
locker_pid=$LOCKER_PID
printf 'BEGIN;\nLOCK TABLE rebound.raw_messages, rebound.events IN ACCESS EXCLUSIVE MODE;\nSELECT 1;\n' \
	>&"${LOCKER[1]}"
read -r -t 10 line <&"${LOCKER[0]}"
is "$line" 1 "a session holds a lock on the tables a delivery writes"
held() {	# held QID LIMIT_SETTINGS... - a delivery while the lock is held; sets RC, OUT, MS
	local qid=$1 started
	shift
	rb_write_conf "$@"
	started=$(date +%s%3N)
	deliver "$qid" "bounces+dora=remote.example@bounce.example.test" <"$D/remote-ndr.eml"
	MS=$(($(date +%s%3N) - started))
}
held QT1 "pipe_time_limit = 2s"
is "$RC:$OUT" "75:4.3.0 rebound-pipe time limit exceeded" "pipe_time_limit: a delivery held up defers"
ok $((MS < 1900 || MS > 30000)) "after the limit, 2 s ($MS ms)"
held QT2 "db_statement_timeout = 1s"
is "$RC" 75 "db_statement_timeout: a statement held up defers"
like "$OUT" "^4\.[0-9]\.[0-9]+ .*statement timeout" "saying the statement timed out"
ok $((MS < 900 || MS > 30000)) "after the timeout, 1 s ($MS ms)"
printf 'COMMIT;\n' >&"${LOCKER[1]}"
exec {LOCKER[1]}>&-
wait "$locker_pid" 2>/dev/null
rb_write_conf
is "$(count "queue_id IN ('QT1', 'QT2')")" 0 "neither stored anything"

# --- the database is down: defer, keep nothing half-written ---------------
pg_stop
CLIENT=192.0.2.25 deliver Q13 "bounces+dora=remote.example@bounce.example.test" <"$D/remote-ndr.eml"
is "$RC" 75 "database down exits EX_TEMPFAIL"
like "$OUT" "^4\.3\.0 .*connect to database" "deferral reason for pipe(8)"
like "$(grep ' Q13: ' "$T/log/rebound.log" | tail -1)" "status=deferred" "deferral logged"
pg_resume
CLIENT=192.0.2.25 deliver Q13 "bounces+dora=remote.example@bounce.example.test" <"$D/remote-ndr.eml"
is "$RC" 0 "the retry succeeds once the database is back"

# A missing schema is transient too: the administrator fixes it, Postfix retries.
rb_write_conf "database = $DB_CONNINFO dbname=postgres"
deliver Q14 "bounces@bounce.example.test" <"$D/postfix-multi.eml"
is "$RC" 75 "missing schema exits EX_TEMPFAIL"
rb_write_conf

# --- schema: applying it again changes nothing ---------------------------------
psql -Xq -v ON_ERROR_STOP=1 -f "$REPO/sql/rebound.sql" >/dev/null 2>&1
ok $? "schema applies again without error"
want=$(ls "$REPO/sql/migrations" | sed -n 's/^0*\([0-9][0-9]*\)_.*\.sql$/\1/p' | sort -n | paste -sd,)
is "$(q "SELECT string_agg(version::text, ',' ORDER BY version) FROM rebound.schema_version")" "$want" \
	"each migration recorded once"

done_testing
