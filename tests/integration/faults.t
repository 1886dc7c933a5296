#!/bin/bash
# faults.t - fault injection in rebound-pipe: every allocation (xalloc) and
# every libpq call that can fail, in the delivery of one bounce, is made to
# fail in turn (tests/fault/rebound-pipe-fault, REBOUND_FAULT=alloc:N or
# pq:N; see common/util/fault.h).  Each time rebound-pipe must exit 75
# (EX_TEMPFAIL) with a 4.x.x line on stdout, as pipe(8) expects, and leave
# nothing half-written: the report's raw copy and its two events are all
# there or none is.  Then a normal retry stores the report exactly once.
#
# A crash is a signal, which pipe(8) reports as a deferral (4.3.0,
# "Command died with signal 6"), so Postfix keeps the bounce; the last test
# checks that a rebound-pipe killed by SIGABRT in the middle of its
# transaction stored nothing either.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
D="$REPO/tests/data"
FAULT="$REPO/tests/fault/rebound-pipe-fault"
[ -x "$FAULT" ] || bail_out "$FAULT not built (make test-binaries)"

rb_init
cp "$FAULT" "$T/bin/" && chmod 755 "$T/bin/rebound-pipe-fault"
pg_start
# The forking run below lives through some 2,600 children, which under a
# sanitizer on a busy machine can outlast rebound-pipe's own deadline.
rb_write_conf "raw_messages = all" "pipe_time_limit = 3600s"
RCPT="bounces+ann=bad.example@bounce.example.test"
MSG="$D/postfix-multi.eml"

# An injected fault exits through msg_fatal() without freeing what the
# process holds, by design: LeakSanitizer's report would replace exit 75.
fault_run() {	# fault_run SPEC [VAR=VALUE...]: sets RC, OUT, ERR
	local spec=$1
	shift
	OUT=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env ASAN_OPTIONS=detect_leaks=0 \
		REBOUND_FAULT="$spec" "$@" "$T/bin/rebound-pipe-fault" \
		-c "$T/etc/rebound.conf" -q FQ1 -r "$RCPT" <"$MSG" 2>"$T/fault.err")
	RC=$?
	ERR=$(cat "$T/fault.err")
}

# state - raw copies|events|events without their raw copy|raw copies without events
state() {
	q "SELECT (SELECT count(*) FROM rebound.raw_messages) || '|' ||
		  (SELECT count(*) FROM rebound.events) || '|' ||
		  (SELECT count(*) FROM rebound.events e WHERE e.raw_message_id IS NULL
		     OR NOT EXISTS (SELECT 1 FROM rebound.raw_messages r WHERE r.id = e.raw_message_id)) || '|' ||
		  (SELECT count(*) FROM rebound.raw_messages r WHERE NOT EXISTS
		     (SELECT 1 FROM rebound.events e WHERE e.raw_message_id = r.id))"
}

reset_db() {
	q "DELETE FROM rebound.events; DELETE FROM rebound.raw_messages" >/dev/null
}

# --- how many fault points one delivery has -------------------------------
fault_run count
is "$RC" 0 "the fault build delivers normally without a fault"
is "$(state)" "1|2|0|0" "one raw copy and two events"
ALLOCS=$(printf '%s' "$ERR" | sed -n 's/^rebound-fault: alloc=\([0-9]*\) pq=.*/\1/p')
PQS=$(printf '%s' "$ERR" | sed -n 's/^rebound-fault: alloc=[0-9]* pq=\([0-9]*\)$/\1/p')
# README promises about 1,200 points: 4,038 allocations and 15 libpq calls
# when this was written, 2,580 and 15 once a rule's literals grew by
# doubling instead of one reallocation each, 1,424 and 15 once a rule's
# literals were built only when a message reaches it, kept in one pool
# and gathered on the stack, 1,170 and 15 once the values of a rule's
# condition list shared one allocation.
# A hook lost from xmalloc(), xcalloc() or xrealloc(), or a libpq call no
# longer wrapped, drops below these floors.
[ "${ALLOCS:-0}" -ge 1000 ] && [ "${PQS:-0}" -ge 12 ]
ok $? "counted $ALLOCS allocations (at least 1,000) and $PQS fallible libpq calls (at least 12)"
reset_db

# The allocations before the first libpq call, counted from a trace.
fault_run count REBOUND_FAULT_TRACE=1
PRE=$(printf '%s\n' "$ERR" | sed -n '/^rebound-fault: call pq:1 /q; /^rebound-fault: call alloc:/p' | wc -l)
[ "$PRE" -gt 100 ] && [ "$PRE" -lt "$ALLOCS" ]
ok $? "$PRE of the allocations come before the first libpq call"
reset_db

# --- before the database: each allocation failed in a forked child --------
# Nothing can be written before the first libpq call, so these points
# need no look at the database, and a child forked at the allocation is
# the process that REBOUND_FAULT=alloc:N would be (tests/fault/fault.c):
# one run covers them all in seconds instead of one process each.
install -m 666 /dev/null "$T/fork.report"
fault_run fork:alloc REBOUND_FAULT_REPORT="$T/fork.report"
is "$RC" 0 "the forking run itself delivers once the children are done"
is "$(state)" "1|2|0|0" "and stores the report once"
reset_db
is "$(wc -l <"$T/fork.report")" "$PRE" "one child for each allocation before the first libpq call"
is "$(awk -F'[: ]' '$2 != NR' "$T/fork.report" | head -3)" "" "the children failed allocations 1 to $PRE in turn"
is "$(grep -Evc '^alloc:[0-9]+ status=75 out=4\.[0-9]\.[0-9]+ ' "$T/fork.report")" 0 \
	"each exited 75 (EX_TEMPFAIL) with a 4.x.x line on stdout"
grep -Ev '^alloc:[0-9]+ status=75 out=4\.[0-9]\.[0-9]+ ' "$T/fork.report" | head -5 | while read -r l; do diag "$l"; done

# inject KIND FIRST LAST - fail each point in turn, one process each, and
# check the outcome and the database
inject() {
	local kind=$1 first=$2 total=$3 n bad_rc=0 bad_line=0 bad_hit=0 bad_db=0 committed=0 s
	for n in $(seq "$first" "$total"); do
		fault_run "$kind:$n"
		[ "$RC" = 75 ] || { bad_rc=$((bad_rc + 1)); diag "$kind:$n exit $RC: $OUT"; }
		printf '%s' "$OUT" | grep -Eq '^4\.[0-9]\.[0-9]+ ' ||
			{ bad_line=$((bad_line + 1)); diag "$kind:$n stdout: $OUT"; }
		printf '%s' "$ERR" | grep -q "^rebound-fault: injected $kind:$n " ||
			bad_hit=$((bad_hit + 1))
		# A fault before the first libpq call cannot have written anything;
		# asking PostgreSQL only after the others keeps the loop fast.
		case $ERR in
		*"injected $kind:$n "*" pq_before=0"*) continue ;;
		esac
		s=$(state)
		case $s in
		"0|0|0|0") ;;
		"1|2|0|0")
			# Failed after COMMIT reached the server (a lost
			# acknowledgement): complete, and the retry is a duplicate.
			committed=$((committed + 1))
			reset_db ;;
		*)	bad_db=$((bad_db + 1)); diag "$kind:$n left $s"; reset_db ;;
		esac
	done
	is "$bad_rc" 0 "each of the $kind faults $first to $total exits 75 (EX_TEMPFAIL)"
	is "$bad_line" 0 "each of the $kind faults $first to $total prints a 4.x.x line on stdout"
	is "$bad_hit" 0 "each of the $kind faults $first to $total was injected"
	is "$bad_db" 0 "no $kind fault leaves a half-written report"
	diag "$kind faults after the commit reached the server: $committed"
	[ "$committed" -le 2 ]
	ok $? "at most the COMMIT's own result can be lost after it commits ($committed)"
}

inject alloc $((PRE + 1)) "$ALLOCS"
inject pq 1 "$PQS"
diag "fault points injected: $ALLOCS allocations ($PRE forked) + $PQS libpq calls = $((ALLOCS + PQS))"

# --- after all that, a normal retry stores the report exactly once --------
fault_run "alloc:$((ALLOCS / 2))"
is "$RC" 75 "a fault in the middle defers"
OUT=$(pipe_run -q FQ1 -r "$RCPT" <"$MSG")
is "$?" 0 "the retry is delivered"
is "$(state)" "1|2|0|0" "stored exactly once"
OUT=$(pipe_run -q FQ1 -r "$RCPT" <"$MSG")
is "$?" 0 "a second retry is delivered"
is "$(state)" "1|2|0|0" "and adds nothing"
reset_db

# --- an abort (signal) mid-delivery stores nothing ------------------------
# SIGABRT at the first libpq call after BEGIN stands in for any crash (an
# abort inside a library among them): the transaction is open and dies
# with the process.
runuser -u nobody -- env ASAN_OPTIONS=detect_leaks=0 REBOUND_FAULT=count REBOUND_FAULT_ABORT_PQ=4 \
	"$T/bin/rebound-pipe-fault" -c "$T/etc/rebound.conf" -q FQ2 -r "$RCPT" <"$MSG" \
	>/dev/null 2>&1
is "$?" 134 "rebound-pipe killed by SIGABRT (pipe(8) defers: 4.3.0, died with signal)"
no_sessions() {
	[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rebound-pipe'")" = 0 ]
}
wait_for 5 no_sessions
ok $? "its database session ended"
is "$(state)" "0|0|0|0" "the open transaction died with it"

done_testing
