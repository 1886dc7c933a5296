#!/bin/bash
# hostile.t - hostile bounces through the real rebound-pipe and PostgreSQL.
# Each input is generated here: a 50 MB message, 10,000 MIME parts, 1,000
# nested multiparts, a 1 MB header line, NUL bytes, invalid UTF-8 with
# bogus charsets, and a site rule with catastrophic backtracking against a
# long "aaaa...b" diagnostic.  Each must finish in bounded time (a generous
# timeout) and memory (ulimit -v, and GNU time's maximum RSS), log one
# clear line, and be stored (events or a raw copy) with exit 0.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
D="$REPO/tests/data"
for t in timeout /usr/bin/time; do
	command -v "$t" >/dev/null 2>&1 || bail_out "required tool '$t' not found (make deps)"
done

rb_init
pg_start
rb_write_conf "max_message_size = 64m"
RCPT="bounces+bob=bad.example@bounce.example.test"
# Sanitizer builds reserve terabytes of address space: no ulimit -v there,
# the RSS bound still holds.
if grep -q -- '-fsanitize' "$REPO/build/flags" 2>/dev/null; then
	VLIMIT=unlimited MAXRSS_KB=$((3 * 1024 * 1024))
else
	VLIMIT=$((1024 * 1024)) MAXRSS_KB=$((768 * 1024))
fi

# hostile NAME FILE - deliver FILE as queue id NAME; checks exit, time,
# memory, the log line and the rows
hostile() {
	local name=$1 file=$2 rc rss n
	timeout 120 bash -c 'ulimit -v "$1"; shift; exec runuser -u nobody -- /usr/bin/time -f "%M" -o "$0" "$@"' \
		"$T/log/$name.rss" "$VLIMIT" "$T/bin/rebound-pipe" -c "$T/etc/rebound.conf" -q "$name" -r "$RCPT" \
		<"$file" >"$T/$name.out" 2>&1
	rc=$?
	is "$rc" 0 "$name: exit 0 within the time limit ($(head -c 200 "$T/$name.out"))"
	rss=$(tail -1 "$T/log/$name.rss" 2>/dev/null)
	[ "${rss:-999999999}" -lt "$MAXRSS_KB" ]
	ok $? "$name: peak memory ${rss:-?} kB below $MAXRSS_KB kB"
	n=$(grep -c " $name: to=<.*status=recorded" "$T/log/rebound.log")
	is "$n" 1 "$name: one log line says it was recorded"
	[ "$(grep " $name: " "$T/log/rebound.log" | awk '{ print length($0) }' | sort -n | tail -1)" -le 2100 ]
	ok $? "$name: log lines are length-bounded"
	! grep " $name: " "$T/log/rebound.log" | LC_ALL=C grep -q '[^[:print:]]'
	ok $? "$name: log lines are printable"
	[ "$(count "queue_id = '$name'")" -ge 1 ]
	ok $? "$name: stored"
}

# dsn_head BOUNDARY - the headers of a DSN from our MTA
dsn_head() {
	printf 'From: Mail Delivery System <MAILER-DAEMON@mta.example.test>\n'
	printf 'To: %s\nSubject: Undelivered Mail Returned to Sender\n' "$RCPT"
	printf 'Message-Id: <%s@mta.example.test>\nMIME-Version: 1.0\n' "$RANDOM$RANDOM$RANDOM"
	printf 'Content-Type: multipart/report; report-type=delivery-status; boundary="%s"\n\n' "$1"
}
# dsn_status BOUNDARY DIAGNOSTIC - the delivery-status part
dsn_status() {
	printf -- '--%s\nContent-Type: message/delivery-status\n\n' "$1"
	printf 'Reporting-MTA: dns; mta.example.test\n\nFinal-Recipient: rfc822; bob@bad.example\n'
	printf 'Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; %s\n\n' "$2"
}

# --- 50 MB ---------------------------------------------------------------
{ dsn_head B1; dsn_status B1 "550 5.1.1 user unknown"
  printf -- '--B1\nContent-Type: text/plain\n\n'
  head -c 50000000 /dev/zero | tr '\0' 'x' | fold -w 76; printf -- '\n--B1--\n'; } >"$T/h50m.eml"
hostile H50M "$T/h50m.eml"
rm -f "$T/h50m.eml"

# --- 10,000 MIME parts -------------------------------------------------------
{ dsn_head B2; dsn_status B2 "550 5.1.1 user unknown"
  for i in $(seq 10000); do printf -- '--B2\nContent-Type: text/plain\n\npart %d\n' "$i"; done
  printf -- '--B2--\n'; } >"$T/parts.eml"
hostile HPARTS "$T/parts.eml"

# --- nesting 1,000 deep --------------------------------------------------
{ dsn_head N0; dsn_status N0 "550 5.1.1 user unknown"
  printf -- '--N0\n'
  for i in $(seq 1 1000); do
	printf 'Content-Type: multipart/mixed; boundary="N%d"\n\n--N%d\n' "$i" "$i"
  done
  printf 'Content-Type: text/plain\n\ndeep\n'
  for i in $(seq 1000 -1 0); do printf -- '--N%d--\n' "$i"; done; } >"$T/deep.eml"
hostile HDEEP "$T/deep.eml"

# --- a 1 MB header line ---------------------------------------------------------
{ printf 'X-Long: '; head -c 1048576 /dev/zero | tr '\0' 'y'; printf '\n'
  dsn_head B3; dsn_status B3 "550 5.1.1 user unknown"; printf -- '--B3--\n'; } >"$T/longhdr.eml"
hostile HLONGHDR "$T/longhdr.eml"
# ...and a 1 MB Subject, which the log line and the row both carry.
{ printf 'Subject: '; head -c 1048576 /dev/zero | tr '\0' 'z'; printf '\n'
  sed -e '/^Subject:/d' -e 's/47F6CA74BA3@/47F6CA74BB1@/' "$D/postfix-rejected.eml"; } >"$T/longsubj.eml"
hostile HLONGSUBJ "$T/longsubj.eml"

# --- NUL bytes ------------------------------------------------------------------
sed -e 's/User unknown in virtual/User \x00\x00unknown in\x00 virtual/' \
    -e 's/^Status: 5.1.1/Status: 5.1.\x001/' -e 's/47F6CA74BA3@/47F6CA74BB2@/' \
    "$D/postfix-rejected.eml" >"$T/nul.eml"
LC_ALL=C grep -qaP '\x00' "$T/nul.eml"
ok $? "the NUL input has NUL bytes"
hostile HNUL "$T/nul.eml"

# --- invalid UTF-8, bogus charsets -----------------------------------------------
{ printf 'Subject: =?x-bogus-42?Q?caf=E9?= =?utf-8?B?/w==?= \xff\xfe\xc0\xaf\n'
  sed -e '/^Subject:/d' -e 's/charset=utf-8/charset="x-no-such-charset"/' \
      -e 's/User unknown in virtual mailbox table/User \xc3\x28 \xed\xa0\x80 \xf8\x88\x80\x80\x80 unknown/' \
      -e 's/47F6CA74BA3@/47F6CA74BB3@/' "$D/postfix-rejected.eml"; } >"$T/utf8.eml"
hostile HUTF8 "$T/utf8.eml"
like "$(q "SELECT diagnostic FROM rebound.events WHERE queue_id = 'HUTF8'")" "User .* unknown" \
	"invalid UTF-8 diagnostic stored as valid text"

# --- a site rule with catastrophic backtracking ----------------------------------
printf '# (a+)+$ against aaaa...b backtracks exponentially\nsite.evil  userunknown  /(a+)+$/\n' \
	>"$T/rules-site/90-evil.rules"
chmod 644 "$T/rules-site/90-evil.rules"
# The diagnostic is kept to 2,000 characters: 1,990 a's and a b fit.
{ dsn_head B4; dsn_status B4 "550 $(head -c 1990 /dev/zero | tr '\0' a)b"
  printf -- '--B4\nContent-Type: text/plain\n\n%sb\n--B4--\n' "$(head -c 100000 /dev/zero | tr '\0' a)"; } >"$T/redos.eml"
start=$(date +%s)
hostile HREDOS "$T/redos.eml"
diag "catastrophic rule: $(($(date +%s) - start)) s"
like "$(grep ' HREDOS: ' "$T/log/rebound.log" | grep -v status=recorded)" \
	"warning: HREDOS: .*90-evil.rules:2: rule site.evil: match failed \(-47\)" \
	"the match limit stops the rule and is logged in one line"
is "$(q "SELECT rule FROM rebound.events WHERE queue_id = 'HREDOS'")" "user.status" \
	"the other rules still classify it"
rm -f "$T/rules-site/90-evil.rules"

done_testing
