#!/bin/bash
# milter-restart.t - rebound-milter killed and restarted under load behind a
# real Postfix (smtpd_milters on the unix socket of contrib/postfix/main.cf,
# milter_default_action = tempfail).  SMTP clients send messages while the
# milter is killed with SIGKILL and started again at once, then stopped
# with SIGTERM and started again at once, as "restart" does.
# Afterwards: every message Postfix accepted left with a signed return
# path and is recorded exactly once, under the token the remote MX saw
# (the milter answered the end of each message only once its record was
# durable); and the milter that runs in the end takes connections, which
# it does not when the old one removed the new one's socket on its way
# out.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/milter.sh"
need_tool python3

rb_init
milter_init
pg_start
install -d -o nobody -g postfix -m 750 "$T/spool/rebound"
MILTER_SOCKET="unix:$T/spool/rebound/milter"
milter_conf
milter_start
POSTFIX_EXTRA="smtpd_milters = unix:rebound/milter
milter_default_action = tempfail" postfix_start

# load.py N THREADS FIRST PORT [STOP] - N messages from THREADS clients at
# once, each with Message-ID <load-I@client.example> (I from FIRST), or
# as many as come before the file STOP exists; prints "accepted I" or
# "refused I reason" for each, as it happens.  A refused client waits a
# little, so that the load outlasts a restart.
cat >"$T/bin/load.py" <<'EOF'
import itertools, os, smtplib, sys, threading, time
n, threads, first, port = (int(a) for a in sys.argv[1:5])
stop = sys.argv[5] if len(sys.argv) > 5 else None
lock = threading.Lock()
todo = iter(range(first, first + n)) if stop is None else itertools.count(first)

def say(line):
    with lock:
        print(line, flush=True)

def client():
    while True:
        with lock:
            i = next(todo, None)
        if i is None or (stop is not None and os.path.exists(stop)):
            return
        msg = ("From: ann@example.com\r\nTo: r%d@good.example\r\nSubject: load %d\r\n"
               "Message-ID: <load-%d@client.example>\r\n\r\nmessage %d\r\n" % (i, i, i, i))
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                s.sendmail("ann@example.com", ["r%d@good.example" % i], msg)
            say("accepted %d" % i)
        except Exception as e:
            say("refused %d %s" % (i, str(e).replace("\n", " ")))
            time.sleep(0.05)

ts = [threading.Thread(target=client) for _ in range(threads)]
for t in ts: t.start()
for t in ts: t.join()
EOF
accepted() { grep -c '^accepted' "$T/load.out" 2>/dev/null; }
at_least() { [ "$(accepted)" -ge "$1" ]; }

started=$SECONDS
python3 "$T/bin/load.py" 0 6 1 "$P_SMTP" "$T/stop-load" >"$T/load.out" &
load=$!
RB_PIDS="$RB_PIDS $load"

# --- SIGKILL under load, and a start at once; three times --------------------
# Each time, the records of the messages answered last must already be in
# PostgreSQL or the spool.
wait_for 30 at_least 60 || diag "60 messages not accepted: $(tail -2 "$T/load.out")"
for round in 1 2 3; do
	killed_at=$(accepted)
	kill -9 "$MILTER_PID"
	wait "$MILTER_PID" 2>/dev/null
	RB_PIDS=${RB_PIDS/ $MILTER_PID/}
	# No cleaning up: the socket and the pid file of the dead milter are left.
	"$T/bin/rebound-milter" -f -c "$T/etc/rebound.conf" 2>>"$T/log/milter.stderr" &
	MILTER_PID=$!
	RB_PIDS="$RB_PIDS $MILTER_PID"
	wait_for 20 at_least $((killed_at + 60))
	ok $? "mail flows again after SIGKILL $round and a start (killed at $killed_at accepted)"
done

# --- SIGTERM under load, and a start at once, as "restart" does --------------
restarted_at=$(accepted)
kill "$MILTER_PID"
"$T/bin/rebound-milter" -f -c "$T/etc/rebound.conf" 2>>"$T/log/milter.stderr" &
new=$!
RB_PIDS="$RB_PIDS $new"
wait "$MILTER_PID"
is "$?" 0 "the old milter stopped cleanly on SIGTERM"
RB_PIDS=${RB_PIDS/ $MILTER_PID/}
MILTER_PID=$new
wait_for 20 at_least $((restarted_at + 60))
ok $? "mail flows again after SIGTERM and a start"
touch "$T/stop-load"
wait "$load"
RB_PIDS=${RB_PIDS/ $load/}
diag "$(accepted) accepted, $(grep -c '^refused' "$T/load.out") refused while no milter" \
	"answered, in $((SECONDS - started)) s; restarted at $restarted_at"
like "$(grep -m1 '^refused' "$T/load.out")" "4\.7\.1" \
	"messages sent while no milter answered were refused with 4.7.1, not let through"

# --- the milter that runs now takes connections -------------------------------
python3 "$T/bin/load.py" 20 2 1001 "$P_SMTP" >"$T/after.out"
is "$(grep -c '^accepted' "$T/after.out")" 20 "after the restart, the milter's socket takes mail"
cat "$T/after.out" >>"$T/load.out"


# --- every accepted message: signed, and recorded once ------------------------
wait_for 60 queue_empty || diag "the queue did not empty"
q "SELECT message_id_header, token FROM rebound.messages" >"$T/rows.txt"
out=$(python3 - "$T/load.out" "$T/sink" "$T/rows.txt" <<'EOF'
import collections, os, re, sys
accepted = [l.split()[1] for l in open(sys.argv[1]) if l.startswith("accepted")]
# Each file smtp-sink wrote: the message's Message-ID and the token of the
# return path the remote MX saw (X-Mail-Args).
sunk = {}
unsigned = 0
for name in os.listdir(sys.argv[2]):
    text = open(os.path.join(sys.argv[2], name), errors="replace").read()
    mid = re.search(r"^Message-ID: <(load-\d+)@client\.example>", text, re.M | re.I)
    token = re.search(r"^X-Mail-Args: <bounces\+([a-z2-7]{34})@", text, re.M)
    if token is None:
        unsigned += 1
    elif mid is not None:
        sunk[mid.group(1)] = token.group(1)
rows = collections.defaultdict(list)
for l in open(sys.argv[3]):
    mid, _, token = l.rstrip("\n").partition("|")
    rows[mid].append(token)
lost = [i for i in accepted if "load-%s" % i not in sunk]
unrecorded = [i for i in accepted if len(rows.get("load-%s@client.example" % i, [])) == 0]
twice = [i for i in accepted if len(rows.get("load-%s@client.example" % i, [])) > 1]
wrong = [i for i in accepted if sunk.get("load-%s" % i) not in
         rows.get("load-%s@client.example" % i, [])]
print("accepted=%d unsigned=%d undelivered=%d unrecorded=%d twice=%d other_token=%d" %
      (len(accepted), unsigned, len(lost), len(unrecorded), len(twice), len(wrong)))
print("examples: %s" % (unrecorded + twice + wrong + lost)[:5])
EOF
)
diag "$out"
like "$(head -1 <<<"$out")" "^accepted=[0-9]+ unsigned=0 undelivered=0 " \
	"every accepted message reached the remote MX with a signed return path"
like "$(head -1 <<<"$out")" " unrecorded=0 twice=0 other_token=0$" \
	"every accepted message is recorded exactly once, under the token the MX saw"
spool_empty() { [ -z "$(ls "$MILTER_SPOOL")" ]; }
wait_for 10 spool_empty
ok $? "the spool is empty"

milter_stop
milter_clean_stderr
done_testing
