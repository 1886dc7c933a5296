#!/bin/bash
# soak-milter.sh - load and soak test of rebound-milter; not part of make check.
#
#   make soak [SOAK_MILTER_N=10000]
#
# A private Postfix and PostgreSQL (tests/lib/harness.sh) with rebound-milter
# in outbound mode (smtpd_milters, milter_default_action = tempfail, as in
# tests/bench-milter.sh).  SOAK_MILTER_N messages from a sender domain go
# over SOAK_MILTER_SESSIONS parallel SMTP sessions (python3 smtplib) to
# recipients at good.example, which Postfix relays to smtp-sink.  The
# number of recipients follows SOAK_MILTER_RCPTS, one entry per message in
# turn (by default 60% of the messages have one recipient, and so get a
# single-recipient token); every third message carries the tags
# campaign=soak and seq=<its number>, in one X-Rebound-Tag header or in
# two.  When about half the messages have been accepted PostgreSQL is
# stopped for SOAK_MILTER_OUTAGE seconds, so that the milter spools its
# records, and then started again, so that it replays them.
#
# Afterwards: every message was accepted and delivered to the sink once,
# with a signed return path whose token is the one stored for it, valid,
# and marked single-recipient exactly when the message had one recipient;
# the milter spooled during the outage, replayed every spooled record and
# its spool is empty; rebound.messages holds exactly one row per message
# with its recipients and tags; nothing bounced; the milter ran throughout
# and stopped cleanly.  The throughput, the milter's peak RSS, the records
# spooled and replayed and the time the spool took to drain are printed.
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/milter.sh"
N=${SOAK_MILTER_N:-10000}
SESSIONS=${SOAK_MILTER_SESSIONS:-4}
RCPTS=${SOAK_MILTER_RCPTS:-1 1 2 1 3 1 5 1 10 1}
OUTAGE=${SOAK_MILTER_OUTAGE:-8}

rb_init
milter_init
pg_start
milter_conf
milter_start
wait_for 20 milter_logged "suppression list loaded" || diag "suppression list not loaded"
POSTFIX_EXTRA="smtpd_milters = inet:127.0.0.1:$P_MILTER
milter_default_action = tempfail" postfix_start

# What the run must leave behind, worked out here from the same pattern the
# sender follows: message i has ${RCPTS[i mod length]} recipients and is
# tagged when i is a multiple of 3.
read -ra pattern <<<"$RCPTS"
want_rcpts=0 want_single=0
for ((i = 0; i < N; i++)); do
	k=${pattern[i % ${#pattern[@]}]}
	want_rcpts=$((want_rcpts + k))
	[ "$k" -eq 1 ] && want_single=$((want_single + 1))
done
want_tagged=$(((N + 2) / 3))
diag "soak: $N messages, $want_rcpts recipients ($want_single messages with one)," \
	"$want_tagged tagged, $SESSIONS sessions, PostgreSQL away for ${OUTAGE}s half way"

# The spool files are named by a counter and removed once replayed.  A
# hard link to each, taken as it appears, keeps its final content (the
# milter closes a file before it replays it, and never appends to it
# again), so that the records spooled can be counted afterwards; a number
# missing from the sequence would mean a file came and went unseen.
mkdir -p "$T/spool-seen"
(
	while :; do
		for f in "$MILTER_SPOOL"/*.spool; do
			[ -e "$f" ] && [ ! -e "$T/spool-seen/${f##*/}" ] && ln "$f" "$T/spool-seen/" 2>/dev/null
		done
		sleep 0.05
	done
) &
WATCHER=$!
RB_PIDS="$RB_PIDS $WATCHER"

start=$(date +%s.%N)
# Sessions reconnect every 100 messages, so that the milter also sees
# connections come and go.  Each message: MAIL from the sender domain,
# its recipients, a Message-ID that names it, tags on every third.  The
# sender prints "accepted N" and "refused M" and the first refusals.
python3 - "$P_SMTP" "$SENDER_DOMAIN" "$N" "$SESSIONS" "$RCPTS" >"$T/log/sender.log" 2>&1 <<'EOP' &
import smtplib, sys, threading
port, domain, n, sessions, pattern = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), \
    [int(k) for k in sys.argv[5].split()]
lock = threading.Lock()
accepted, refused = [0], []
def message(i, rcpts):
    h = [f"From: Soak <ann@{domain}>", f"To: {rcpts[0]}", f"Subject: soak {i}",
         f"Message-ID: <soak-m{i}@client.example>"]
    if i % 6 == 0:
        h += ["X-Rebound-Tag: campaign=soak", f"X-Rebound-Tag: seq={i}"]
    elif i % 3 == 0:
        h += [f"X-Rebound-Tag: campaign=soak; seq={i}"]
    return ("\r\n".join(h) + f"\r\n\r\nMessage {i} of the rebound-milter soak.\r\n").encode()
def worker(t):
    s = None
    for c, i in enumerate(range(t, n, sessions)):
        rcpts = [f"u{i}.{j}@good.example" for j in range(pattern[i % len(pattern)])]
        try:
            if s is None or c % 100 == 0:
                if s is not None:
                    s.quit()
                s = smtplib.SMTP("127.0.0.1", int(port))
                s.ehlo("client.example")
            partly = s.sendmail(f"ann@{domain}", rcpts, message(i, rcpts))
            with lock:
                if partly:
                    refused.append(f"{i}: recipients refused: {partly!r}")
                else:
                    accepted[0] += 1
        except (smtplib.SMTPException, OSError) as e:
            with lock:
                refused.append(f"{i}: {e!r}")
            try:
                s.close()
            except Exception:
                pass
            s = None
    if s is not None:
        s.quit()
threads = [threading.Thread(target=worker, args=(t,)) for t in range(sessions)]
for th in threads:
    th.start()
for th in threads:
    th.join()
print(f"accepted {accepted[0]}")
print(f"refused {len(refused)}")
print("\n".join(refused[:20]))
EOP
SENDER=$!

signed() { grep -c 'return-path=<bounces+' "$MILTER_LOG"; }
pg_outage signed "$N" "$OUTAGE" 900
at_resume=$OUTAGE_RESUMED
resumed=$(date +%s.%N)

# The writer tries to reconnect at growing intervals, up to 5 s
# (milter/writer.c), so that part of the drain time is spent waiting for
# it.  The spool has drained once the milter has stored what it spooled
# and no spool file is left.
wait_for 60 milter_logged "database available again"
ok $? "the milter reconnected"
reconnect=$(echo "$(date +%s.%N) - $resumed" | bc -l)
spool_empty() { ! compgen -G "$MILTER_SPOOL/*.spool" >/dev/null; }
drained() { milter_logged "spool: [0-9]+ records stored" && spool_empty; }
wait_for 300 drained
ok $? "the spool drained after PostgreSQL came back"
drain=$(echo "$(date +%s.%N) - $resumed" | bc -l)

wait "$SENDER"
ok $? "the sender finished"
is "$(sed -n 's/^accepted //p' "$T/log/sender.log")" "$N" "all $N messages accepted over SMTP"
is "$(sed -n 's/^refused //p' "$T/log/sender.log")" 0 "none refused or deferred by Postfix or the milter"
[ "$(sed -n 's/^refused //p' "$T/log/sender.log")" = 0 ] || diag "$(tail -n +3 "$T/log/sender.log")"
stored() { [ "$(q "SELECT count(*) FROM rebound.messages")" -ge "$N" ]; }
all_done() { queue_empty && stored && spool_empty; }
wait_for 1200 all_done
ok $? "Postfix queue empty, spool empty, every message in PostgreSQL"
end=$(date +%s.%N)

# --- the milter ----------------------------------------------------------------
kill -0 "$MILTER_PID" 2>/dev/null
ok $? "the milter ran throughout"
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$MILTER_PID/status")
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$MILTER_PID/status")
kill "$WATCHER" 2>/dev/null
wait "$WATCHER" 2>/dev/null
RB_PIDS=${RB_PIDS/ $WATCHER/}
milter_stop
is $? 0 "the milter stopped cleanly"
is "$(cat "$T/log/milter.stderr" "$MILTER_LOG" | grep -Ec 'fatal|panic')" 0 "no fatal error from the milter"
is "$(grep -Ec 'record dropped|record lost|malformed records|spool replay:' "$MILTER_LOG")" 0 \
	"no record dropped, lost or malformed"
milter_logged "database (unavailable|lost|failed), spooling records"
ok $? "the milter logged that it was spooling while PostgreSQL was away"
milter_logged "database available again"
ok $? "and that the database was back"

# Spooled: the lines of every spool file seen; replayed: what the milter
# says it stored from the spool.
files=$(find "$T/spool-seen" -name '*.spool' | wc -l)
spooled=$(cat "$T"/spool-seen/*.spool 2>/dev/null | wc -l)
replayed=$(sed -nE 's/.*spool: ([0-9]+) records stored.*/\1/p' "$MILTER_LOG" | awk '{ s += $1 } END { print s + 0 }')
last=$(find "$T/spool-seen" -name '*.spool' -printf '%f\n' | sort | tail -1)
ok $(((files > 0 && spooled > 0) ? 0 : 1)) "records were spooled during the outage ($spooled in $files files)"
if [ -n "$last" ] && [ "$((16#${last%.spool}))" -eq "$files" ]; then
	is "$replayed" "$spooled" "every spooled record was replayed once"
else
	diag "soak: spool files $files, last ${last:-none}: a file came and went unseen; $spooled is a lower bound"
	ok $((replayed >= spooled ? 0 : 1)) "at least the spooled records seen were replayed"
fi
spool_empty
ok $? "the spool is empty"

# --- Postfix and the sink -------------------------------------------------------
is "$(grep -c 'status=bounced' "$T/log/maillog")" 0 "nothing bounced"
is "$(grep -Ec "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_GOOD, .*status=sent" "$T/log/maillog")" \
	"$want_rcpts" "Postfix delivered each of the $want_rcpts recipients to the sink once"
is "$(grep -c 'milter-reject' "$T/log/maillog")" 0 "no milter-reject in Postfix's log"

# --- PostgreSQL -----------------------------------------------------------------
is "$(q "SELECT count(*), count(DISTINCT token), count(DISTINCT message_id_header)
	FROM rebound.messages WHERE message_id_header LIKE 'soak-m%@client.example'")" "$N|$N|$N" \
	"rebound.messages: one row per message, distinct tokens"
is "$(q "SELECT count(*) FROM rebound.messages")" "$N" "and no other row"
is "$(q "SELECT count(*) FROM rebound.recipients")" "$want_rcpts" \
	"rebound.recipients: $want_rcpts rows"
is "$(q "SELECT count(*) FROM rebound.messages WHERE tags <> '{}'")" "$want_tagged" \
	"$want_tagged messages with tags"
is "$(q "SELECT count(*) FROM rebound.events")" 0 "no event (nothing was refused)"

# Message by message: the sink's copy, the row and the token.  The sink
# dump names the return path (X-Mail-Args) and the recipients
# (X-Rcpt-Args) of each transaction; `rebound return-path check` says
# whether each token is valid and marks a single recipient.
q "SELECT row_to_json(x) FROM (SELECT m.message_id_header AS mid, m.token, m.tags,
	m.envelope_sender AS sender, array_agg(r.address ORDER BY r.address) AS rcpts
	FROM rebound.messages m LEFT JOIN rebound.recipients r ON r.message_id = m.id
	GROUP BY m.id) x" >"$T/log/messages.jsonl"
grep -h '^X-Mail-Args:' "$T"/sink/* | grep -o 'bounces+[a-z2-7]*@[^> ]*' | sort -u >"$T/log/return-paths"
xargs "$T/bin/rebound" -c "$T/etc/rebound.conf" return-path check <"$T/log/return-paths" \
	>"$T/log/check.txt" 2>&1
python3 - "$T/sink" "$T/log/messages.jsonl" "$T/log/check.txt" "$N" "$RCPTS" "ann@$SENDER_DOMAIN" \
	>"$T/log/compare.txt" <<'EOP'
import json, os, re, sys
sink, rows_path, check_path, n, pattern, sender = sys.argv[1], sys.argv[2], sys.argv[3], \
    int(sys.argv[4]), [int(k) for k in sys.argv[5].split()], sys.argv[6]
bad = []
seen = {}                       # message number -> (token, recipients)
dumps = 0
for name in os.listdir(sink):
    dumps += 1
    text = open(os.path.join(sink, name), "rb").read().decode("utf-8", "replace")
    head = text.split("\n\n", 1)[0]
    mail = re.search(r"(?im)^X-Mail-Args:.*bounces\+([a-z2-7]+)@", head)
    mid = re.search(r"(?im)^Message-ID:\s*<soak-m(\d+)@client\.example>", head)
    rcpts = sorted(m.lower() for m in re.findall(r"(?im)^X-Rcpt-Args:\s*<([^>]*)>", head))
    if not mail or not mid:
        bad.append(f"{name}: no signed return path or no soak Message-ID")
        continue
    if re.search(r"(?im)^X-Rebound-Tag:", head):
        bad.append(f"{name}: X-Rebound-Tag reached the sink")
    token = re.search(r"(?im)^X-Rebound-Token:\s*(\S+)", head)
    if not token or token.group(1) != mail.group(1):
        bad.append(f"{name}: X-Rebound-Token missing or not the return path's")
    i = int(mid.group(1))
    if i in seen:
        bad.append(f"message {i} reached the sink twice")
    seen[i] = (mail.group(1), rcpts)
verdict = {}
for line in open(check_path):
    m = re.match(r"bounces\+([a-z2-7]+)@\S+: token=(\S+)(.*)", line)
    if m:
        verdict[m.group(1)] = (m.group(2), "single_recipient" in m.group(3))
rows = {}
for line in open(rows_path):
    r = json.loads(line)
    m = re.fullmatch(r"soak-m(\d+)@client\.example", r["mid"] or "")
    if not m:
        bad.append(f"row with an unexpected Message-ID {r['mid']}")
        continue
    rows[int(m.group(1))] = r
single = 0
for i in range(n):
    k = pattern[i % len(pattern)]
    want = sorted(f"u{i}.{j}@good.example" for j in range(k))
    tags = {"campaign": "soak", "seq": str(i)} if i % 3 == 0 else {}
    r = rows.get(i)
    if i not in seen:
        bad.append(f"message {i} did not reach the sink")
    elif seen[i][1] != want:
        bad.append(f"message {i}: the sink got {seen[i][1]}")
    if r is None:
        bad.append(f"message {i} has no row")
        continue
    if r["rcpts"] != want:
        bad.append(f"message {i}: recipients {r['rcpts']}, want {want}")
    if r["tags"] != tags:
        bad.append(f"message {i}: tags {r['tags']}, want {tags}")
    if r["sender"] != sender:
        bad.append(f"message {i}: envelope sender {r['sender']}")
    if i in seen and seen[i][0] != r["token"]:
        bad.append(f"message {i}: the sink saw token {seen[i][0]}, the row has {r['token']}")
    v = verdict.get(r["token"])
    if v is None or v[0] != "valid":
        bad.append(f"message {i}: token {r['token']} is {v[0] if v else 'unchecked'}")
    elif v[1] != (k == 1):
        bad.append(f"message {i}: {k} recipients, single-recipient mark {v[1]}")
    single += v is not None and v[1]
print(f"dumps {dumps} messages {len(seen)} rows {len(rows)} single {single} mismatches {len(bad)}")
for b in bad[:50]:
    print(b)
EOP
read -r _ dumps _ sunk _ nrows _ nsingle _ nbad <"$T/log/compare.txt"
tail -n +2 "$T/log/compare.txt" | while read -r line; do diag "mismatch: $line"; done
is "$dumps" "$N" "smtp-sink received $N transactions"
is "$sunk" "$N" "each of the $N messages, with a signed return path and the same X-Rebound-Token"
is "$nrows" "$N" "each with its row in rebound.messages"
is "$nsingle" "$want_single" "$want_single tokens marked single-recipient, those of the one-recipient messages"
is "$nbad" 0 "message by message: sink, row, recipients, tags, token and its verdict agree"

secs=$(echo "$end - $start" | bc -l)
printf '# soak: %d messages (%d recipients) in %.1f s: %.1f messages/s end to end (SMTP, Postfix, milter, smtp-sink, PostgreSQL)\n' \
	"$N" "$want_rcpts" "$secs" "$(echo "$N / $secs" | bc -l)"
diag "soak: rebound-milter peak RSS (VmHWM) $hwm kB, $rss kB at the end"
diag "soak: records spooled $spooled (in $files files), replayed $replayed;" \
	"spool drained $(printf '%.1f' "$drain") s after PostgreSQL came back" \
	"(the milter reconnected after $(printf '%.1f' "$reconnect") s)"
diag "soak: Postfix deliveries deferred: $(grep -c 'status=deferred' "$T/log/maillog")"
done_testing
