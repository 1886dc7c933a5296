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
rebound_run events --follow --json --count 2 >"$T/events.json" 2>"$T/events.json.err" &
jpid=$!
rebound_run events -f --count 2 >"$T/events.txt" 2>"$T/events.txt.err" &
tpid=$!
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

done_testing
