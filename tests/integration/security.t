#!/bin/bash
# security.t - what rebound-pipe writes to its log from hostile bounces is
# sanitised and length-bounded; a database password in a world-readable
# rebound.conf is refused; rebound-pipe refuses root (pipe.t checks the
# deferral too); make install gives root-owned files, no world-writable
# file, no setuid/setgid bit.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
D="$REPO/tests/data"

rb_init
pg_start
rb_write_conf
LOG=$T/log/rebound.log

# --- log sanitisation ------------------------------------------------------
# ANSI escapes, CR/LF, BEL and backspaces in the recipient, the queue id
# and the diagnostic; a 10 kB Final-Recipient.
ESC=$'\x1b'
long=$(head -c 10000 /dev/zero | tr '\0' L)
sed -e "s/^Final-Recipient: rfc822; bob@bad.example/Final-Recipient: rfc822; ${ESC}[2J${ESC}]0;pwned\x07bob\x08\x08@bad.example/" \
    -e "s/User unknown in virtual mailbox table/User ${ESC}[31munknown\rfake: status=recorded\x1b[0m/" \
    -e 's/47F6CA74BA3@/47F6CA74BC1@/' "$D/postfix-rejected.eml" >"$T/ansi.eml"
pipe_run -q S1 -r "bounces+x${ESC}[1m=bad.example@bounce.example.test" --client-address=192.0.2.1 \
	<"$T/ansi.eml" >/dev/null
is "$?" 0 "a bounce full of control characters is delivered"
line=$(grep ' S1: ' "$LOG")
is "$(printf '%s\n' "$line" | wc -l)" 1 "one log line, nothing injected"
! printf '%s' "$line" | LC_ALL=C grep -q "[[:cntrl:]]"
ok $? "no control character in the log line"
like "$line" 'to=<bounces\+x\?\[1m=bad.example' "escapes shown as '?', the text kept"

sed -e "s/^Final-Recipient: rfc822; bob@bad.example/Final-Recipient: rfc822; $long@bad.example/" \
    -e 's/47F6CA74BA3@/47F6CA74BC2@/' "$D/postfix-rejected.eml" >"$T/long.eml"
pipe_run -q S2 -r "bounces@bounce.example.test" --client-address=192.0.2.1 <"$T/long.eml" >/dev/null
is "$?" 0 "a bounce with a 10 kB recipient is delivered"
len=$(grep ' S2: ' "$LOG" | awk '{ print length($0) }' | sort -n | tail -1)
[ "${len:-99999}" -le 2100 ]
ok $? "its log line is length-bounded ($len characters, record cap 2,000)"
# A 10 kB queue id (as pipe(8) passes ${queue_id} verbatim) is capped too.
pipe_run -q "S3$long" -r "bounces@bounce.example.test" --client-address=192.0.2.1 \
	<"$D/postfix-multi.eml" >/dev/null
len=$(grep ' S3LLL' "$LOG" | awk '{ print length($0) }' | sort -n | tail -1)
[ -n "$len" ] && [ "$len" -le 2100 ]
ok $? "a 10 kB queue id gives a bounded log line (${len:-none})"

# --- a database password only in a file others cannot read ----------------
sed -e 's/^database = .*/& password=secret/' "$T/etc/rebound.conf" >"$T/etc/pw.conf"
chmod 644 "$T/etc/pw.conf"
err=$(runuser -u nobody -- "$T/bin/rebound-pipe" -c "$T/etc/pw.conf" -n 2>&1)
is "$?" 78 "a password in a world-readable rebound.conf is refused (EX_CONFIG)"
like "$err" "pw.conf: database has a password but the file is mode 644; chmod o-rw it" \
	"the error names the file and the fix"
out=$(runuser -u nobody -- "$T/bin/rebound-pipe" -c "$T/etc/pw.conf" -q S4 -r x@y <"$D/postfix-multi.eml")
is "$?" 75 "delivery with it defers"
like "$out" "^4\.3\.5 " "with a 4.x.x line"
chown nobody "$T/etc/pw.conf" && chmod 600 "$T/etc/pw.conf"
runuser -u nobody -- "$T/bin/rebound-pipe" -c "$T/etc/pw.conf" -n
ok $? "mode 600 is accepted"

# --- root ------------------------------------------------------------------
out=$("$T/bin/rebound-pipe" -c "$T/etc/rebound.conf" -q S5 -r x@y <"$D/postfix-multi.eml")
is "$?" 75 "root is refused with EX_TEMPFAIL"
like "$out" "^4\.3\.0 .*root" "and a 4.x.x line"

# --- installed modes -------------------------------------------------------
R=$T/inst
make -s --no-print-directory -C "$REPO" -o all PREFIX=/usr DESTDIR="$R" install >"$T/log/install.log" 2>&1
ok $? "make install DESTDIR=..."
is "$(find "$R" -perm -o+w ! -type l | wc -l)" 0 "nothing world-writable"
is "$(find "$R" \( -perm -u+s -o -perm -g+s \) | wc -l)" 0 "no setuid or setgid file"
is "$(find "$R" ! -user root | wc -l)" 0 "everything owned by root"
is "$(find "$R" -type f -perm /111 | sed "s|^$R||" | sort | paste -sd' ')" \
	"/usr/bin/rebound /usr/lib/rebound/rebound-pipe /usr/sbin/rebound-milter" "only the programs are executable (0755)"
is "$(find "$R" -type f ! -perm /111 ! -perm 644 | wc -l)" 0 "every other file 0644"
is "$(find "$R" -path '*/etc*' | wc -l)" 0 "no configuration installed (rebound.conf is the administrator's, 0640 advised)"

done_testing
