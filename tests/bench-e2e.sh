#!/bin/bash
# bench-e2e.sh - bounces end to end, Postfix to PostgreSQL, against the
# floor of a trivial pipe(8) transport (run by "make bench").  A benchmark,
# not a test: it checks nothing but that every bounce arrived.
#
#   E2E_N=500 E2E_ROUNDS=3 E2E_SESSIONS=4 tests/bench-e2e.sh
#
# One private Postfix and PostgreSQL (tests/lib/harness.sh).  Two pipe(8)
# transports with the same settings (user nobody, one recipient per
# delivery, at most 10 at a time, as contrib/postfix/master.cf has it):
#
#   rebound    rebound-pipe into PostgreSQL, for bounce.example.test
#   null       tests/tools/bench-null, which reads the message and exits 0,
#              for null.example.test
#
# and two LMTP destinations of Postfix's lmtp(8) client, with Postfix's
# default connection caching:
#
#   rebound-lmtp  rebound-pipe --lmtp into PostgreSQL, started by spawn(8)
#                 (at most 10 at a time), for lmtp.example.test, as
#                 contrib/postfix/master.cf has it
#   null-lmtp     smtp-sink -L on a Unix socket, which accepts and forgets,
#                 for nulllmtp.example.test
#
# Each round sends E2E_N generated DSNs (multipart/report, one recipient,
# each a new report) over E2E_SESSIONS SMTP sessions to each destination
# in turn, each built the same way; the order turns every round.  A round's time runs from the first connection to the last
# delivery in the mail log.  Printed: the median throughput of each side,
# their ratio, and the CPU milliseconds per bounce of Postfix (without the
# transport programs), the transport program and PostgreSQL, each the
# median over the rounds, taken from /proc (tests/cpu-ticks.py), which load
# on the machine disturbs less than the wall clock.
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/harness.sh"
N=${E2E_N:-500}
ROUNDS=${E2E_ROUNDS:-3}
SESSIONS=${E2E_SESSIONS:-4}
NULL_DOMAIN=null.example.test
LMTP_DOMAIN=lmtp.example.test
NULL_LMTP_DOMAIN=nulllmtp.example.test

rb_init
pg_start
rb_write_conf
need_tool "$REPO/tests/tools/bench-null"
cp "$REPO/tests/tools/bench-null" "$T/bin/" && chmod 755 "$T/bin/bench-null"
# Neither transport's pipe(8) processes may exit during a run: the CPU of
# the programs they ran is read from them (tests/cpu-ticks.py --split).
POSTFIX_EXTRA="max_idle = 3600s
max_use = 1000000
null_destination_recipient_limit = 1
null_time_limit = 120s
rebound-lmtp_destination_concurrency_limit = 10
null-lmtp_destination_concurrency_limit = 10
${E2E_POSTFIX_EXTRA:-}" postfix_start
postconf -c "$T/etc" -e "relay_domains = $BOUNCE_DOMAIN $NULL_DOMAIN $LMTP_DOMAIN $NULL_LMTP_DOMAIN"
cat >>"$T/etc/transport" <<EOC
$NULL_DOMAIN   null:
$LMTP_DOMAIN   rebound-lmtp:unix:private/rebound-lmtp-server
$NULL_LMTP_DOMAIN   null-lmtp:unix:private/null-lmtp-server
EOC
cat >>"$T/etc/master.cf" <<EOC
null      unix  -       n       n       -       10      pipe
  user=nobody argv=$T/bin/bench-null -q \${queue_id} -r \${recipient}
rebound-lmtp unix -     -       n       -       -       lmtp
  -o lmtp_send_xforward_command=yes ${E2E_LMTP_OPTS:-}
null-lmtp unix  -       -       n       -       -       lmtp
  -o lmtp_send_xforward_command=yes ${E2E_LMTP_OPTS:-}
rebound-lmtp-server unix - n    n       -       10      spawn
  user=nobody argv=$T/bin/rebound-pipe -c $T/etc/rebound.conf --lmtp
EOC
# smtp-sink binds as root in Postfix's private directory, then serves as nobody.
smtp-sink -L -u nobody -h null-lmtp.example "unix:$T/spool/private/null-lmtp-server" 64 &
SINK_PID=$!
RB_PIDS="$RB_PIDS $SINK_PID"
postfix -c "$T/etc" reload >/dev/null 2>&1 || rb_die "postfix reload failed"
sleep 2

# cpu - clock ticks so far of Postfix, PostgreSQL, smtp-sink, and the
# programs pipe(8) and spawn(8) ran
cpu() {
	python3 "$REPO/tests/cpu-ticks.py" --split pipe,spawn "$(cat "$T/spool/pid/master.pid")" \
		"$(head -1 "$T/pg/data/postmaster.pid")" "$SINK_PID"
}
# delivered TRANSPORT - deliveries through it so far, from the mail log
delivered() {	# TRANSPORT: a pipe(8) service, or the socket of an LMTP server
	grep -Ec "relay=($1|[^ ]*\[private/$1\]), .*status=sent" "$T/log/maillog"
}
all_delivered() {
	[ "$(delivered "$1")" -ge "$2" ]
}

# send ROUND DOMAIN - E2E_N distinct DSNs over SESSIONS sessions; the local
# part of each envelope recipient is rebound's VERP form, the domain picks
# the transport.  The DSNs of the two sides differ only in their numbers.
send() {
	python3 - "$P_SMTP" "$N" "$SESSIONS" "$1" "$2" <<'EOP'
import smtplib, sys, threading
port, n, sessions, rnd, domain = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def dsn(i):
    tag = f"{rnd}-{domain.split('.')[0]}-{i}"
    return ("From: Mail Delivery System <MAILER-DAEMON@mx.bench.example>\r\n"
            f"To: bounces+r{i}=bench.example@{domain}\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\n"
            f"Message-Id: <bench-{tag}@mx.bench.example>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
            " boundary=\"B\"\r\n\r\n"
            "--B\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.bench.example\r\n\r\n"
            f"Final-Recipient: rfc822; r{tag}@bench.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            f"Diagnostic-Code: smtp; 550 5.1.1 <r{tag}@bench.example>: user unknown\r\n\r\n"
            "--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: ann@example.com\r\n"
            f"To: r{tag}@bench.example\r\nSubject: hello\r\n\r\n--B--\r\n").encode()
def worker(k):
    s = smtplib.SMTP("127.0.0.1", int(port))
    s.ehlo("mx.bench.example")
    for i in range(k, n, sessions):
        s.sendmail("", [f"bounces+r{i}=bench.example@{domain}"], dsn(i))
    s.quit()
threads = [threading.Thread(target=worker, args=(k,)) for k in range(sessions)]
for t in threads:
    t.start()
for t in threads:
    t.join()
EOP
}

# measure ROUND KEY TRANSPORT DOMAIN - one round's batch; a line of its
# figures to the output and to $T/log/KEY: seconds, then CPU ms per bounce
# of Postfix, the transport's program and PostgreSQL
measure() {
	local before t0 t1 c0 c1 line
	before=$(delivered "$3")
	c0=$(cpu)
	t0=$(date +%s.%N)
	send "$1" "$4" || rb_die "sending failed"
	wait_for 600 all_delivered "$3" $((before + N)) || rb_die "$3: the bounces were not all delivered"
	t1=$(date +%s.%N)
	c1=$(cpu)
	line=$(python3 -c 'import os, sys
t0, t1, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
(p0, g0, s0, x0), (p1, g1, s1, x1) = ([int(x) for x in a.split()] for a in sys.argv[4:6])
ms = 1000 / os.sysconf("SC_CLK_TCK") / n
print("%.3f %.3f %.3f %.3f" % (t1 - t0, ((p1 - x1) - (p0 - x0)) * ms,
                               ((x1 - x0) + (s1 - s0)) * ms, (g1 - g0) * ms))' \
		"$t0" "$t1" "$N" "$c0" "$c1")
	echo "$line" >>"$T/log/$2"
	read -r secs postfix prog pg <<<"$line"
	printf '  %-22s %6.1f bounces/s; CPU ms/bounce: Postfix %s, %s %s, PostgreSQL %s\n' \
		"$2" "$(echo "$N / $secs" | bc -l)" "$postfix" "$2" "$prog" "$pg"
}

diag "bench-e2e: $ROUNDS rounds of $N bounces each way, $SESSIONS SMTP sessions; load $(cut -d' ' -f1-3 /proc/loadavg)"
SIDES="null:null:$NULL_DOMAIN rebound-pipe:rebound:$BOUNCE_DOMAIN
null-lmtp:null-lmtp-server:$NULL_LMTP_DOMAIN rebound-lmtp:rebound-lmtp-server:$LMTP_DOMAIN"
for r in $(seq "$ROUNDS"); do
	echo "round $r"
	# Each round starts one side later than the last.
	order=$( (echo "$SIDES" | tr ' ' '\n'; echo "$SIDES" | tr ' ' '\n') |
		sed -n "$(( (r - 1) % 4 + 1 )),+3p")
	for side in $order; do
		IFS=: read -r key transport domain <<<"$side"
		measure "$r" "$key" "$transport" "$domain"
	done
done
stored=$(q "SELECT count(*) FROM rebound.events WHERE recipient LIKE 'r%@bench.example'")
[ "$stored" = $((2 * N * ROUNDS)) ] || rb_die "$stored events stored, not $((2 * N * ROUNDS))"
grep -q 'status=bounced' "$T/log/maillog" && rb_die "a bounce bounced"

# col KEY N - the median of column N of KEY's lines
col() {
	awk -v c="$2" '{ print $c }' "$T/log/$1" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
printf 'end to end: %d rounds of %d bounces, %d SMTP sessions, medians (load %s)\n' \
	"$ROUNDS" "$N" "$SESSIONS" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-22s %9s %12s %12s %12s\n' "" "bounces/s" "Postfix" "program" "PostgreSQL"
for k in null rebound-pipe null-lmtp rebound-lmtp; do
	printf '  %-22s %9.1f %9s ms %9s ms %9s ms\n' "$k" "$(echo "$N / $(col "$k" 1)" | bc -l)" \
		"$(col "$k" 2)" "$(col "$k" 3)" "$(col "$k" 4)"
done
printf '  rebound-pipe against the trivial pipe: throughput ratio %.2f\n' \
	"$(echo "$(col null 1) / $(col rebound-pipe 1)" | bc -l)"
printf '  rebound-lmtp against the trivial pipe: throughput ratio %.2f\n' \
	"$(echo "$(col null 1) / $(col rebound-lmtp 1)" | bc -l)"
printf '  rebound-lmtp against the trivial LMTP server: throughput ratio %.2f\n' \
	"$(echo "$(col null-lmtp 1) / $(col rebound-lmtp 1)" | bc -l)"
printf '  rebound-pipe --lmtp processes (LMTP sessions): %s for %s bounces\n' \
	"$(grep -o "rebound-pipe\[[0-9]*\]: [^ ]*: to=<bounces+r[0-9]*=bench.example@$LMTP_DOMAIN>" \
		"$T/log/rebound.log" | cut -d: -f1 | sort -u | wc -l)" "$((N * ROUNDS))"
