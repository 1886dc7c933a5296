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
postfix_start

GEN=$((N * 7 / 10)) COR=$((N * 2 / 10))
DUP=$((N - GEN - COR))
diag "soak: $N bounces: $GEN generated, $COR corpus, $DUP resent duplicates"

start=$(date +%s.%N)
python3 - "$P_SMTP" "$CORPUS/emails" "$GEN" "$COR" "$DUP" >"$T/log/sender.log" 2>&1 <<'EOP' &
import os, random, smtplib, sys
port, corpus, gen, cor, dup = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
files = sorted(os.path.join(corpus, f) for f in os.listdir(corpus))
def dsn(i):
    return ("From: Mail Delivery System <MAILER-DAEMON@mx.soak.example>\n"
            f"To: bounces+r{i}=soak.example@bounce.example.test\n"
            f"Subject: Undelivered Mail Returned to Sender\nMessage-Id: <soak-{i}@mx.soak.example>\n"
            "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"S\"\n\n"
            "--S\nContent-Type: text/plain\n\nUndeliverable.\n\n"
            "--S\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.soak.example\n\n"
            f"Final-Recipient: rfc822; r{i}@soak.example\nAction: failed\nStatus: 5.1.1\n"
            f"Diagnostic-Code: smtp; 550 5.1.1 <r{i}@soak.example>: user unknown ({i})\n\n--S--\n").encode()
jobs = [("g", i) for i in range(gen)] + [("c", i % len(files)) for i in range(cor)]
jobs += [("g", random.Random(i).randrange(gen)) for i in range(dup)]
random.Random(42).shuffle(jobs)
s = smtplib.SMTP("127.0.0.1", int(port))
for n, (kind, i) in enumerate(jobs):
    if kind == "g":
        body, rcpt = dsn(i), f"bounces+r{i}=soak.example@bounce.example.test"
    else:
        body, rcpt = open(files[i], "rb").read(), "bounces@bounce.example.test"
    s.sendmail("", [rcpt], body)
    if n % 1000 == 999:
        print(n + 1, flush=True)
s.quit()
print("done", flush=True)
EOP
SENDER=$!

recorded() { grep -c 'status=recorded' "$T/log/rebound.log"; }
half() { [ "$(recorded)" -ge $((N / 2)) ]; }
wait_for 600 half || diag "half way not reached"
pg_stop
diag "soak: PostgreSQL stopped at $(recorded) recorded"
sleep 5
pg_resume
diag "soak: PostgreSQL restarted"
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
secs=$(echo "$end - $start" | bc -l 2>/dev/null || python3 -c "print($end - $start)")
rss=$(sed -n 's/^rss //p' "$T/log/rss" | sort -n | tail -1)
med=$(sed -n 's/^rss //p' "$T/log/rss" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
printf '# soak: %d bounces in %.1f s: %.1f bounces/s end to end (SMTP, Postfix, rebound-pipe, PostgreSQL)\n' \
	"$N" "$secs" "$(python3 -c "print($N / $secs)")"
diag "soak: rebound-pipe runs: $(grep -c '^rss' "$T/log/rss"), peak RSS $rss kB, median $med kB"
done_testing
