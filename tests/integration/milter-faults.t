#!/bin/bash
# milter-faults.t - fault injection in rebound-milter's writer: every
# allocation (xalloc) and every libpq call that can fail, made by the
# writer thread while it stores a fixed workload, is made to fail in turn
# (tests/fault/rebound-milter-fault, REBOUND_FAULT=alloc:N or pq:N; see
# common/util/fault.h).  Only the writer thread's calls count: the callbacks'
# and the suppression loader's run on other threads in an order that no
# run repeats.
#
# The workload: the spool holds two records from "the last run" (a message
# and an event), and tests/milter/faults-workload.lua makes five more over
# SMTP (messages with one and with several recipients and tags, a refused
# suppressed recipient, a recipient Postfix rejected), one after another.
# Each reply waits until its record is durable, so the writer connects at
# start, replays the spool (single inserts), then stores each record of
# the workload as it comes, with the batch statements (one for messages,
# one for events): the same calls, in the same order, in every run.
#
# The outcomes, as rebound-milter(8) documents them:
#   pq:N     a failed libpq call costs SMTP nothing: the workload sees the
#            milter's normal replies and the milter keeps running.  The
#            records wait in the spool (or are stored again, one by one,
#            after a failed batch) and, once the next attempt succeeds,
#            every record is in PostgreSQL exactly once (messages by token,
#            events by queue id; the keys make a second copy impossible)
#            and the spool is empty.
#   alloc:N  a failed allocation is fatal by design: the milter exits, as
#            Postfix's daemons do, and Postfix applies milter_default_action
#            to the sessions still open: the transaction whose record the
#            writer held goes unanswered, and those after it never start.
#            Before it exits the milter saves the records it holds in
#            memory (queued, and in the writer's hands) to the spool.
#            After a restart without faults, every record whose
#            transaction was answered is in PostgreSQL exactly once, one
#            that was not answered at most once, and the spool is empty.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/milter.sh"
# FAULT_MILTER_BIN: another fault build of the milter (a ThreadSanitizer one).
FAULT=${FAULT_MILTER_BIN:-$REPO/tests/fault/rebound-milter-fault}
[ -x "$FAULT" ] || bail_out "$FAULT not built (make test-binaries)"

rb_init
milter_init
cp "$FAULT" "$T/bin/" && chmod 755 "$T/bin/rebound-milter-fault"
pg_start
milter_conf
q "SELECT rebound.suppress('gone@good.example', 'userunknown')" >/dev/null
SUPPRESSED=gone@good.example
RUN_ERR="$T/log/fault-run.err"

# --- the spool left by "the last run" ----------------------------------------
SEED_M=$'M\tseedtoken0001\tQS1\t<seed.QS1@client.example>\tann@example.com\t{"list":"seed"}\ts1@good.example\ts2@good.example'
SEED_E=$'E\tmilter:seed0002\tgone@good.example\t5.1.1\t550\t<gone@good.example>: recipient suppressed (userunknown)\tQS2\tsuppressed\tsuppressed\tpolicy_blocked\tt'

# reset SPEC - empty tables, the seeded spool, a fresh log; RUN_ERR is the
# round's own stderr file, since milters of earlier rounds may still be
# writing to theirs while they stop
reset() {
	q "DELETE FROM rebound.events; DELETE FROM rebound.messages" >/dev/null
	rm -rf "$MILTER_SPOOL"
	mkdir -m 700 "$MILTER_SPOOL"
	printf '%s\n%s\n' "$SEED_M" "$SEED_E" >"$MILTER_SPOOL/0000000000000001.spool"
	chown -R nobody "$MILTER_SPOOL"
	: >"$MILTER_LOG"
	RUN_ERR="$T/log/round-$1.err"
}

# --- conditions to poll ---------------------------------------------------------
poll() {	# poll SECS CMD... - every 50 ms until CMD succeeds, for SECS at most
	local end=$((SECONDS + $1))
	until "${@:2}"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
}
injected() { grep -q '^rebound-fault: injected' "$RUN_ERR"; }
gone() { [ -e "$M.status" ]; }
up_or_gone() { port_listening "$PORT" || gone; }
loaded() { grep -q "rebound-milter\[$MILTER_PID\]: suppression list loaded" "$MILTER_LOG"; }
loaded_or_gone() { loaded || gone; }
spool_empty() { [ -z "$(ls "$MILTER_SPOOL")" ]; }
stored() { spool_empty && [ -z "$(state_problems)" ]; }

# --- starting and stopping ------------------------------------------------------
# libmilter notices a stop only when its accept loop's 5-second poll ends,
# and waiting for that in every round would take most of the test's time.
# So each round's milter listens on the next of eight ports, stops in the
# background, and settle collects the exit statuses.  Each milter runs
# under a subshell that writes its pid to $M.pid and its exit status to
# $M.status: the rounds start so many processes that pids come round
# again, and bash forgets the status of a background job whose pid a new
# child takes.
PORTS=("$P_MILTER" "$P_SPARE" "$P_EXTRA" "$P_BMX" "$P_SMTP" "$P_GOOD" "$P_BAD" "$P_SLOW")
NEXT_PORT=0
STOPPING=()
install -d -o nobody "$T/milters"

# start BINARY [ENV...] - a milter in the foreground, its stderr in RUN_ERR;
# sets M (its files), MILTER_PID and PORT
start() {
	local entry
	# Milters that have stopped since are no longer rb_cleanup's to kill.
	for entry in "${STOPPING[@]}"; do
		[ -e "${entry%%:*}.status" ] && entry=${entry#*:} && forget "${entry%%:*}"
	done
	PORT=${PORTS[NEXT_PORT++ % ${#PORTS[@]}]}
	M="$T/milters/$NEXT_PORT"
	poll 20 rb_port_free "$PORT" || diag "port $PORT still taken"
	(
		env "${@:2}" "$T/bin/$1" -f -c "$T/etc/rebound.conf" -p "inet:$PORT@127.0.0.1" \
			-P "$M.pid-file" 2>>"$RUN_ERR" &
		echo $! >"$M.pid"
		wait $!
		echo $? >"$M.status"
	) &
	poll 5 test -s "$M.pid"
	MILTER_PID=$(cat "$M.pid")
	RB_PIDS="$RB_PIDS $MILTER_PID"
	# A fault at the writer's first calls ends the milter before it listens.
	poll 20 up_or_gone || diag "$1 did not come up: $(tail -3 "$RUN_ERR")"
}

# forget PID - take PID off the list rb_cleanup kills, once it has exited
# (word by word: a plain substitution could cut a longer pid)
forget() {
	local p kept=""
	for p in $RB_PIDS; do
		[ "$p" = "$1" ] || kept="$kept $p"
	done
	RB_PIDS=$kept
}

# exit_status - the exit status of the milter of M, once it has exited
exit_status() {
	poll 20 gone || { diag "milter $MILTER_PID does not exit"; return 1; }
	forget "$MILTER_PID"
	return "$(cat "$M.status")"
}

# stop_later WHAT - SIGTERM to the milter; settle reports its exit status
stop_later() {
	gone || kill "$MILTER_PID"
	STOPPING+=("$M:$MILTER_PID:$1")
}

# settle - wait for the milters told to stop; BAD_STOPS: those not exiting 0
settle() {
	local entry status
	BAD_STOPS=0
	for entry in "${STOPPING[@]}"; do
		M=${entry%%:*}
		entry=${entry#*:}
		MILTER_PID=${entry%%:*}
		exit_status
		status=$?
		[ "$status" = 0 ] && continue
		BAD_STOPS=$((BAD_STOPS + 1))
		diag "${entry#*:}: exit $status after SIGTERM"
	done
	STOPPING=()
}

# --- what the database must hold ------------------------------------------------
token_of() {	# token_of QID - the token the milter logged for a message
	sed -n "s/.*: $1: from=<[^>]*> return-path=<bounces+\([a-z2-7]*\)@.*/\1/p" "$MILTER_LOG" |
		head -1
}

# state - the stored messages and events, one canonical line each
state() {
	q "SELECT m.queue_id || '=' || m.token || '=' || coalesce(m.tags->>'list', '-') || '=' ||
		(SELECT string_agg(r.address, ',' ORDER BY r.address)
		   FROM rebound.recipients r WHERE r.message_id = m.id)
	   FROM rebound.messages m
	 UNION ALL
	SELECT e.queue_id || '=' || e.recipient || '=' || e.rule FROM rebound.events e
	 ORDER BY 1"
}

# required - the lines state must have: the seeded records, and those of
# the workload's transactions that were answered (ANSWERED)
required() {
	echo "QS1=seedtoken0001=seed=s1@good.example,s2@good.example"
	echo "QS2=gone@good.example=suppressed"
	for qid in $ANSWERED; do
		case $qid in
		QA) echo "QA=$(token_of QA)=a=a1@good.example" ;;
		QB) echo "QB=$(token_of QB)=b=b1@good.example,b2@good.example,b3@good.example" ;;
		QC) echo "QC=gone@good.example=suppressed" ;;
		QD) echo "QD=d1@good.example=postfix" ;;
		QE) echo "QE=$(token_of QE)=-=e1@good.example,e2@good.example" ;;
		esac
	done
}

# state_problems - what is wrong with the database: a required line
# missing, a queue id twice, or a line of nothing the workload made
state_problems() {
	local have want line
	have=$(state)
	want=$(required)
	while read -r line; do
		grep -qxF -- "$line" <<<"$have" || echo "missing $line"
	done <<<"$want"
	cut -d= -f1 <<<"$have" | sort | uniq -d | sed 's/^/twice /'
	grep -Ev '^$|^(QS1|QS2|QA|QB|QC|QD|QE)=' <<<"$have" | sed 's/^/stray /'
}

# --- one run -------------------------------------------------------------------
# workload - run faults-workload.lua against the round's milter; sets
# WORKLOAD (ok, or dead: the milter went away, or wrong: a reply the
# milter should not give) and ANSWERED (the transactions answered)
workload() {
	local out="$T/log/workload-$NEXT_PORT.log"
	miltertest -D "SOCK=inet:$PORT@127.0.0.1" -D "SENDER=ann@$SENDER_DOMAIN" \
		-D "SUPPRESSED=$SUPPRESSED" -D Q=Q -s "$MT_DIR/faults-workload.lua" >"$out" 2>&1 &&
		WORKLOAD=ok || WORKLOAD=dead
	grep -q '^wrong:' "$out" && WORKLOAD=wrong
	ANSWERED=$(sed -n 's/^answered \(Q[A-E]\)$/\1/p' "$out" | paste -sd' ')
}

# round SPEC - the workload under REBOUND_FAULT=SPEC; sets WORKLOAD (also
# skipped: the milter died before it), ANSWERED, FAULT_EXIT (the status
# of a milter that died of its fault, "" if it runs on) and STATE_OK
round() {
	local spec=$1 asan=${ASAN_OPTIONS:-}
	reset "$spec"
	# A fatal exit frees nothing, by design: LeakSanitizer's report would
	# replace its status.  The runs that end normally keep leak checking.
	case $spec in alloc:*) asan="${asan:+$asan:}detect_leaks=0" ;; esac
	start rebound-milter-fault REBOUND_FAULT="$spec" REBOUND_FAULT_TRACE=1 ASAN_OPTIONS="$asan"
	WORKLOAD=skipped
	ANSWERED=
	# A fault at the writer's first calls may end the milter before the
	# suppression list is loaded: wait for whichever comes first.
	poll 10 loaded_or_gone
	if ! gone && loaded; then
		workload
	fi
	case $spec in
	alloc:*) poll 10 injected || diag "$spec: not injected by the end of the workload" ;;
	esac
	FAULT_EXIT=
	case $spec in
	alloc:*)
		exit_status
		FAULT_EXIT=$?
		# The restart, without faults, stores what the spool holds.
		start rebound-milter
		poll 15 stored
		STATE_OK=$?
		stop_later "$spec (restart)" ;;
	*)
		poll 15 stored
		STATE_OK=$?
		stop_later "$spec" ;;
	esac
	[ "$STATE_OK" = 0 ] || diag "$spec: $(state_problems | paste -sd' '), spool: $(ls "$MILTER_SPOOL")"
}

# --- how many fault points the workload has -------------------------------------
START=$SECONDS
round count
is "$WORKLOAD" ok "the fault build answers the workload normally"
is "$STATE_OK" 0 "and stores every record once"
settle
is "$BAD_STOPS" 0 "and stops cleanly"
ALLOCS=$(sed -n 's/^rebound-fault: alloc=\([0-9]*\) pq=.*/\1/p' "$RUN_ERR")
PQS=$(sed -n 's/^rebound-fault: alloc=[0-9]* pq=\([0-9]*\)$/\1/p' "$RUN_ERR")
[ "${ALLOCS:-0}" -gt 10 ] && [ "${PQS:-0}" -gt 5 ]
ok $? "the writer made $ALLOCS allocations and $PQS fallible libpq calls"
diag "count run: $((SECONDS - START)) s"

# inject KIND WHAT SPEC... - run a round for each SPEC and check its outcome
# for faults of KIND; WHAT names them in the results.
inject() {
	local kind=$1 what=$2 bad_hit=0 bad_smtp=0 bad_exit=0 bad_db=0 died=0 cut_short=0 spec point
	local start=$SECONDS
	shift 2
	for spec in "$@"; do
		round "$spec"
		for point in ${spec//,/ }; do
			grep -q "^rebound-fault: injected $point " "$RUN_ERR" ||
				{ bad_hit=$((bad_hit + 1)); diag "$spec: $point not injected"; }
		done
		[ "$STATE_OK" = 0 ] || bad_db=$((bad_db + 1))
		if [ "$kind" = pq ]; then
			[ "$WORKLOAD" = ok ] || { bad_smtp=$((bad_smtp + 1)); diag "$spec: workload $WORKLOAD"; }
			[ -z "$FAULT_EXIT" ] || { bad_exit=$((bad_exit + 1)); diag "$spec: died ($FAULT_EXIT)"; }
		else
			[ "$WORKLOAD" = wrong ] && { bad_smtp=$((bad_smtp + 1)); diag "$spec: a wrong reply"; }
			[ "$WORKLOAD" = skipped ] && died=$((died + 1))
			[ "$WORKLOAD" = dead ] && cut_short=$((cut_short + 1))
			if ! grep -q "fatal: out of memory" "$MILTER_LOG" || [ "$FAULT_EXIT" != 1 ]; then
				bad_exit=$((bad_exit + 1))
				diag "$spec: exit $FAULT_EXIT"
			fi
		fi
	done
	settle
	is "$bad_hit" 0 "each of $# $what was injected"
	if [ "$kind" = pq ]; then
		is "$bad_smtp" 0 "each of $# $what leaves the SMTP replies alone"
		is "$bad_exit" 0 "after each, the milter runs on"
		is "$BAD_STOPS" 0 "and stops cleanly"
	else
		is "$bad_smtp" 0 "each of the $# $what left every reply the milter gave normal"
		diag "$what before the workload (the milter was gone): $died," \
			"during it (a transaction went unanswered): $cut_short"
		is "$bad_exit" 0 "each of $# $what exits 1 (fatal: out of memory)"
		is "$BAD_STOPS" 0 "and each restart without faults stops cleanly"
	fi
	is "$bad_db" 0 "after each of $# $what every answered record is stored once, the spool empty"
	diag "$what: $((SECONDS - start)) s"
}

inject pq "libpq faults" $(seq -f 'pq:%g' 1 "$PQS")
# FAULT_ALLOC_STEP=N: every Nth allocation only (make check-tsan, where a
# round costs ten times as much); each libpq fault is always injected.
inject alloc "allocation faults" $(seq -f 'alloc:%g' 1 "${FAULT_ALLOC_STEP:-1}" "$ALLOCS")
diag "fault points injected: $ALLOCS allocations + $PQS libpq calls = $((ALLOCS + PQS)),"
diag "in $((SECONDS - START)) s"
cat "$T"/log/round-*.err >"$T/log/milter.stderr"
milter_clean_stderr

done_testing
