#!/bin/bash
# bench-milter.sh - rebound-milter's cost, on the private harness (run by
# "make bench").  A benchmark, not a test: it checks nothing.
#
#   throughput   smtp-source -> Postfix -> smtp-sink, MESSAGES messages over
#                SESSIONS parallel sessions, until the queue is empty;
#                without any milter, then with rebound-milter in outbound
#                mode (smtpd_milters), same Postfix, same run, ROUNDS
#                times alternating; medians compared.  Two more batches go
#                through tests/tools/null-milter, which speaks the same
#                protocol and does nothing (the floor for any milter), and
#                which changes only the envelope sender (the floor for a
#                milter that rewrites the return path).  Each run also shows
#                the CPU time per message of Postfix, the milter and
#                PostgreSQL, which load on the machine disturbs less than
#                the wall clock.  THROUGHPUT_ONLY=1 stops there.
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
# median of each side is compared.  The milter keeps running throughout.
milters() {	# milters [SOCKET] - Postfix's smtpd_milters, then a reload
	postconf -c "$T/etc" -e "smtpd_milters = $*" "milter_default_action = tempfail"
	postfix -c "$T/etc" reload >/dev/null 2>&1
	sleep 2
}
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
rate() { echo "$MESSAGES / $1" | bc -l; }
milter_start
need_tool "$REPO/tests/tools/null-milter"
P_NULL=$P_SPARE P_NULLFROM=$P_EXTRA
"$REPO/tests/tools/null-milter" "inet:$P_NULL@127.0.0.1" &
NULL_PID=$!
RB_PIDS="$RB_PIDS $!"
# The same, and it changes the envelope sender to a return path as long as
# rebound-milter's.
"$REPO/tests/tools/null-milter" "inet:$P_NULLFROM@127.0.0.1" \
	"bounces+$(printf 'a%.0s' $(seq 34))@$BOUNCE_DOMAIN" &
NULLFROM_PID=$!
RB_PIDS="$RB_PIDS $!"
wait_for 20 port_listening "$P_NULL" || rb_die "null-milter did not come up"
wait_for 20 port_listening "$P_NULLFROM" || rb_die "null-milter did not come up"
plain_runs= with_runs= null_runs= nullfrom_runs= signed=0
for r in $(seq "$ROUNDS"); do
	milters
	rm -f "$T"/sink/*
	read -r p pp _ pg <<<"$(run_batch)"
	milters "inet:127.0.0.1:$P_NULL"
	read -r n np nm _ <<<"$(run_batch "$NULL_PID")"
	milters "inet:127.0.0.1:$P_NULLFROM"
	read -r f fp fm _ <<<"$(run_batch "$NULLFROM_PID")"
	milters "inet:127.0.0.1:$P_MILTER"
	rm -f "$T"/sink/*
	read -r w wp wm wg <<<"$(run_batch "$MILTER_PID")"
	signed=$(grep -l "bounces+" "$T"/sink/* 2>/dev/null | wc -l)
	printf 'round %d: msg/s without %.0f, null milter %.0f, null milter changing the sender %.0f,' \
		"$r" "$(rate "$p")" "$(rate "$n")" "$(rate "$f")"
	printf ' rebound-milter %.0f (%d of %d signed)\n' "$(rate "$w")" "$signed" "$MESSAGES"
	printf '  CPU ms/msg: without: Postfix %s; null milter: Postfix %s, milter %s;' "$pp" "$np" "$nm"
	printf ' changing the sender: Postfix %s, milter %s;' "$fp" "$fm"
	printf ' rebound-milter: Postfix %s, milter %s, PostgreSQL %s\n' "$wp" "$wm" "$wg"
	plain_runs+="$p"$'\n' with_runs+="$w"$'\n' null_runs+="$n"$'\n' nullfrom_runs+="$f"$'\n'
done
plain=$(printf '%s' "$plain_runs" | median)
with=$(printf '%s' "$with_runs" | median)
null=$(printf '%s' "$null_runs" | median)
nullfrom=$(printf '%s' "$nullfrom_runs" | median)
printf 'throughput messages %d sessions %d rounds %d (medians)\n' "$MESSAGES" "$SESSIONS" "$ROUNDS"
printf '  without milter  %.2f s  %.0f msg/s\n' "$plain" "$(rate "$plain")"
printf '  null milter     %.2f s  %.0f msg/s  (ratio %.3f: what any milter costs)\n' "$null" \
	"$(rate "$null")" "$(echo "$plain / $null" | bc -l)"
printf '  null milter changing the sender  %.2f s  %.0f msg/s  (ratio %.3f)\n' "$nullfrom" \
	"$(rate "$nullfrom")" "$(echo "$plain / $nullfrom" | bc -l)"
printf '  with milter     %.2f s  %.0f msg/s\n' "$with" "$(rate "$with")"
printf '  ratio with/without  %.3f\n' "$(echo "$plain / $with" | bc -l)"
[ "${THROUGHPUT_ONLY:-}" ] && exit 0

# --- RCPT latency with a million suppressed addresses --------------------
rss() { awk '/^VmRSS/ {print $2}' "/proc/$MILTER_PID/status"; }
rss_empty=$(rss)
milter_stop
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
