#!/bin/bash
# soak-failover.sh - two Postfix nodes, one PostgreSQL primary with a
# streaming standby, and a failover half way; not part of make check.
#
#   make soak [SOAK_FAILOVER_N=4000]
#
# Two private Postfix nodes, a and b (tests/lib/cluster.sh), each with its
# own rebound-milter (outbound mode, milter_default_action = tempfail) and
# rebound-pipe, write to a PostgreSQL primary whose hot standby streams its
# WAL through a replication slot, synchronously unless
# SOAK_FAILOVER_SYNC=async.  Their connection string names both servers
# with target_session_attrs=read-write, as rebound(7) SCALING says.
#
# SOAK_FAILOVER_N messages from example.com go over SMTP, message i to
# node "ab"[i % 2] over SOAK_FAILOVER_SESSIONS sessions per node, each to
# g<i>@good.example, which the node relays to its own accepting smtp-sink.
# One message in four also goes to b<i>@bad.example, whose sink refuses
# every RCPT: the node writes a DSN to the signed return path and hands it
# to its own rebound-pipe (a synchronous, verified, hard failure, which
# suppresses b<i>).  For another one in four, a "remote MX" sends an NDR
# over SMTP to the signed return path the sink saw, to one node or the
# other (an asynchronous, verified, soft failure of g<i>).  The sender
# holds the second half of the messages back until the first half has
# been accepted; then, as they go out, the standby stops receiving WAL for
# SOAK_FAILOVER_LAG seconds, as over a slow network, and the primary is
# stopped as a crash (pg_ctl -m immediate); SOAK_FAILOVER_GAP seconds
# later the standby is promoted (pg_ctl promote), as a failover manager
# would.  With synchronous replication no commit is confirmed that the
# standby lacks.  SOAK_FAILOVER_SYNC=async runs the same checks without
# it, and they fail for whatever the standby missed; but on one machine
# the WAL sent before the crash waits in the stalled receiver's socket,
# so an asynchronous run may well lose nothing, which proves no safety.  The crashed primary's socket is gone, so that connections fail
# over at once; with SOAK_FAILOVER_HUNG=1 something keeps taking
# connections there and never answers, as a vanished machine would over
# TCP, and every new connection first waits db_connect_timeout (3 s).
#
# Afterwards: every message was accepted, signed and delivered to its own
# node's sink once; rebound.messages holds one row per message, with its
# node's queue id, its recipients and the token the sink saw; every DSN and
# every NDR is exactly one event, of the right kind and provenance, linked
# to its message and recipient, stored by a delivery that its node's
# Postfix logged once; no bounce was bounced; both spools are empty; the
# bad addresses and only they are suppressed; and a suppression made after
# the failover, by one node's event or by the rebound tool, is refused at
# RCPT by both milters (suppression_refresh is an hour here, so only the
# rebound_suppressions notifications can bring it in time).  Printed:
# messages/s, bounces/s, the deliveries deferred during the failover, the
# records the milters spooled and replayed, when they reconnected and when
# their spools were empty, and how long the longest deferred bounce waited.
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/milter.sh"
. "$(dirname "$0")/lib/cluster.sh"
N=${SOAK_FAILOVER_N:-4000}
SESSIONS=${SOAK_FAILOVER_SESSIONS:-2}
GAP=${SOAK_FAILOVER_GAP:-5}
LAG=${SOAK_FAILOVER_LAG:-1}
HUNG=${SOAK_FAILOVER_HUNG:-0}
SYNC=${SOAK_FAILOVER_SYNC:-sync}
case $SYNC in sync | async) ;; *) bail_out "SOAK_FAILOVER_SYNC is sync or async, not $SYNC" ;; esac
case $HUNG in 0 | 1) ;; *) bail_out "SOAK_FAILOVER_HUNG is 0 or 1, not $HUNG" ;; esac
[ "$N" -ge 64 ] || bail_out "SOAK_FAILOVER_N must be at least 64"
need_tool python3 bc

cluster_init
milter_init
pg_start
standby_start "$SYNC"
rb_write_conf	# the rebound tool's, with the connection string of both servers
# Every recipient at bad.example is refused with one reply, which is just
# what an incident looks for (rebound(7), Incidents): past
# incident_recipients of them it would hold their suppressions for a
# person to look at, as soon as enough of them have arrived at once.  This
# soak is about the failover, and incidents.t tests incidents, so it has
# none; each bad address must then be suppressed by its own DSN.
q "UPDATE rebound.settings SET value = '0' WHERE name = 'incident_recipients'" >/dev/null ||
	bail_out "cannot turn incidents off"
# The harness's block of eight free ports: four for each node, its smtpd
# and the sinks that accept, refuse and defer; the milters listen on unix
# sockets.
node_start a "$P_SMTP" "$P_GOOD" "$P_BAD" "$P_SLOW" "suppression_refresh = 1h"
node_start b "$P_MILTER" "$P_SPARE" "$P_BMX" "$P_EXTRA" "suppression_refresh = 1h"
declare -A PORT=([a]=$P_SMTP [b]=$P_MILTER) spooled replayed

# What the run must leave behind, from the pattern the senders follow.
bad=0 ndr=0
for ((i = 0; i < N; i++)); do
	[ $((i % 8)) -lt 2 ] && bad=$((bad + 1))
	case $((i % 8)) in 4 | 5) ndr=$((ndr + 1)) ;; esac
done
diag "soak: $N messages over 2 nodes, $SESSIONS sessions each; $bad DSNs from the nodes," \
	"$ndr remote NDRs; the primary crashes half way, the standby is promoted ${GAP}s later" \
	"($SYNC replication)"

# Each node's spool files, as soak-milter.sh counts them: a hard link to
# each file as it appears keeps its content after the replay removes it.
for n in a b; do
	mkdir -p "$T/$n/spool-seen"
	(
		while :; do
			for f in "$T/$n"/milter-spool/*.spool; do
				[ -e "$f" ] && [ ! -e "$T/$n/spool-seen/${f##*/}" ] &&
					ln "$f" "$T/$n/spool-seen/" 2>/dev/null
			done
			sleep 0.05
		done
	) &
	RB_PIDS="$RB_PIDS $!"
done

: >"$T/log/sent"
: >"$T/log/ndr"
start=$(date +%s.%N)
# The outbound sender: one line "i node queue-id" to $T/log/sent for each
# message accepted, with the queue id from the reply to DATA; at the end
# "accepted N", "refused M", the seconds it took and the first refusals.
# It sends the second half of the messages once $T/log/go exists, so that
# they meet the failover whatever their number.
python3 - "${PORT[a]}" "${PORT[b]}" "$N" "$SESSIONS" "$T/log/sent" "$T/log/go" \
	>"$T/log/sender.log" 2>&1 <<'EOP' &
import os, re, smtplib, sys, threading, time
started = time.time()
ports = {"a": int(sys.argv[1]), "b": int(sys.argv[2])}
n, sessions, out = int(sys.argv[3]), int(sys.argv[4]), open(sys.argv[5], "w", buffering=1)
go = sys.argv[6]
half = [0.0]                # when the last session reached the second half
lock = threading.Lock()
refused = []
def recipients(i):
    return [f"g{i}@good.example"] + ([f"b{i}@bad.example"] if i % 8 < 2 else [])
def message(i, rcpts):
    h = ["From: Soak <ann@example.com>", f"To: {', '.join(rcpts)}", f"Subject: failover soak {i}",
         f"Message-ID: <soak-f{i}@client.example>"]
    return ("\r\n".join(h) + f"\r\n\r\nMessage {i} of the failover soak.\r\n").encode()
def send(s, i):
    code, resp = s.mail("ann@example.com")
    if code != 250:
        raise RuntimeError(f"MAIL: {code} {resp!r}")
    for r in recipients(i):
        code, resp = s.rcpt(r)
        if code not in (250, 251):
            raise RuntimeError(f"RCPT {r}: {code} {resp!r}")
    code, resp = s.data(message(i, recipients(i)))
    m = re.search(rb"queued as ([0-9A-Za-z]+)", resp)
    if code != 250 or not m:
        raise RuntimeError(f"DATA: {code} {resp!r}")
    return m.group(1).decode()
def worker(node, first):
    s = None
    for c, i in enumerate(range(first, n, 2 * sessions)):
        if i >= n // 2 and not os.path.exists(go):
            with lock:
                half[0] = max(half[0], time.time() - started)
            while not os.path.exists(go):
                time.sleep(0.05)
        try:
            if s is None or c % 100 == 0:
                if s is not None:
                    s.quit()
                s = smtplib.SMTP("127.0.0.1", ports[node])
                s.ehlo("client.example")
            qid = send(s, i)
            with lock:
                out.write(f"{i} {node} {qid}\n")
        except (smtplib.SMTPException, OSError, RuntimeError) as e:
            with lock:
                refused.append(f"{i}: {e!r}")
            try:
                s.close()
            except Exception:
                pass
            s = None
    if s is not None:
        s.quit()
threads = [threading.Thread(target=worker, args=("ab"[k], k + 2 * t))
           for k in range(2) for t in range(sessions)]
for th in threads:
    th.start()
for th in threads:
    th.join()
print(f"accepted {n - len(refused)}")
print(f"refused {len(refused)}")
print(f"seconds {time.time() - started:.3f}")
print(f"half {half[0]:.3f}")
print("\n".join(refused[:20]))
EOP
SENDER=$!

# The remote MX: it reads the sinks' dumps as they come, and for message i
# with i % 8 in (4, 5) sends an NDR over SMTP, from <>, to the return path
# the sink saw, at node "ab"[(i / 8) % 2]; one line "i node queue-id" to
# $T/log/ndr for each NDR accepted.  It gives up after an hour.
python3 - "$T/a/sink" "$T/b/sink" "${PORT[a]}" "${PORT[b]}" "$N" "$T/log/ndr" \
	>"$T/log/ndr.log" 2>&1 <<'EOP' &
import os, re, smtplib, sys, time
sinks, ports = {"a": sys.argv[1], "b": sys.argv[2]}, {"a": int(sys.argv[3]), "b": int(sys.argv[4])}
n, out = int(sys.argv[5]), open(sys.argv[6], "w", buffering=1)
want = {i for i in range(n) if i % 8 in (4, 5)}
done, seen, failed, conns = set(), set(), [], {}
def ndr(i, token):
    return f"""From: Mail Delivery Subsystem <MAILER-DAEMON@mx.remote.example>
To: bounces+{token}@bounce.example.test
Subject: Delivery Status Notification (Failure)
Message-ID: <ndr-{i}@mx.remote.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="ndr{i}"

--ndr{i}
Content-Type: text/plain

Your message to g{i}@good.example could not be delivered: the mailbox is full.

--ndr{i}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.remote.example

Final-Recipient: rfc822; g{i}@good.example
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 <g{i}@good.example>: mailbox full

--ndr{i}
Content-Type: text/rfc822-headers

From: Soak <ann@example.com>
Subject: failover soak {i}
Message-ID: <soak-f{i}@client.example>

--ndr{i}--
""".replace("\n", "\r\n").encode()
def send(node, i, token):
    s = conns.get(node)
    if s is None:
        s = conns[node] = smtplib.SMTP("127.0.0.1", ports[node])
        s.ehlo("mx.remote.example")
    code, resp = s.mail("<>")
    if code != 250:
        raise RuntimeError(f"MAIL: {code} {resp!r}")
    code, resp = s.rcpt(f"bounces+{token}@bounce.example.test")
    if code not in (250, 251):
        raise RuntimeError(f"RCPT: {code} {resp!r}")
    code, resp = s.data(ndr(i, token))
    m = re.search(rb"queued as ([0-9A-Za-z]+)", resp)
    if code != 250 or not m:
        raise RuntimeError(f"DATA: {code} {resp!r}")
    return m.group(1).decode()
deadline = time.time() + 3600
while not want <= done | set(failed) and time.time() < deadline:
    for d in sinks.values():
        for name in os.listdir(d):
            if name in seen:
                continue
            head = open(os.path.join(d, name), "rb").read(8192).decode("utf-8", "replace")
            mid = re.search(r"(?im)^Message-ID:\s*<soak-f(\d+)@client\.example>", head)
            rp = re.search(r"(?im)^X-Mail-Args:.*bounces\+([a-z2-7]+)@", head)
            if not mid or not rp:
                continue            # not written yet: read again later
            seen.add(name)
            i = int(mid.group(1))
            if i not in want or i in done:
                continue
            node = "ab"[(i // 8) % 2]
            try:
                out.write(f"{i} {node} {send(node, i, rp.group(1))}\n")
                done.add(i)
            except (smtplib.SMTPException, OSError, RuntimeError) as e:
                failed.append(i)
                print(f"{i}: {e!r}", flush=True)
                conns.pop(node, None)
    time.sleep(0.2)
for s in conns.values():
    s.quit()
print(f"sent {len(done)}")
print(f"refused {len(failed)}")
EOP
REPLIER=$!

accepted() { wc -l <"$T/log/sent"; }
halfway() { [ "$(accepted)" -ge $((N / 2)) ]; }
wait_for 1800 halfway || diag "half way not reached"
crash_at=$(accepted)
# The milters' log lines that say a part of them has the new primary:
# how many each node's log holds before the crash.
WRITER="database available again" LOADER="suppression list available again"
node_said() { grep -Ec -- "$2" "$T/$1/log/rebound.log"; }
declare -A before
for n in a b; do
	before[$n.writer]=$(node_said $n "$WRITER")
	before[$n.loader]=$(node_said $n "$LOADER")
done
touch "$T/log/go"
standby_stall
sleep "$LAG"
primary_crash
crashed=$(date +%s.%N)
standby_resume
[ "$HUNG" = 1 ] && primary_hang
diag "soak: primary stopped (immediate) at $crash_at messages accepted," \
	"the standby ${LAG}s behind$([ "$HUNG" = 1 ] && echo "; its socket hangs")"
sleep "$GAP"
standby_promote
ok $? "the standby was promoted"
promoted=$(date +%s.%N)
diag "soak: standby promoted $(printf '%.1f' "$(echo "$promoted - $crashed" | bc -l)") s after the crash," \
	"at $(accepted) messages accepted"

# Each node's milter reconnects its writer and its suppression loader to
# the new primary, and the writer stores what it spooled.
reconnected() {
	local n
	for n in a b; do
		[ "$(node_said $n "$WRITER")" -gt "${before[$n.writer]}" ] &&
			[ "$(node_said $n "$LOADER")" -gt "${before[$n.loader]}" ] || return 1
	done
}
wait_for 120 reconnected
ok $? "both milters' writers and suppression loaders reconnected to the new primary"
spool_empty() { ! compgen -G "$T/$1/milter-spool/*.spool" >/dev/null; }
spools_drained() { spool_empty a && spool_empty b; }
wait_for 300 spools_drained
ok $? "both milters' spools drained"

wait "$SENDER"
ok $? "the sender finished"
is "$(sed -n 's/^accepted //p' "$T/log/sender.log")" "$N" "all $N messages accepted over SMTP"
is "$(sed -n 's/^refused //p' "$T/log/sender.log")" 0 "none refused or deferred by Postfix or a milter"
[ "$(sed -n 's/^refused //p' "$T/log/sender.log")" = 0 ] || diag "$(tail -n +5 "$T/log/sender.log")"
wait "$REPLIER"
ok $? "the remote MX finished"
is "$(sed -n 's/^sent //p' "$T/log/ndr.log")" "$ndr" "all $ndr NDRs accepted over SMTP"
is "$(sed -n 's/^refused //p' "$T/log/ndr.log")" 0 "none refused"
node_queue_empty() { [ -z "$(postqueue -c "$T/$1/etc" -j 2>/dev/null)" ]; }
quiet() { node_queue_empty a && node_queue_empty b && spools_drained; }
wait_for 1800 quiet
ok $? "both Postfix queues and both spools are empty"
# The writers may still hold the last records in memory for a moment.
stored() {
	sql_is "SELECT count(*) >= $N FROM rebound.messages" t &&
		sql_is "SELECT count(*) >= $((bad + ndr)) FROM rebound.events" t
}
wait_for 30 stored
ok $? "PostgreSQL holds as many messages and events as were sent"
end=$(date +%s.%N)

# --- the milters ----------------------------------------------------------------
for n in a b; do
	kill -0 "${NODE_MILTER_PID[$n]}" 2>/dev/null
	ok $? "node $n: the milter ran throughout"
	is "$(cat "$T/$n/log/milter.stderr" "$T/$n/log/rebound.log" | grep -Ec 'fatal|panic')" 0 \
		"node $n: no fatal error from the milter"
	is "$(grep -Ec 'record dropped|record lost|malformed records|spool replay:' "$T/$n/log/rebound.log")" 0 \
		"node $n: no record dropped, lost or malformed"
	spooled[$n]=$(cat "$T/$n"/spool-seen/*.spool 2>/dev/null | wc -l)
	replayed[$n]=$(sed -nE 's/.*spool: ([0-9]+) records stored.*/\1/p' "$T/$n/log/rebound.log" |
		awk '{ s += $1 } END { print s + 0 }')
done

# --- every message, bounce and delivery, one by one ------------------------------
q "SELECT row_to_json(x) FROM (SELECT m.message_id_header AS mid, m.token, m.queue_id,
	m.envelope_sender AS sender, array_agg(r.address ORDER BY r.address) AS rcpts
	FROM rebound.messages m LEFT JOIN rebound.recipients r ON r.message_id = m.id
	GROUP BY m.id) x" >"$T/log/messages.jsonl"
q "SELECT row_to_json(x) FROM (SELECT e.recipient, e.kind, e.sync, e.source, e.provenance,
	e.hard, e.reason, e.queue_id, e.orig_queue_id, m.message_id_header AS mid,
	r.address AS linked FROM rebound.events e LEFT JOIN rebound.messages m ON m.id = e.message_id
	LEFT JOIN rebound.recipients r ON r.id = e.recipient_id) x" >"$T/log/events.jsonl"
python3 - "$T" "$N" >"$T/log/compare.txt" <<'EOP'
import collections, json, os, re, sys
T, n = sys.argv[1], int(sys.argv[2])
bad = []
def lines(path):
    return [l.split() for l in open(path) if l.strip()]
sent = {int(i): (node, qid) for i, node, qid in lines(f"{T}/log/sent")}
ndrs = {int(i): (node, qid) for i, node, qid in lines(f"{T}/log/ndr")}
# Each node's Postfix: the rebound transport's deliveries, and every bounce.
delivered, bounced_rcpts = {}, collections.Counter()
for node in "ab":
    d = delivered[node] = collections.Counter()
    for l in open(f"{T}/{node}/log/maillog"):
        m = re.search(r"postfix/\w+\[\d+\]: ([0-9A-Za-z]+): to=<([^>]*)>, relay=([^ ,]+),.*status=(\w+)", l)
        if not m:
            continue
        qid, to, relay, status = m.groups()
        if relay == "rebound" and status == "sent":
            d[qid] += 1
        elif relay == "rebound" and status not in ("deferred",):
            bad.append(f"node {node}: the rebound transport said {status} for {qid}")
        elif status == "bounced":
            bounced_rcpts[(node, to)] += 1
for node in "ab":
    for qid, k in delivered[node].items():
        if k > 1:
            bad.append(f"node {node}: bounce {qid} delivered {k} times")
# The sinks.
sunk = collections.defaultdict(list)        # message -> [(node, token, recipients)]
for node in "ab":
    for name in os.listdir(f"{T}/{node}/sink"):
        head = open(f"{T}/{node}/sink/{name}", "rb").read().decode("utf-8", "replace").split("\n\n")[0]
        mid = re.search(r"(?im)^Message-ID:\s*<soak-f(\d+)@client\.example>", head)
        rp = re.search(r"(?im)^X-Mail-Args:.*bounces\+([a-z2-7]+)@", head)
        rcpts = sorted(re.findall(r"(?im)^X-Rcpt-Args:\s*<([^>]*)>", head))
        if not mid or not rp:
            bad.append(f"sink {node}/{name}: no soak Message-ID or no signed return path")
            continue
        sunk[int(mid.group(1))].append((node, rp.group(1), rcpts))
rows = {}
for l in open(f"{T}/log/messages.jsonl"):
    r = json.loads(l)
    m = re.fullmatch(r"soak-f(\d+)@client\.example", r["mid"] or "")
    if not m or int(m.group(1)) in rows:
        bad.append(f"unexpected or second message row {r['mid']}")
        continue
    rows[int(m.group(1))] = r
events = collections.defaultdict(list)      # recipient -> events
for l in open(f"{T}/log/events.jsonl"):
    e = json.loads(l)
    events[e["recipient"]].append(e)
stored = collections.Counter()               # (node, queue id) of each bounce stored
def check_event(i, rcpt, node, qid, want, orig):
    es = events.pop(rcpt, [])
    if len(es) != 1:
        bad.append(f"message {i}: {len(es)} events for {rcpt}")
        return
    e = es[0]
    got = {k: e[k] for k in want}
    if got != want:
        bad.append(f"message {i}: event for {rcpt} is {got}, want {want}")
    if e["mid"] != f"soak-f{i}@client.example" or e["linked"] != rcpt:
        bad.append(f"message {i}: event for {rcpt} linked to {e['mid']} / {e['linked']}")
    if orig is not None and e["orig_queue_id"] != orig:
        bad.append(f"message {i}: DSN names queue id {e['orig_queue_id']}, want {orig}")
    if qid is not None and e["queue_id"] != qid:
        bad.append(f"message {i}: event stored by {e['queue_id']}, want {qid}")
    if delivered[node][e["queue_id"]] != 1:
        bad.append(f"message {i}: bounce {e['queue_id']} not delivered once by node {node}")
    stored[(node, e["queue_id"])] += 1
dsn = {"kind": "rejected", "sync": True, "source": "pipe", "provenance": "verified", "hard": True}
remote = {"kind": "bounced", "sync": False, "source": "pipe", "provenance": "verified",
          "hard": False, "reason": "mailboxfull"}
for i in range(n):
    if i not in sent:
        bad.append(f"message {i} was not accepted")
        continue
    node, qid = sent[i]
    want = sorted([f"g{i}@good.example"] + ([f"b{i}@bad.example"] if i % 8 < 2 else []))
    s = sunk.get(i, [])
    if len(s) != 1 or s[0][0] != node or s[0][2] != [f"g{i}@good.example"]:
        bad.append(f"message {i} from node {node}: the sinks got {s}")
    r = rows.get(i)
    if r is None:
        bad.append(f"message {i} has no row")
        continue
    if (r["queue_id"], r["rcpts"], r["sender"]) != (qid, want, "ann@example.com"):
        bad.append(f"message {i}: row {r['queue_id']} {r['rcpts']} {r['sender']}, want {qid} {want}")
    if len(s) == 1 and s[0][1] != r["token"]:
        bad.append(f"message {i}: the sink saw token {s[0][1]}, the row has {r['token']}")
    if i % 8 < 2:
        if bounced_rcpts[(node, f"b{i}@bad.example")] != 1:
            bad.append(f"message {i}: node {node} did not bounce b{i}@bad.example once")
        check_event(i, f"b{i}@bad.example", node, None, dsn, qid)
    if i in ndrs:
        check_event(i, f"g{i}@good.example", ndrs[i][0], ndrs[i][1], remote, None)
    elif i % 8 in (4, 5):
        bad.append(f"message {i}: the remote MX sent no NDR")
for rcpt, es in events.items():
    bad.append(f"{len(es)} events nobody expected for {rcpt}: {es[0]}")
for (node, rcpt), k in bounced_rcpts.items():
    if not re.fullmatch(r"b\d+@bad\.example", rcpt):
        bad.append(f"node {node} bounced {rcpt}")
for node in "ab":
    for qid in delivered[node]:
        if stored[(node, qid)] != 1:
            bad.append(f"node {node}: bounce {qid} delivered, {stored[(node, qid)]} events stored")
print(f"accepted {len(sent)} sunk {sum(len(v) for v in sunk.values())} rows {len(rows)} "
      f"deliveries {sum(sum(d.values()) for d in delivered.values())} "
      f"stored {sum(stored.values())} mismatches {len(bad)}")
for b in bad[:60]:
    print(b)
EOP
read -r _ naccepted _ nsunk _ nrows _ ndeliveries _ nstored _ nbad <"$T/log/compare.txt"
tail -n +2 "$T/log/compare.txt" | while read -r line; do diag "mismatch: $line"; done
is "$nsunk" "$N" "the sinks received $N messages"
is "$nrows" "$N" "rebound.messages holds $N rows"
is "$ndeliveries" "$((bad + ndr))" "the nodes delivered $((bad + ndr)) bounces to rebound-pipe"
is "$nstored" "$((bad + ndr))" "each stored as exactly one event"
is "$nbad" 0 "message by message: sink, row, queue ids, token, events and deliveries agree"
is "$(cat "$T"/{a,b}/log/maillog | grep -c 'relay=rebound, .*status=bounced')" 0 \
	"no bounce bounced by the rebound transport"
is "$(q "SELECT count(*) FROM rebound.messages")" "$N" "no other message row"
is "$(q "SELECT count(*) FILTER (WHERE address ~ '^b[0-9]+@bad[.]example$'), count(*)
	FROM rebound.suppressions")" "$bad|$bad" "the $bad bad addresses, and only they, are suppressed"

# --- the suppression list reaches both milters ----------------------------------
# refused NODE ADDRESS - the node's milter refuses ADDRESS at RCPT
refused() {
	swaks -s "127.0.0.1:${PORT[$1]}" --helo client.example --from ann@example.com --to "$2" \
		--quit-after RCPT 2>&1 | grep -q "<\*\* *550 5\.1\.1 <$2>: recipient suppressed"
}
# A hard bounce stored after the promotion, of each node's Postfix,
# refused by the other node too.
for n in a b; do
	parity=$([ $n = a ] && echo 0 || echo 1)
	addr=$(q "SELECT recipient FROM rebound.events WHERE kind = 'rejected'
		AND received_at > to_timestamp($promoted) AND recipient ~ '^b[0-9]+@'
		AND substring(recipient FROM '^b([0-9]+)@')::int % 2 = $parity
		ORDER BY received_at DESC LIMIT 1")
	if [ -z "$addr" ]; then
		ok 1 "node $n: a bounce of its own was stored after the failover"
		continue
	fi
	refused a "$addr" && refused b "$addr"
	ok $? "$addr, suppressed by node $n's DSN after the failover, is refused by both milters"
done
addr=failover-probe@good.example
rebound_run suppress add --reason soak "$addr" >/dev/null
ok $? "the rebound tool adds a suppression through the same connection string"
both_refuse() { refused a "$addr" && refused b "$addr"; }
wait_for 10 both_refuse
ok $? "both milters refuse it at RCPT within 10 s (LISTEN on the new primary)"

# --- figures --------------------------------------------------------------------
for n in a b; do
	node_stop "$n"
	is $? 0 "node $n: the milter stopped cleanly"
done
milter_clean_stderr_of() { T=$T/$1 milter_clean_stderr; }
milter_clean_stderr_of a
milter_clean_stderr_of b
deferred=$(cat "$T"/{a,b}/log/maillog | grep -c 'relay=rebound, .*status=deferred')
# The longest a bounce that the failover deferred waited until it was
# stored: the delay= of its final delivery, which counts from its arrival.
longest=$(cat "$T"/{a,b}/log/maillog | awk '
	/relay=rebound, .*status=deferred/ { d[$6] = 1 }
	/relay=rebound, .*status=sent/ { match($0, /delay=[0-9.]+/); s[$6] = substr($0, RSTART + 6, RLENGTH - 6) }
	END { m = 0; for (q in d) if (s[q] + 0 > m) m = s[q] + 0; print m }')
reason=$(cat "$T"/{a,b}/log/maillog | grep -m1 'relay=rebound, .*status=deferred' |
	sed 's/.*status=deferred (//; s/ *)$//')
ok $((spooled[a] + spooled[b] + deferred > 0 ? 0 : 1)) "the failover was felt: records spooled or bounces deferred"
msecs=$(sed -n 's/^seconds //p' "$T/log/sender.log")
csecs=$(sed -n 's/^half //p' "$T/log/sender.log")
bsecs=$(echo "$end - $start" | bc -l)
printf '# soak: %d messages in %.1f s: %.1f messages/s accepted over 2 nodes, failover included;\n' \
	"$N" "$msecs" "$(echo "$N / $msecs" | bc -l)"
printf '# soak: %.1f messages/s before the failover (the first %d in %.1f s)\n' \
	"$(echo "$crash_at / $csecs" | bc -l)" "$crash_at" "$csecs"
printf '# soak: %d bounces stored in %.1f s from the start: %.1f bounces/s\n' \
	"$((bad + ndr))" "$bsecs" "$(echo "($bad + $ndr) / $bsecs" | bc -l)"
diag "soak: $deferred bounce deliveries deferred by the failover (${reason:-none}); the longest" \
	"deferred bounce was stored $longest s after it arrived"
diag "soak: records spooled by the milters: a ${spooled[a]}, b ${spooled[b]};" \
	"replayed: a ${replayed[a]}, b ${replayed[b]}"
# When each milter had the new primary, by the times in its log (whole
# seconds) against the time the standby's log gives its promotion: the
# machine's load delays the test's polling, not these.
promoted_at=$(grep 'database system is ready to accept connections' "$T/log/postgres2.log" |
	tail -1 | awk '{ print $1, $2, $3 }')
promoted_at=$(date -d "$promoted_at" +%s.%N)
# after_promotion NODE REGEX SKIP - at most how many seconds after the
# promotion the first line matching REGEX after the SKIP logged before the
# crash was written, or with SKIP "last", the last.  The log's stamps are
# whole seconds, so the line came before the end of its second: that end,
# rounded up.
after_promotion() {
	local line pick=\$
	[ "$3" = last ] || pick=$(($3 + 1))
	line=$(grep -E -- "$2" "$T/$1/log/rebound.log" | sed -n "${pick}p")
	[ -n "$line" ] && awk -v s="$(date -u -d "${line%% *}Z" +%s)" -v p="$promoted_at" \
		'BEGIN { d = s + 1 - p; c = int(d); if (c < d) c++; print (c > 0 ? c : 0) }'
}
figures=""
for n in a b; do
	figures="$figures; node $n: writer <= $(after_promotion $n "$WRITER" "${before[$n.writer]}") s,"
	figures="$figures loader <= $(after_promotion $n "$LOADER" "${before[$n.loader]}") s,"
	figures="$figures spool stored <= $(after_promotion $n 'spool: [0-9]+ records stored' last) s"
done
diag "soak: after the promotion, from the milters' logs (whole seconds)${figures#;}"
done_testing
