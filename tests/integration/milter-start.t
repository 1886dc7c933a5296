#!/bin/bash
# milter-start.t - rebound-milter's start, stop and -n, as rebound-milter(8)
# documents them: -n refuses what a start or a delivery would trip on,
# with the exit status and message the page gives; a start makes the
# directories and the log file for milter_user, reports its errors on
# standard error (also when it is not a terminal) with an exact status,
# and in the background returns only once the milter listens; one milter
# per pid file, a restart waits for the old one, and the pid file goes at
# stop.  No database: the milter spools, which is all a start needs.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/milter.sh"
need_tool python3

rb_init
milter_init
# Nothing listens there: the writer spools, the loader retries.
DB_CONNINFO="host=$T/no-postgresql dbname=rebound"
milter_conf
MILTER="$T/bin/rebound-milter"
CONF="$T/etc/rebound.conf"

# alive PID - whether PID runs (a daemon's zombie, left to an init that
# does not reap, does not count)
alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -n "$st" ] && [ "${st#Z}" = "$st" ]
}

# check CONF_LINES... - rebound-milter -n with the test configuration plus
# lines; sets RC and ERR (its standard error)
check() {
	milter_conf "$@"
	ERR=$("$MILTER" -n -c "$CONF" 2>&1 </dev/null)
	RC=$?
}

# --- -n: exit status and message -----------------------------------------
check
is "$RC:$ERR" "0:" "-n: a good configuration, exit 0, nothing said"
check "milter_socket = bogus:xyz"
is "$RC:$ERR" "78:rebound-milter: fatal: milter_socket \"bogus:xyz\": unknown kind \"bogus\" (want unix:/path, inet:port@host or inet6:port@host)" \
	"-n: an unknown socket kind, exit 78 (EX_CONFIG)"
check "milter_socket = inet:99999@127.0.0.1"
is "$RC:$ERR" "78:rebound-milter: fatal: milter_socket \"inet:99999@127.0.0.1\": want a port from 1 to 65535 (or a service name) before the '@'" \
	"-n: a port out of range (libmilter would wrap it)"
check "milter_socket = inet:8894@no-such-host.invalid"
like "$RC:$ERR" "^78:rebound-milter: fatal: milter_socket \"inet:8894@no-such-host.invalid\": host no-such-host.invalid: " \
	"-n: a host that does not resolve"
check "milter_socket = unix:$T/no-dir/milter"
is "$RC:$ERR" "78:rebound-milter: fatal: milter_socket \"unix:$T/no-dir/milter\": directory $T/no-dir does not exist; create it (install -d -o rebound -g postfix -m 750 $T/no-dir)" \
	"-n: a unix socket in a directory that does not exist"
check "milter_user = no-such-user"
is "$RC:$ERR" "78:rebound-milter: fatal: milter_user no-such-user: no such user (create it: useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin no-such-user)" \
	"-n: a milter_user that does not exist"
check "milter_user = root"
is "$RC:$ERR" "78:rebound-milter: fatal: milter_user root is root; the milter parses mail from strangers and must not run as root" \
	"-n: milter_user root"
cp "$T/etc/token.key" "$T/etc/root.key"
chown root "$T/etc/root.key"
check "token_key_file = $T/etc/root.key"
is "$RC:$ERR" "78:rebound-milter: fatal: key file $T/etc/root.key: Permission denied" \
	"-n as root: a key that milter_user cannot read"
: >"$T/log/root.log"
chmod 600 "$T/log/root.log"
check "log_file = $T/log/root.log"
like "$RC:$ERR" "^78:rebound-milter: fatal: log_file $T/log/root.log: Permission denied; make it writable" \
	"-n as root: a log file that milter_user cannot write"
check "milter_sokcet = inet:8894@127.0.0.1"
like "$RC:$ERR" "^78:.*unknown parameter \"milter_sokcet\" \(did you mean \"milter_socket\"\?\)$" \
	"-n: a misspelt parameter, with a suggestion"
milter_conf

# --- a start as root: directories and the log file for milter_user ---------
# The spool under a parent that does not exist, the pid file in a run
# directory that does not exist, a log file that does not exist.
milter_conf "milter_spool_directory = $T/var/lib/rebound/spool" \
	"milter_pid_file = $T/run2/rebound/rebound-milter.pid" "log_file = $T/var/log/rebound.log"
mkdir -p "$T/var/log"
"$MILTER" -f -c "$CONF" 2>"$T/log/start.err" &
pid=$!
wait_for 10 port_listening "$P_MILTER"
ok $? "a start as root makes what is missing and listens"
is "$(stat -c '%U %a' "$T/var/lib/rebound/spool" "$T/var/lib/rebound" "$T/run2/rebound" \
	"$T/var/log/rebound.log" 2>&1 | paste -sd,)" "nobody 700,root 755,nobody 755,nobody 640" \
	"spool and run directories made for milter_user, parents root's; log file milter_user's, 0640"
is "$(cat "$T/run2/rebound/rebound-milter.pid")" "$pid" "the pid file holds its pid, also in the foreground"
# rebound-pipe runs as the same user and appends to the same file.
milter_conf "log_file = $T/var/log/rebound.log"
printf 'Subject: x\n\nx\n' | pipe_run -q PIPELOG1 -r "bounces@$BOUNCE_DOMAIN" >/dev/null
grep -q 'rebound-pipe\[[0-9]*\]: .*PIPELOG1' "$T/var/log/rebound.log"
ok $? "rebound-pipe, running as milter_user, writes to the log file the milter made"

# --- one milter per pid file ------------------------------------------------
milter_conf "milter_spool_directory = $T/var/lib/rebound/spool" \
	"milter_pid_file = $T/run2/rebound/rebound-milter.pid" "milter_socket = inet:$P_SPARE@127.0.0.1"
# (timeout: a milter that failed to refuse would run for ever)
err=$(timeout 20 "$MILTER" -f -c "$CONF" 2>&1 </dev/null)
is "$?:$err" "75:rebound-milter: fatal: rebound-milter is already running (pid $pid holds $T/run2/rebound/rebound-milter.pid); stop it first" \
	"a second milter with the same pid file is refused at once, exit 75 (EX_TEMPFAIL)"
kill "$pid"
wait "$pid"
is "$?" 0 "SIGTERM: exit 0"
test ! -e "$T/run2/rebound/rebound-milter.pid"
ok $? "the pid file is removed at stop"

# --- errors at start: on standard error, not a terminal, exact status --------
milter_conf "milter_spool_directory = $T/nowhere/spool" "milter_pid_file = $T/log/nobody.pid"
err=$(runuser -u nobody -- "$MILTER" -f -c "$CONF" 2>&1 </dev/null)
is "$?:$err" "78:rebound-milter: fatal: mkdir $T/nowhere/spool: No such file or directory" \
	"started as milter_user, a spool whose parent is missing: exit 78, said on standard error"
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(30)' \
	"$P_EXTRA" &
squatter=$!
wait_for 10 port_listening "$P_EXTRA"
milter_conf "milter_socket = inet:$P_EXTRA@127.0.0.1"
err=$("$MILTER" -c "$CONF" 2>&1 </dev/null)
is "$?:$(printf '%s' "$err" | grep fatal)" "71:rebound-milter: fatal: cannot listen on inet:$P_EXTRA@127.0.0.1 (in use by another program?)" \
	"in the background, a port in use: exit 71 (EX_OSERR) before going there"
kill "$squatter"
wait "$squatter" 2>/dev/null

# --- the background: back only once it listens; a restart ----------------------
install -d -o nobody -g postfix -m 750 "$T/sock"
SOCK="$T/sock/milter"
milter_conf "milter_socket = unix:$SOCK"
"$MILTER" -c "$CONF" </dev/null 2>"$T/log/background.err"
rc=$?
# No waiting: the socket must take connections the moment the start returns.
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$SOCK"
is "$rc:$?" "0:0" "in the background, the start returns 0 once the milter takes connections"
first=$(cat "$MILTER_PID_FILE")
alive "$first"
ok $? "the pid file holds the daemon's pid ($first)"
RB_PIDS="$RB_PIDS $first"
# A restart as an init script does it without waiting: SIGTERM, start.  The
# old milter takes seconds to go and removes its socket on the way out;
# the new one waits for it, so the socket left is the new one's.
kill "$first"
"$MILTER" -c "$CONF" </dev/null 2>"$T/log/restart.err"
rc=$?
second=$(cat "$MILTER_PID_FILE")
RB_PIDS="$RB_PIDS $second"
alive "$first"
is "$rc:$?" "0:1" "the restart returns 0 once the old milter is gone"
like "$(cat "$T/log/restart.err")" "waiting up to 15s for the rebound-milter that holds .* \(pid $first\) to exit" \
	"it said it waited for the old one"
# libmilter removes the socket's path on its way out, whoever's socket is
# there by then; the old one is gone (checked again: a milter that did not
# wait would still see it go), and the new socket is still there.
wait_for 10 eval '! alive '"$first"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$SOCK"
ok $? "the socket takes connections after the restart, with the old milter gone"
kill "$second"
wait_for 15 eval '! alive '"$second"
ok $? "the new milter stops on SIGTERM"
test ! -e "$MILTER_PID_FILE" && test ! -e "$SOCK"
ok $? "and removes its pid file and its socket"
is "$(cat "$T"/log/*.err | grep -E 'Sanitizer|runtime error:')" "" "no sanitizer reports from the milter"

done_testing
