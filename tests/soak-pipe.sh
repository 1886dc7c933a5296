#!/bin/bash
# soak-pipe.sh - load and soak test of the pipe path; not part of make check.
#
#   make soak [SOAK_N=10000]
#
# A private Postfix and PostgreSQL (tests/lib/harness.sh).  SOAK_N bounces
# go over SMTP to the bounce domain, so through Postfix to rebound-pipe at
# the master.cf process limit of the harness (10) and into PostgreSQL:
# 70% generated DSNs, each for a distinct recipient; 20% corpus files,
# each sent several times (identical reports: duplicates); 10% resends of
# generated DSNs (duplicates).  PostgreSQL is restarted half way, so that
# deliveries defer (exit 75) and Postfix retries them.  Afterwards: the
# queue is empty, nothing bounced, every message was recorded by exactly
# one delivery, every distinct generated report has exactly one event,
# and the throughput and rebound-pipe's peak RSS are printed.
#
# The corpus copies are checked file by file: the sender notes the Postfix
# queue id of every copy (from the 250 reply to DATA), the events stored
# under those queue ids are the events of that file, and they must be
# exactly what `rebound-pipe --classify` (the batch mode, same
# configuration, no database) says about the file on its own: the same
# recipients, kinds, reasons, categories, hard/soft, status and reply
# codes, actions, diagnostics and rules, each once however many copies
# were sent.  A file in which the classifier recognises no report is
# stored as one event of kind unknown (rule unparsed), as rebound-pipe(8)
# does for any such message.
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/harness.sh"
N=${SOAK_N:-10000}
CORPUS=${CORPUS:-$REPO/../shared/corpus}
[ -d "$CORPUS/emails" ] || bail_out "corpus $CORPUS/emails not found (CORPUS=)"
command -v /usr/bin/time >/dev/null || bail_out "GNU time not found (make deps)"

rb_init
pg_start
rb_write_conf
# rebound-pipe under GNU time, for its peak RSS per delivery.
mv "$T/bin/rebound-pipe" "$T/bin/rebound-pipe.real"
cat >"$T/bin/rebound-pipe" <<EOW
#!/bin/sh
exec /usr/bin/time -a -o $T/log/rss -f 'rss %M' $T/bin/rebound-pipe.real "\$@"
EOW
chmod 755 "$T/bin/rebound-pipe"
touch "$T/log/rss" && chmod 666 "$T/log/rss"
# Long queue ids are never reused, so that a queue id names one copy for
# the whole run.  The bounces stand for mail from remote MTAs, whose
# headers Postfix leaves alone; from 127.0.0.1 it would by default treat
# them as local mail and add a Message-ID to the corpus files that have
# none (four), a different one for each copy, which would make the
# copies distinct reports.
POSTFIX_EXTRA="enable_long_queue_ids = yes
local_header_rewrite_clients =" postfix_start

GEN=$((N * 7 / 10)) COR=$((N * 2 / 10))
DUP=$((N - GEN - COR))
diag "soak: $N bounces: $GEN generated, $COR corpus, $DUP resent duplicates"

start=$(date +%s.%N)
# The sender writes one line per message it sent, "queue-id TAB g TAB n"
# for generated report n and "queue-id TAB c TAB file TAB part TAB key"
# for part (message) of a corpus file, key standing for the report's
# identity as rebound-pipe computes it for deduplication (Message-ID and
# body, pipe/deliver.c); and "file TAB parts" for every corpus file to
# $T/log/parts.  A corpus file that starts with an mbox "From " line may
# hold several messages (rebound-pipe --classify reads it so): each is
# sent on its own, without its "From " line, which no MTA would send.
python3 - "$P_SMTP" "$CORPUS/emails" "$T/log" "$GEN" "$COR" "$DUP" >"$T/log/sender.log" 2>&1 <<'EOP' &
import hashlib, os, random, re, smtplib, sys
port, corpus, logdir, gen, cor, dup = sys.argv[1], sys.argv[2], sys.argv[3], *map(int, sys.argv[4:])
files = sorted(f for f in os.listdir(corpus) if not f.startswith("."))
def messages(data):
    """The messages of a file, split as common/classify/batch.c splits an mbox."""
    if not data.startswith(b"From "):
        return [data]
    out, p = [], 0
    while p < len(data):
        q = data.find(b"\n\nFrom ", p + 4)
        nxt = len(data) if q < 0 else q + 2
        m = data[p:nxt]
        out.append(m[m.find(b"\n") + 1:] if b"\n" in m else b"")
        p = nxt
    return out
def wire(m):
    """CRLF line ends: smtplib sends bytes as they are, and after a bare LF
    it would end the data with an extra empty line.  Postfix stores LF."""
    return m.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
def identity(m):
    m = m.replace(b"\r\n", b"\n")
    end = m.find(b"\n\n")
    head, body = (m[:end + 1], m[end + 1:]) if end >= 0 else (m, b"")
    mid = re.search(rb"(?im)^message-id:[ \t]*<?([^> \t\r\n]*)", head)
    return hashlib.sha256((mid.group(1) if mid else b"") + b"\n" + body).hexdigest()[:16]
parts = []
with open(os.path.join(logdir, "parts"), "w") as pf:
    for f in files:
        ms = messages(open(os.path.join(corpus, f), "rb").read())
        pf.write(f"{f}\t{len(ms)}\n")
        parts += [(f, k, wire(m), identity(m)) for k, m in enumerate(ms)]
def dsn(i):
    return ("From: Mail Delivery System <MAILER-DAEMON@mx.soak.example>\n"
            f"To: bounces+r{i}=soak.example@bounce.example.test\n"
            f"Subject: Undelivered Mail Returned to Sender\nMessage-Id: <soak-{i}@mx.soak.example>\n"
            "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"S\"\n\n"
            "--S\nContent-Type: text/plain\n\nUndeliverable.\n\n"
            "--S\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.soak.example\n\n"
            f"Final-Recipient: rfc822; r{i}@soak.example\nAction: failed\nStatus: 5.1.1\n"
            f"Diagnostic-Code: smtp; 550 5.1.1 <r{i}@soak.example>: user unknown ({i})\n\n--S--\n").encode()
def send(s, rcpt, body):
    """One transaction; the queue id from the reply to DATA."""
    code, resp = s.mail("")
    if code != 250:
        raise RuntimeError(f"MAIL: {code} {resp!r}")
    code, resp = s.rcpt(rcpt)
    if code not in (250, 251):
        raise RuntimeError(f"RCPT: {code} {resp!r}")
    code, resp = s.data(body)
    m = re.search(rb"queued as ([0-9A-Za-z]+)", resp)
    if code != 250 or not m:
        raise RuntimeError(f"DATA: {code} {resp!r}")
    return m.group(1).decode()
jobs = [("g", i) for i in range(gen)] + [("c", i % len(parts)) for i in range(cor)]
jobs += [("g", random.Random(i).randrange(gen)) for i in range(dup)]
random.Random(42).shuffle(jobs)
s = smtplib.SMTP("127.0.0.1", int(port))
s.ehlo("mx.soak.example")
with open(os.path.join(logdir, "sent"), "w") as sent:
    for n, (kind, i) in enumerate(jobs):
        if kind == "g":
            qid = send(s, f"bounces+r{i}=soak.example@bounce.example.test", wire(dsn(i)))
            sent.write(f"{qid}\tg\t{i}\n")
        else:
            f, k, body, key = parts[i]
            qid = send(s, "bounces@bounce.example.test", body)
            sent.write(f"{qid}\tc\t{f}\t{k}\t{key}\n")
        if n % 1000 == 999:
            print(n + 1, flush=True)
s.quit()
print("done", flush=True)
EOP
SENDER=$!

recorded() { grep -c 'status=recorded' "$T/log/rebound.log"; }
pg_outage recorded "$N" 5 600
wait "$SENDER"
ok $? "all $N messages accepted over SMTP"
all_done() { queue_empty && [ "$(recorded)" -ge "$N" ]; }
wait_for 1200 all_done
ok $? "Postfix queue empty"
end=$(date +%s.%N)

is "$(recorded)" "$N" "every message recorded by exactly one delivery"
deferred=$(grep -c 'status=deferred' "$T/log/rebound.log")
diag "soak: $deferred deliveries deferred by the restart and retried"
is "$(grep -c 'status=bounced' "$T/log/maillog")" 0 "nothing bounced"
is "$(grep -c 'relay=rebound, .*status=sent' "$T/log/maillog")" "$N" \
	"Postfix delivered each message once"
is "$(q "SELECT count(*) FROM rebound.events WHERE recipient LIKE 'r%@soak.example'")" "$GEN" \
	"each of the $GEN distinct generated reports has one event"
is "$(q "SELECT count(*) FROM (SELECT recipient FROM rebound.events WHERE recipient LIKE 'r%@soak.example'
	GROUP BY recipient HAVING count(*) > 1) d")" 0 "no generated report stored twice"
events=$(q "SELECT count(*) FROM rebound.events")
diag "soak: $events events in all"

# --- the corpus copies, file by file -------------------------------------------
# The classifier on its own, on the files that were sent, with the same
# rules as the deliveries (which came over SMTP, so none is our own
# Postfix's, as in batch mode); it does not touch the database.  Then every stored event with the queue id of the delivery
# that stored it.
awk -F '\t' '$2 == "c" { print $3 }' "$T/log/sent" | sort -u | sed "s|^|$CORPUS/emails/|" |
	xargs -d '\n' "$T/bin/rebound-pipe.real" -c "$T/etc/rebound.conf" --classify \
	>"$T/log/classify.jsonl" 2>"$T/log/classify.err"
ok $? "rebound-pipe --classify read every corpus file that was sent"
q "SELECT row_to_json(e) FROM (SELECT queue_id, recipient, kind, reason, category, hard,
	status, reply_code, action, diagnostic, rule, raw_message_id IS NOT NULL AS raw
	FROM rebound.events) e" >"$T/log/events.jsonl"
python3 - "$T/log/sent" "$T/log/parts" "$T/log/classify.jsonl" "$T/log/events.jsonl" \
	>"$T/log/compare.txt" <<'EOP'
import collections, json, os, sys
sent_path, parts_path, cls_path, ev_path = sys.argv[1:]
nparts = {f: int(n) for f, n in (l.rstrip("\n").split("\t") for l in open(parts_path))}
sent = {}                                   # queue id -> the line's fields
copies = collections.defaultdict(list)      # file -> [(part, queue id, identity)]
reused = 0
for line in open(sent_path):
    f = line.rstrip("\n").split("\t")
    reused += f[0] in sent
    sent[f[0]] = f[1:]
    if f[1] == "c":
        copies[f[2]].append((int(f[3]), f[0], f[4]))
# Only files every message of which was sent can be compared (SOAK_N may be small).
files = sorted(f for f in copies if {c[0] for c in copies[f]} == set(range(nparts[f])))
# Files whose messages have the same identity are one report to rebound-pipe
# (arf-22 and arf-23 differ in a header line only): they are compared together.
group = {f: f for f in files}
def find(f):
    while group[f] != f:
        f = group[f]
    return f
by_key = {}
for f in files:
    for _, _, key in copies[f]:
        if key in by_key:
            group[find(f)] = find(by_key[key])
        by_key.setdefault(key, f)
groups = collections.defaultdict(list)
for f in files:
    groups[find(f)].append(f)

def blank(v):
    return None if v == "" else v
FIELDS = ("recipient", "kind", "reason", "category", "hard", "status", "replycode", "action",
          "diagnostic", "rule")
def from_classify(j):
    return tuple(blank(j[k]) for k in FIELDS)
def from_event(e):
    e = dict(e, replycode=None if e["reply_code"] is None else str(e["reply_code"]))
    return tuple(blank(e[k]) for k in FIELDS)

classified = collections.defaultdict(list)
for line in open(cls_path):
    j = json.loads(line)
    classified[os.path.basename(j["file"])].append(from_classify(j))
stored = collections.defaultdict(list)      # queue id -> events
for line in open(ev_path):
    e = json.loads(line)
    stored[e["queue_id"]].append(e)
stray = sum(len(v) for q, v in stored.items() if q not in sent)

mismatches = []
for g in sorted(groups):
    members = groups[g]
    # The events rebound-pipe must have stored once for the group: the
    # classifier's, one per deduplication key (common/store/store.c), or, for a
    # file in which it recognises no report, one unknown event kept raw.
    want, unknown = {}, False
    for f in members:
        if not classified[f]:
            unknown = True
        for t in classified[f]:
            key = (t[0], t[1], t[5], t[7])
            if key in want and want[key] != t:
                mismatches.append(f"{' '.join(members)}: one report, classified differently: {t}")
            want.setdefault(key, t)
    got = [e for f in members for _, q, _ in copies[f] for e in stored.get(q, [])]
    if unknown and not want:
        ok = (len(got) == 1 and got[0]["kind"] == "unknown" and got[0]["recipient"] is None
              and got[0]["raw"])
        if not ok:
            mismatches.append(f"{' '.join(members)}: want one unknown event kept raw, got "
                              f"{[from_event(e) for e in got]}")
        continue
    if unknown:
        mismatches.append(f"{' '.join(members)}: one report, recognised in one file only")
    want_l = sorted(want.values(), key=repr)
    got_l = sorted((from_event(e) for e in got), key=repr)
    if want_l != got_l:
        missing = list((collections.Counter(want_l) - collections.Counter(got_l)).elements())
        extra = list((collections.Counter(got_l) - collections.Counter(want_l)).elements())
        mismatches.append(f"{' '.join(members)}: missing {missing} extra {extra}")

print(f"files {len(files)} reports {len(groups)} copies "
      f"{sum(len(copies[f]) for f in files)} skipped {len(copies) - len(files)} "
      f"stray {stray} reused {reused} mismatches {len(mismatches)}")
for m in mismatches:
    print(m[:1500])
EOP
read -r _ nfiles _ nreports _ ncopies _ skipped _ stray _ reused _ nmis <"$T/log/compare.txt"
diag "soak: corpus: $nfiles files ($nreports distinct reports, $ncopies copies) compared with" \
	"rebound-pipe --classify, $skipped not every part of which was sent, $nmis mismatches"
tail -n +2 "$T/log/compare.txt" | head -50 | while read -r line; do diag "mismatch: $line"; done
ok $((nfiles == 0)) "corpus files were compared"
is "$nmis" 0 "each corpus file's events stored once, exactly as rebound-pipe --classify has them"
is "$reused" 0 "no queue id named two messages"
is "$stray" 0 "every event was stored by a delivery of a message the sender sent"
secs=$(echo "$end - $start" | bc -l 2>/dev/null || python3 -c "print($end - $start)")
rss=$(sed -n 's/^rss //p' "$T/log/rss" | sort -n | tail -1)
med=$(sed -n 's/^rss //p' "$T/log/rss" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
printf '# soak: %d bounces in %.1f s: %.1f bounces/s end to end (SMTP, Postfix, rebound-pipe, PostgreSQL)\n' \
	"$N" "$secs" "$(python3 -c "print($N / $secs)")"
diag "soak: rebound-pipe runs: $(grep -c '^rss' "$T/log/rss"), peak RSS $rss kB, median $med kB"
done_testing
