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
# Each round sends E2E_N generated DSNs (multipart/report, one recipient,
# each a new report) over E2E_SESSIONS SMTP sessions to one transport, then
# the same number, built the same way, to the other; which goes first
# alternates.  A round's time runs from the first connection to the last
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
null_time_limit = 120s" postfix_start
postconf -c "$T/etc" -e "relay_domains = $BOUNCE_DOMAIN $NULL_DOMAIN"
echo "$NULL_DOMAIN   null:" >>"$T/etc/transport"
cat >>"$T/etc/master.cf" <<EOC
null      unix  -       n       n       -       10      pipe
  user=nobody argv=$T/bin/bench-null -q \${queue_id} -r \${recipient}
EOC
postfix -c "$T/etc" reload >/dev/null 2>&1 || rb_die "postfix reload failed"
sleep 2

# cpu - clock ticks so far of Postfix, PostgreSQL and the programs pipe(8) ran
cpu() {
	python3 "$REPO/tests/cpu-ticks.py" --split pipe "$(cat "$T/spool/pid/master.pid")" \
		"$(head -1 "$T/pg/data/postmaster.pid")"
}
# delivered TRANSPORT - deliveries through it so far, from the mail log
delivered() {
	grep -c "relay=$1, .*status=sent" "$T/log/maillog"
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
(p0, g0, x0), (p1, g1, x1) = ([int(x) for x in a.split()] for a in sys.argv[4:6])
ms = 1000 / os.sysconf("SC_CLK_TCK") / n
print("%.3f %.3f %.3f %.3f" % (t1 - t0, ((p1 - x1) - (p0 - x0)) * ms, (x1 - x0) * ms, (g1 - g0) * ms))' \
		"$t0" "$t1" "$N" "$c0" "$c1")
	echo "$line" >>"$T/log/$2"
	read -r secs postfix prog pg <<<"$line"
	printf '  %-22s %6.1f bounces/s; CPU ms/bounce: Postfix %s, %s %s, PostgreSQL %s\n' \
		"$2" "$(echo "$N / $secs" | bc -l)" "$postfix" "$2" "$prog" "$pg"
}

diag "bench-e2e: $ROUNDS rounds of $N bounces each way, $SESSIONS SMTP sessions; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
	echo "round $r"
	if [ $((r % 2)) = 1 ]; then
		measure "$r" null null "$NULL_DOMAIN"
		measure "$r" rebound-pipe rebound "$BOUNCE_DOMAIN"
	else
		measure "$r" rebound-pipe rebound "$BOUNCE_DOMAIN"
		measure "$r" null null "$NULL_DOMAIN"
	fi
done
stored=$(q "SELECT count(*) FROM rebound.events WHERE recipient LIKE 'r%@bench.example'")
[ "$stored" = $((N * ROUNDS)) ] || rb_die "$stored events stored, not $((N * ROUNDS))"
grep -q 'status=bounced' "$T/log/maillog" && rb_die "a bounce bounced"

# col KEY N - the median of column N of KEY's lines
col() {
	awk -v c="$2" '{ print $c }' "$T/log/$1" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
printf 'end to end: %d rounds of %d bounces, %d SMTP sessions, medians (load %s)\n' \
	"$ROUNDS" "$N" "$SESSIONS" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-22s %9s %12s %12s %12s\n' "" "bounces/s" "Postfix" "program" "PostgreSQL"
for k in null rebound-pipe; do
	printf '  %-22s %9.1f %9s ms %9s ms %9s ms\n' "$k" "$(echo "$N / $(col "$k" 1)" | bc -l)" \
		"$(col "$k" 2)" "$(col "$k" 3)" "$(col "$k" 4)"
done
printf '  rebound-pipe against the trivial pipe: throughput ratio %.2f\n' \
	"$(echo "$(col null 1) / $(col rebound-pipe 1)" | bc -l)"
