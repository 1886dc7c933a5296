#!/bin/bash
# bench-milter.sh - rebound-milter's cost, on the private harness (run by
# "make bench").  A benchmark, not a test: it checks nothing.
#
#   throughput   smtp-source -> Postfix -> smtp-sink, MESSAGES messages over
#                SESSIONS parallel sessions, until the queue is empty;
#                without any milter, then with rebound-milter in outbound
#                mode (smtpd_milters), same Postfix, same run.
#   RCPT         with 1,000,000 suppressed addresses loaded: p50/p99 of the
#                RCPT round trip (tests/milter-rcpt-latency.py) and the
#                milter's resident memory.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/milter.sh"
MESSAGES=${MESSAGES:-2000}
SESSIONS=${SESSIONS:-20}
RCPTS=${RCPTS:-20000}

rb_init
milter_init
pg_start
milter_conf
need_tool smtp-source
postfix_start

# run_batch - seconds from the first connection to an empty queue
run_batch() {
	local t0 t1
	t0=$(date +%s.%N)
	smtp-source -4 -s "$SESSIONS" -m "$MESSAGES" -l 2000 -f "ann@$SENDER_DOMAIN" \
		-t alice@good.example "127.0.0.1:$P_SMTP" || rb_die "smtp-source failed"
	wait_for 300 queue_empty || rb_die "queue did not drain"
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

rm -f "$T"/sink/*
plain=$(run_batch)
milter_start
postconf -c "$T/etc" -e "smtpd_milters = inet:127.0.0.1:$P_MILTER" "milter_default_action = tempfail"
postfix -c "$T/etc" reload >/dev/null 2>&1
sleep 2
rm -f "$T"/sink/*
with=$(run_batch)
signed=$(grep -l "bounces+" "$T"/sink/* 2>/dev/null | wc -l)
printf 'throughput messages %d sessions %d\n' "$MESSAGES" "$SESSIONS"
printf '  without milter  %.2f s  %.0f msg/s\n' "$plain" "$(echo "$MESSAGES / $plain" | bc -l)"
printf '  with milter     %.2f s  %.0f msg/s  (%d of %d delivered with a signed return path)\n' \
	"$with" "$(echo "$MESSAGES / $with" | bc -l)" "$signed" "$MESSAGES"
printf '  ratio with/without  %.3f\n' "$(echo "$plain / $with" | bc -l)"

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
