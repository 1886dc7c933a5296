#!/bin/bash
# bench-milter.sh - rebound-milter's cost, on the private harness (run by
# "make bench").  A benchmark, not a test: it checks nothing.
#
#   throughput   smtp-source -> Postfix -> smtp-sink, MESSAGES messages over
#                SESSIONS parallel sessions, until the queue is empty;
#                without any milter, then with rebound-milter in outbound
#                mode (smtpd_milters), same Postfix, same run, ROUNDS
#                times alternating; medians compared.  The milter is
#                reached over a unix socket, as contrib/postfix/main.cf
#                has it, and over TCP on 127.0.0.1.  Each has a floor:
#                tests/tools/null-milter on the same kind of socket, which
#                speaks the same protocol, does nothing, and changes every
#                envelope sender to a new return path as long as
#                rebound-milter's; the last lines set rebound-milter
#                against that floor.  Each run also shows the CPU time per
#                message of Postfix, the milter and PostgreSQL, which load
#                on the machine disturbs less than the wall clock; the
#                last line of this part is what rebound-milter adds per
#                message over the null milter (its own CPU and
#                PostgreSQL's, for the records it makes durable before it
#                answers end of message) as a share of Postfix's own CPU
#                per message (medians over the rounds, unix socket).
#                THROUGHPUT_ONLY=1 stops there.
#   RCPT         with 1,000,000 suppressed addresses loaded: p50/p99 of the
#                RCPT round trip (tests/milter-rcpt-latency.py) and the
#                milter's resident memory.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/milter.sh"
MESSAGES=${MESSAGES:-2000}
SESSIONS=${SESSIONS:-20}
RCPTS=${RCPTS:-20000}
ROUNDS=${ROUNDS:-3}

rb_init
milter_init
pg_start
# As contrib/postfix/main.cf has it: a unix socket in Postfix's queue
# directory.  A second rebound-milter, with its own spool, listens on TCP.
install -d -o nobody -g postfix -m 750 "$T/spool/rebound"
MILTER_SOCKET="unix:$T/spool/rebound/milter"
# token_header as by default (the tests turn it on).
milter_conf "token_header = no"
need_tool smtp-source
postfix_start

# cpu [PID] - CPU clock ticks used so far by Postfix, the milter process
# PID (0 if none) and PostgreSQL, each with all its processes
# (tests/cpu-ticks.py)
cpu() {
	python3 "$REPO/tests/cpu-ticks.py" "$(cat "$T/spool/pid/master.pid")" "${1:-0}" \
		"$(head -1 "$T/pg/data/postmaster.pid")"
}

# run_batch [PID] - seconds from the first connection to an empty queue,
# then the CPU milliseconds per message that Postfix, the milter process
# PID and PostgreSQL used in that time
run_batch() {
	local t0 t1 c0 c1
	c0=$(cpu "${1:-}")
	t0=$(date +%s.%N)
	smtp-source -4 -s "$SESSIONS" -m "$MESSAGES" -l 2000 -f "ann@$SENDER_DOMAIN" \
		-t alice@good.example "127.0.0.1:$P_SMTP" || rb_die "smtp-source failed"
	wait_for 300 queue_empty || rb_die "queue did not drain"
	t1=$(date +%s.%N)
	c1=$(cpu "${1:-}")
	python3 -c 'import os, sys
t0, t1, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
a, b = [int(x) for x in sys.argv[4].split()], [int(x) for x in sys.argv[5].split()]
hz = os.sysconf("SC_CLK_TCK")
print("%.3f" % (t1 - t0), *("%.3f" % ((y - x) * 1000 / hz / n) for x, y in zip(a, b)))' \
		"$t0" "$t1" "$MESSAGES" "$c0" "$c1"
}

# Postfix with and without the milter, ROUNDS times each, alternating, so
# that neither side always runs first (warm caches, a busy neighbour); the
# median of each side is compared.  The milters keep running throughout.
milters() {	# milters [SOCKET] - Postfix's smtpd_milters, then a reload
	postconf -c "$T/etc" -e "smtpd_milters = $*" "milter_default_action = tempfail"
	postfix -c "$T/etc" reload >/dev/null 2>&1
	sleep 2
}
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
rate() { echo "$MESSAGES / $1" | bc -l; }
milter_start
UNIX_PID=$MILTER_PID
sed -e "s|^milter_socket = .*|milter_socket = inet:$P_MILTER@127.0.0.1|" \
	-e "s|^milter_spool_directory = .*|milter_spool_directory = $T/milter-spool-tcp|" \
	-e "s|^milter_pid_file = .*|milter_pid_file = $T/run/rebound-milter-tcp.pid|" \
	"$T/etc/rebound.conf" >"$T/etc/rebound-tcp.conf"
"$T/bin/rebound-milter" -f -c "$T/etc/rebound-tcp.conf" 2>>"$T/log/milter.stderr" &
TCP_PID=$!
RB_PIDS="$RB_PIDS $TCP_PID"
need_tool "$REPO/tests/tools/null-milter"
RETURN_PATH="bounces+$(printf 'X%.0s' $(seq 34))@$BOUNCE_DOMAIN"
"$REPO/tests/tools/null-milter" "unix:$T/spool/rebound/null" "$RETURN_PATH" &
NULL_UNIX_PID=$!
RB_PIDS="$RB_PIDS $!"
"$REPO/tests/tools/null-milter" "inet:$P_SPARE@127.0.0.1" "$RETURN_PATH" &
NULL_TCP_PID=$!
RB_PIDS="$RB_PIDS $!"
wait_for 20 port_listening "$P_MILTER" || rb_die "rebound-milter (TCP) did not come up"
wait_for 20 port_listening "$P_SPARE" || rb_die "null-milter did not come up"
wait_for 20 test -S "$T/spool/rebound/null" || rb_die "null-milter did not come up"
chmod 666 "$T/spool/rebound/null"
# measure KEY [SOCKET PID] - one batch through the milter PID on SOCKET
# (none without); its seconds go to RUNS[KEY], a line with its rate and CPU
# to the output, and the signed messages of rebound-milter's batches to
# SIGNED.
declare -A RUNS CPU_POSTFIX CPU_ADDED LABEL=([plain]="without milter" [null_unix]="null milter, unix socket"
	[unix]="rebound-milter, unix socket" [null_tcp]="null milter, TCP"
	[tcp]="rebound-milter, TCP")
KEYS="plain null_unix unix null_tcp tcp"
SIGNED=
measure() {
	local secs postfix milter pg
	milters "${2:-}"
	rm -f "$T"/sink/*
	read -r secs postfix milter pg <<<"$(run_batch "${3:-}")"
	RUNS[$1]+="$secs"$'\n'
	CPU_POSTFIX[$1]+="$postfix"$'\n'
	CPU_ADDED[$1]+="$(echo "$milter + $pg" | bc -l)"$'\n'
	printf '  %-29s %4.0f msg/s; CPU ms/msg: Postfix %s' "${LABEL[$1]}" "$(rate "$secs")" "$postfix"
	[ -n "${3:-}" ] && printf ', milter %s' "$milter"
	case $1 in unix | tcp)
		printf ', PostgreSQL %s' "$pg"
		SIGNED="$SIGNED $(grep -l "bounces+" "$T"/sink/* 2>/dev/null | wc -l)" ;;
	esac
	echo
}
for r in $(seq "$ROUNDS"); do
	echo "round $r"
	measure plain
	measure null_unix "unix:rebound/null" "$NULL_UNIX_PID"
	measure unix "unix:rebound/milter" "$UNIX_PID"
	measure null_tcp "inet:127.0.0.1:$P_SPARE" "$NULL_TCP_PID"
	measure tcp "inet:127.0.0.1:$P_MILTER" "$TCP_PID"
done
plain=$(printf '%s' "${RUNS[plain]}" | median)
printf 'throughput messages %d sessions %d rounds %d (medians)\n' "$MESSAGES" "$SESSIONS" "$ROUNDS"
for k in $KEYS; do
	m=$(printf '%s' "${RUNS[$k]}" | median)
	printf '  %-29s %6.2f s  %4.0f msg/s  ratio with/without %.3f\n' "${LABEL[$k]}" "$m" \
		"$(rate "$m")" "$(echo "$plain / $m" | bc -l)"
done
# What rebound-milter itself costs: its throughput against the null
# milter's on the same kind of socket.  The null milter's own ratio is the
# price of the milter protocol (Postfix's client and libmilter), which no
# milter can go below.
for s in unix tcp; do
	printf '  rebound-milter against the null milter, %-4s   ratio %.3f\n' "$s" \
		"$(echo "$(printf '%s' "${RUNS[null_$s]}" | median) / $(printf '%s' "${RUNS[$s]}" | median)" | bc -l)"
done
printf '  messages with a signed return path, per batch:%s (of %d)\n' "$SIGNED" "$MESSAGES"
# What rebound-milter adds to the CPU per message over the null milter
# (milter and PostgreSQL), against what Postfix itself spends per message
# with the null milter.
med() { printf '%s' "$1" | median; }
for s in unix tcp; do
	added=$(echo "$(med "${CPU_ADDED[$s]}") - $(med "${CPU_ADDED[null_$s]}")" | bc -l)
	printf '  CPU rebound-milter adds, %-4s %.3f ms/msg over the null milter = %.1f%% of Postfix'"'"'s %.3f ms/msg\n' \
		"$s" "$added" "$(echo "100 * $added / $(med "${CPU_POSTFIX[null_$s]}")" | bc -l)" \
		"$(med "${CPU_POSTFIX[null_$s]}")"
done
kill "$TCP_PID" 2>/dev/null
wait "$TCP_PID" 2>/dev/null
[ "${THROUGHPUT_ONLY:-}" ] && exit 0

# --- RCPT latency with a million suppressed addresses --------------------
rss() { awk '/^VmRSS/ {print $2}' "/proc/$MILTER_PID/status"; }
rss_empty=$(rss)
milter_stop
# tests/milter-rcpt-latency.py speaks to a TCP port.
MILTER_SOCKET="inet:$P_MILTER@127.0.0.1"
milter_conf "token_header = no"
q "SET session_replication_role = replica;
   INSERT INTO rebound.suppressions (address, reason, source, basis)
   SELECT 'user' || g || '@example.net', 'userunknown', 'policy', 'manual'
     FROM generate_series(1, 1000000) g" >/dev/null || rb_die "bulk load failed"
t0=$(date +%s.%N)
milter_start
wait_for 120 milter_logged "suppression list loaded: 1000001 entries|suppression list loaded: 1000000 entries" ||
	rb_die "the list did not load"
t1=$(date +%s.%N)
printf 'suppression list  1000000 entries loaded in %.1f s\n' "$(echo "$t1 - $t0" | bc -l)"
/usr/bin/python3 "$REPO/tests/milter-rcpt-latency.py" 127.0.0.1 "$P_MILTER" "$RCPTS"
printf 'milter RSS  %d KiB with 1M suppressed addresses (%d KiB before, small list)\n' "$(rss)" "$rss_empty"
milter_stop
