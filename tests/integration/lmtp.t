#!/bin/bash
# lmtp.t - rebound-pipe --lmtp, the LMTP server that Postfix's spawn(8)
# starts for each lmtp(8) connection: the protocol, one reply per
# recipient only after the commit, XFORWARD believed only from root or
# lmtp_postfix_user over a Unix-domain socket, a database outage inside a
# session, and the whole path through a real Postfix (lmtp(8) client,
# spawn(8) server), rows asserted in a private PostgreSQL.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
D="$REPO/tests/data"
need_tool python3

rb_init
# Under SANITIZE, reports cannot go to stderr (the client's socket here).
export ASAN_OPTIONS="log_path=$T/log/asan" UBSAN_OPTIONS="log_path=$T/log/ubsan:print_stacktrace=1"
pg_start
rb_write_conf
cp "$REPO/tests/tools/lmtp-session.py" "$T/bin/" && chmod 755 "$T/bin/lmtp-session.py"
cp "$D/remote-ndr.eml" "$D/postfix-rejected.eml" "$T/" && chmod 644 "$T"/*.eml
RP=bounces+dora=remote.example@$BOUNCE_DOMAIN

# session [--user USER] < SCRIPT - one LMTP connection; its replies in OUT.
# Without --user the peer is root, and rebound-pipe runs as nobody.
session() {
	if [ "${1:-}" = --user ]; then
		OUT=$("$T/bin/lmtp-session.py" --user "$2" -- "$T/bin/rebound-pipe" \
			-c "$T/etc/rebound.conf" --lmtp 2>&1)
	else
		OUT=$("$T/bin/lmtp-session.py" -- runuser -u nobody -- "$T/bin/rebound-pipe" \
			-c "$T/etc/rebound.conf" --lmtp 2>&1)
	fi
}

# --- the protocol, pipelined, as Postfix's lmtp(8) speaks it ---------------
# A host name longer than anything rebound keeps must not be refused.
longname=$(printf 'h%.0s' $(seq 1 300)).example
session <<EOS
LHLO mta.example.test
?1
XFORWARD NAME=$longname ADDR=192.0.2.7 IDENT=RMT0001 PROTO=ESMTP HELO=mx.remote.example
MAIL FROM:<> BODY=8BITMIME
RCPT TO:<$RP>
RCPT TO:<"bounces+erin=remote.example"@$BOUNCE_DOMAIN> NOTIFY=NEVER
DATA
?5
@$T/remote-ndr.eml
?2
QUIT
EOS
like "$OUT" "^220 [^ ]+ LMTP" "a 220 greeting"
like "$OUT" "250-XFORWARD NAME ADDR PROTO HELO SOURCE IDENT" "XFORWARD is offered to a root peer"
like "$OUT" "250-PIPELINING" "PIPELINING is offered"
like "$OUT" "354 End data" "DATA is accepted after two recipients"
is "$(grep -c '^250 2.0.0 Ok' <<<"$OUT")" 1 "XFORWARD with a 308-byte NAME is taken"
is "$(grep -c '^250 2.0.0 1 event recorded, 1 new' <<<"$OUT")" 2 "one 250 per recipient after the data"
like "$OUT" "221 2.0.0 Bye" "QUIT ends the session"
like "$OUT" "EXIT 0" "and the process exits 0"
is "$(q "SELECT count(*) FROM rebound.events WHERE queue_id = 'RMT0001' AND NOT sync
	AND recipient = 'dora@remote.example'")" 2 "stored once per return path, remote, with XFORWARD IDENT as queue id"
is "$(q "SELECT string_agg(bounce_address, ' ' ORDER BY bounce_address) FROM rebound.events
	WHERE queue_id = 'RMT0001'")" \
	"bounces+dora=remote.example@$BOUNCE_DOMAIN bounces+erin=remote.example@$BOUNCE_DOMAIN" \
	"the return paths as RCPT gave them, the quoted local part unquoted"
raw=$(q "SELECT encode(content, 'escape') FROM rebound.raw_messages
	WHERE queue_id = 'RMT0001' LIMIT 1")
is "$raw" "$(cat "$D/remote-ndr.eml")" "the raw copy is the message as pipe(8) would pass it: unstuffed, LF line ends"
like "$(tail -5 "$T/log/rebound.log")" "RMT0001: to=<bounces\+erin=remote.example@.*origin=remote, status=recorded" \
	"one log line per bounce and recipient, with the queue id and the origin"

# --- a report Postfix wrote itself, then the same connection kept ------------
session <<EOS
LHLO mta.example.test
XFORWARD SOURCE=LOCAL
MAIL FROM:<>
RCPT TO:<bounces+bob=bad.example@$BOUNCE_DOMAIN>
DATA
?5
@$T/postfix-rejected.eml
?1
XFORWARD ADDR=[UNAVAILABLE] SOURCE=LOCAL
MAIL FROM:<>
RCPT TO:<bounces+bob=bad.example@$BOUNCE_DOMAIN>
DATA
?4
@$T/postfix-rejected.eml
?1
QUIT
EOS
is "$(grep -c '^250 2.0.0 1 event recorded' <<<"$OUT")" 2 "two transactions on one connection"
like "$OUT" "250 2.0.0 1 event recorded, 0 new" "the second copy is a duplicate"
is "$(q "SELECT count(*) || ' ' || bool_and(sync) FROM rebound.events
	WHERE recipient = 'bob@bad.example'")" "1 true" \
	"XFORWARD without ADDR: written by our own Postfix, stored once, sync"
is "$(q "SELECT queue_id FROM rebound.events WHERE recipient = 'bob@bad.example'")" \
	47F6CA74BA3 "without IDENT the queue id is taken from Postfix's Received: line"

# --- a peer that is neither root nor lmtp_postfix_user -----------------------
sed "s/bob@bad.example/carl@bad.example/g; s/bob=bad/carl=bad/; s/47F6CA74BA3/47F6CA74BA4/g" \
	"$D/postfix-rejected.eml" >"$T/carl.eml" && chmod 644 "$T/carl.eml"
session --user daemon <<EOS
LHLO mta.example.test
XFORWARD SOURCE=LOCAL
?2
MAIL FROM:<>
RCPT TO:<bounces+carl=bad.example@$BOUNCE_DOMAIN>
DATA
?3
@$T/carl.eml
?1
QUIT
EOS
printf '%s' "$OUT" | grep -q "XFORWARD NAME"
ok $((1 - $?)) "XFORWARD is not offered to another user"
like "$OUT" "502 5.5.1 Error: XFORWARD is not offered here" "and refused"
is "$(q "SELECT count(*) || ' ' || bool_or(sync) FROM rebound.events
	WHERE recipient = 'carl@bad.example'")" "1 false" \
	"its report is stored, but never taken for one our Postfix wrote"
like "$(cat "$T/log/rebound.log")" "LMTP peer runs as uid [0-9]+, not as lmtp_postfix_user postfix" \
	"the distrust is logged"

# --- the database goes away inside a session, and comes back -----------------
sed "s/dora/fred/g" "$D/remote-ndr.eml" >"$T/fred.eml" && chmod 644 "$T/fred.eml"
session <<EOS
LHLO mta.example.test
?1
XFORWARD ADDR=192.0.2.8 IDENT=RMT0002
MAIL FROM:<>
RCPT TO:<bounces+fred=remote.example@$BOUNCE_DOMAIN>
DATA
?4
@$T/fred.eml
?1
!runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg/data" -m fast stop >/dev/null
XFORWARD ADDR=192.0.2.8 IDENT=RMT0003
MAIL FROM:<>
RCPT TO:<bounces+fred=remote.example@$BOUNCE_DOMAIN>
DATA
?4
@$T/fred.eml
?1
!runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg/data" -l "$T/log/postgres.log" -w -t 30 -o "-c listen_addresses='' -c unix_socket_directories='$T/pgsock' -c fsync=off" start >/dev/null
XFORWARD ADDR=192.0.2.8 IDENT=RMT0004
MAIL FROM:<>
RCPT TO:<bounces+fred=remote.example@$BOUNCE_DOMAIN>
DATA
?4
@$T/fred.eml
?1
QUIT
EOS
like "$OUT" "^451 4\.[0-9]\.[0-9] " "with PostgreSQL down the recipient gets 451 4.x.x"
is "$(grep -c '^250 2.0.0 1 event recorded' <<<"$OUT")" 2 "before and after, 250 on the same connection"
printf '%s' "$OUT" | grep -q FATAL
ok $((1 - $?)) "nothing but replies reaches the client (libpq's notices go nowhere)"
is "$(q "SELECT count(*) FROM rebound.events WHERE recipient = 'fred@remote.example'")" 1 \
	"stored once (the retry after the outage is the same report)"

# --- PostgreSQL restarts while a session is idle: no deferral -------------------
for who in gwen hal; do
	sed "s/dora/$who/g" "$D/remote-ndr.eml" >"$T/$who.eml" && chmod 644 "$T/$who.eml"
done
session <<EOS
LHLO mta.example.test
XFORWARD ADDR=192.0.2.9 IDENT=RMT0005
MAIL FROM:<>
RCPT TO:<bounces+gwen=remote.example@$BOUNCE_DOMAIN>
DATA
?5
@$T/gwen.eml
?1
!runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg/data" -m fast -w stop >/dev/null
!runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg/data" -l "$T/log/postgres.log" -w -t 30 -o "-c listen_addresses='' -c unix_socket_directories='$T/pgsock' -c fsync=off" start >/dev/null
XFORWARD ADDR=192.0.2.9 IDENT=RMT0006
MAIL FROM:<>
RCPT TO:<bounces+hal=remote.example@$BOUNCE_DOMAIN>
DATA
?4
@$T/hal.eml
?1
QUIT
EOS
is "$(grep -c '^250 2.0.0 1 event recorded, 1 new' <<<"$OUT")" 2 \
	"a connection PostgreSQL closed between two bounces is replaced, not deferred"
like "$(grep RMT0006 "$T/log/rebound.log")" "the database connection of the last bounce was lost" \
	"and that is logged"

# --- errors ---------------------------------------------------------------
long=$(printf 'x%.0s' $(seq 1 3000))
session <<EOS
MAIL FROM:<>
HELO mta.example.test
LHLO mta.example.test
DATA
RCPT TO:<$RP>
MAIL FROM:<>
MAIL FROM:<>
RCPT TO:bounces@$BOUNCE_DOMAIN
RCPT TO:<>
DATA
NOOP $long
RSET
RCPT TO:<$RP>
QUIT
EOS
like "$OUT" "503 5.5.1 Error: send LHLO first" "MAIL before LHLO"
like "$OUT" "500 5.5.1 Error: this is LMTP, send LHLO" "HELO is refused"
like "$OUT" "503 5.5.1 Error: need MAIL command" "DATA and RCPT before MAIL"
like "$OUT" "503 5.5.1 Error: nested MAIL command" "a second MAIL"
is "$(grep -c '^501 5.1.3 Bad recipient address syntax' <<<"$OUT")" 2 "a path without <> and an empty one"
like "$OUT" "554 5.5.1 Error: no valid recipients" "DATA without a recipient"
like "$OUT" "500 5.5.2 Error: line too long" "a 3,000-byte line"
like "$OUT" "EXIT 0" "the session still ends cleanly"
OUT=$(yes 'BOGUS' | head -25 | "$T/bin/lmtp-session.py" -- runuser -u nobody -- \
	"$T/bin/rebound-pipe" -c "$T/etc/rebound.conf" --lmtp)
like "$OUT" "421 4.7.0 Error: too many errors" "20 errors end the session"
is "$(grep -c '^500' <<<"$OUT")" 20 "after exactly 20"
printf 'bogus_key = 1\n' >"$T/etc/bad.conf" && chmod 644 "$T/etc/bad.conf"
OUT=$(echo QUIT | "$T/bin/lmtp-session.py" -- runuser -u nobody -- \
	"$T/bin/rebound-pipe" -c "$T/etc/bad.conf" --lmtp)
like "$OUT" "^421 4.3.5 rebound-pipe configuration error" "a bad configuration: 421 greeting"
like "$OUT" "EXIT 75" "and exit 75"
OUT=$(echo QUIT | "$T/bin/lmtp-session.py" -- "$T/bin/rebound-pipe" -c "$T/etc/rebound.conf" --lmtp)
like "$OUT" "^421 4.3.0 rebound-pipe refuses to run as root" "root is refused with a 421 greeting"

# --- through Postfix: lmtp(8) client, spawn(8) server --------------------------
POSTFIX_EXTRA="lmtp_send_xforward_command = yes" postfix_start
sed -i "s|^$BOUNCE_DOMAIN .*|$BOUNCE_DOMAIN lmtp:unix:private/rebound-lmtp|" "$T/etc/transport"
cat >>"$T/etc/master.cf" <<EOC
lmtp      unix  -       -       n       -       -       lmtp
rebound-lmtp unix -     n       n       -       10      spawn
  user=nobody argv=$T/bin/rebound-pipe -c $T/etc/rebound.conf --lmtp
EOC
postfix -c "$T/etc" reload >/dev/null 2>&1
sleep 1
send_verp "bounces@$BOUNCE_DOMAIN" gina@bad.example
sed "s/dora/hugo/g; s/ndr-77/ndr-78/" "$D/remote-ndr.eml" >"$T/hugo.eml"
swaks -s "127.0.0.1:$P_SMTP" --helo mx.remote.example --from '<>' \
	--to "bounces+hugo=remote.example@$BOUNCE_DOMAIN" --data "@$T/hugo.eml" --silent 2 >/dev/null 2>&1
ok $? "a remote NDR accepted over SMTP"
wait_for 30 events_at_least 1 "recipient = 'gina@bad.example'"
ok $? "Postfix's own DSN delivered over LMTP"
wait_for 30 events_at_least 1 "recipient = 'hugo@remote.example'"
ok $? "the remote NDR delivered over LMTP"
qid_gina=$(grep -o 'postfix/lmtp\[[0-9]*\]: [0-9A-F]*: to=<bounces+gina' "$T/log/maillog" | awk '{print $2}' | tr -d :)
qid_hugo=$(grep -o 'postfix/lmtp\[[0-9]*\]: [0-9A-F]*: to=<bounces+hugo' "$T/log/maillog" | awk '{print $2}' | tr -d :)
is "$(q "SELECT queue_id || ' ' || sync || ' ' || kind FROM rebound.events WHERE recipient = 'gina@bad.example'")" \
	"$qid_gina true rejected" "Postfix's DSN: its queue id, sync (no ADDR in XFORWARD)"
is "$(q "SELECT queue_id || ' ' || sync || ' ' || kind FROM rebound.events WHERE recipient = 'hugo@remote.example'")" \
	"$qid_hugo false bounced" "the remote NDR: its queue id, not sync (XFORWARD ADDR=127.0.0.1)"
like "$(grep "$qid_hugo: to=<bounces+hugo" "$T/log/maillog")" "relay=.*private/rebound-lmtp.*status=sent \(250 2.0.0 1 event recorded, 1 new\)" \
	"Postfix logs our 250 reply"

sanitizer=$(cat "$T"/log/asan.* "$T"/log/ubsan.* 2>/dev/null)
is "$sanitizer" "" "no sanitizer report from any rebound-pipe --lmtp"

done_testing
