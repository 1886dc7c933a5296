#!/bin/bash
# events.t - live events end to end: "rebound events --follow" listens
# while mail goes through a private Postfix; a remote 550 and a remote NDR
# come back through pipe(8) and rebound-pipe, and the listeners receive
# their notifications, after which the policy's suppressions are there.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
need_tool python3
D="$REPO/tests/data"
RP=bounces@$BOUNCE_DOMAIN

rb_init
[ -x "$T/bin/rebound" ] || bail_out "cli/rebound not built (run 'make')"
pg_start
rb_write_conf
postfix_start

# Two listeners: JSON payloads for programs, lines for people.
rebound_bg events --follow --json --count 2 >"$T/events.json" 2>"$T/events.json.err"
jpid=$RB_BG
rebound_bg events -f --count 2 >"$T/events.txt" 2>"$T/events.txt.err"
tpid=$RB_BG
wait_for 10 grep -qs "following events" "$T/events.json.err" &&
	wait_for 10 grep -qs "following events" "$T/events.txt.err"
ok $? "both listeners are ready"

send_verp "$RP" bob@bad.example
swaks -s "127.0.0.1:$P_SMTP" --helo mx.remote.example --from '<>' \
	--to "bounces+dora=remote.example@$BOUNCE_DOMAIN" --data "@$D/remote-ndr.eml" \
	--silent 2 >/dev/null 2>&1
ok $? "remote NDR accepted over SMTP"

# wait_exit PID SECS - whether the process ends within SECS seconds
wait_exit() {
	local i
	for i in $(seq $(($2 * 5))); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
		sleep 0.2
	done
	kill "$1" 2>/dev/null
	return 1
}
wait_exit $jpid 40
ok $? "the JSON listener received two events and exited 0"
wait_exit $tpid 10
ok $? "the text listener too"

bob=$(grep '"recipient":"bob@bad.example"' "$T/events.json")
bob_id=$(q "SELECT id FROM rebound.events WHERE recipient = 'bob@bad.example'")
is "$bob" "{\"id\":$bob_id,\"kind\":\"rejected\",\"recipient\":\"bob@bad.example\",\"reason\":\"userunknown\",\"hard\":true,\"provenance\":\"verp\",\"token\":null,\"tags\":null}" \
	"the remote 550 arrives as one compact JSON payload"
python3 -c 'import json, sys
j = json.loads(sys.argv[1])
sys.exit(0 if j["kind"] == "bounced" and j["reason"] == "mailboxfull" and j["hard"] is False else 1)' \
	"$(grep '"recipient":"dora@remote.example"' "$T/events.json")"
ok $? "the remote NDR's payload: an async soft bounce"
like "$(grep 'bob@bad.example' "$T/events.txt")" \
	"^[0-9-]+ [0-9:]+ event $bob_id: rcpt=<bob@bad.example>, kind=rejected, reason=userunknown, hard=yes, dsn=5\.1\.1, source=pipe, provenance=verp$" \
	"the text listener's line for the 550"
like "$(grep 'dora@remote.example' "$T/events.txt")" "kind=bounced, reason=mailboxfull, hard=no" \
	"and for the NDR"

# The policy ran in the same transaction as rebound-pipe's insert.
is "$(q "SELECT basis || '|' || reason || '|' || source FROM rebound.suppressions WHERE address = 'bob@bad.example'")" \
	"hard|userunknown|policy" "the hard failure suppressed bob at once"
is "$(q "SELECT count(*) FROM rebound.suppressions WHERE address = 'dora@remote.example'")" 0 \
	"one soft failure does not suppress dora"
is "$(q "SELECT failures FROM rebound.soft_failure_counts WHERE address = 'dora@remote.example'")" 1 \
	"but counts"
like "$(rebound_run suppress list | tr '\n' ' ')" "bob@bad.example +userunknown +hard +policy" \
	"rebound suppress list shows it"
is "$(q "SELECT count(*) FROM rebound.policy_errors")" 0 "no policy errors"

# --- PostgreSQL restarts while bounces flow: --follow carries on ---------------
# A listener follows while rebound-pipe stores a bounce every tenth of a
# second.  Its connection is cut once (the bounces go on meanwhile), then
# PostgreSQL stops for two seconds.  Each time the listener connects again
# and prints what was committed meanwhile: in the end it has printed every
# event recorded since it started, each once, in order.
base=$(q "SELECT coalesce(max(id), 0) FROM rebound.events")
# rebound_bg: fpid must be the listener, which only a signal stops.
rebound_bg events --follow --json >"$T/follow.json" 2>"$T/follow.err"
fpid=$RB_BG
wait_for 10 grep -qs "following events" "$T/follow.err"
flow() {	# a bounce to a return path of its own, every 0.1 s, until stop-flow
	local i=0
	while [ ! -e "$T/stop-flow" ]; do
		i=$((i + 1))
		pipe_run -q FLOW$i -r "bounces+u$i=bad.example@$BOUNCE_DOMAIN" \
			<"$D/postfix-rejected.eml" >/dev/null 2>&1
		sleep 0.1
	done
}
printed() { [ "$(wc -l <"$T/follow.json")" -ge "$1" ]; }
flow &
flowpid=$!
RB_PIDS="$RB_PIDS $flowpid"
wait_for 10 printed 5
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'rebound'" \
	>/dev/null
wait_for 10 grep -qs "connected again" "$T/follow.err"
like "$(grep "connected again" "$T/follow.err")" "connected again; [1-9][0-9]* events recorded meanwhile" \
	"after its connection was cut, the listener read the events it missed"
pg_stop
sleep 2
pg_resume
again() { [ "$(grep -c "connected again" "$T/follow.err")" -ge 2 ]; }
wait_for 30 again
ok $? "the listener connects again after PostgreSQL restarts"
wait_for 10 printed $(($(q "SELECT count(*) FROM rebound.events WHERE id > $base") + 5))
touch "$T/stop-flow"
wait "$flowpid"
want=$(q "SELECT id FROM rebound.events WHERE id > $base ORDER BY id" | paste -sd' ')
wait_for 10 printed "$(wc -w <<<"$want")"
got=$(sed 's/^{"id":\([0-9]*\),.*/\1/' "$T/follow.json" | paste -sd' ')
is "$got" "$want" "it printed every event recorded since it started, once each, in order"
diag "$(wc -w <<<"$want") events followed across the restart"
kill "$fpid"
wait "$fpid" 2>/dev/null
like "$(grep 'lost the database connection' "$T/follow.err" | head -1)" \
	"^rebound: warning: lost the database connection, connecting again: [^?]+$" \
	"the broken connection is said in one line, libpq's lines joined (no ??)"
is "$(grep -v '^rebound: ' "$T/follow.err")" "" "libpq wrote nothing of its own on standard error"

done_testing
