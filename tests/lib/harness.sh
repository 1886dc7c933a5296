# harness.sh - private PostgreSQL and Postfix instances for tests and the demo.
#
# Source it from bash.  Everything lives under one temporary directory $T:
# a PostgreSQL cluster listening only on a Unix socket in $T/pgsock, a
# Postfix instance (postfix -c $T/etc) on loopback high ports, smtp-sink
# processes standing in for remote MXs, and rebound-pipe as the pipe(8)
# transport for the bounce domain.  rb_cleanup (run on EXIT) stops all of it.
#
#   rb_init              temp dir, free ports, copies of the programs
#   pg_start / pg_stop   the PostgreSQL cluster, schema applied
#   postfix_start        Postfix and the sinks
#   q SQL                run a query, print unaligned tuples
#   rebound_run ARGS     the rebound tool (cli/rebound) on this configuration
#   wait_for SECS CMD    poll until CMD succeeds

REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BOUNCE_DOMAIN=bounce.example.test
MTA_NAME=mta.example.test
RB_PIDS=""

rb_die() {
	echo "harness: $*" >&2
	if declare -F bail_out >/dev/null; then bail_out "$*"; fi
	exit 1
}

# rb_port_free - whether nothing listens on 127.0.0.1:$1
rb_port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# rb_pick_ports - a block of 8 free loopback ports, random so that test
# runs side by side do not collide.  The block lies below the kernel's
# ephemeral range: a port there can be taken at any moment as the local end
# of an outgoing connection (Postfix's own smtp client, psql, a probe), which
# a connect() probe cannot see and which makes a later bind() fail.
rb_pick_ports() {
	local tries base i ok low=32768 span
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	span=$(((low - 10000) / 10))
	[ "$span" -gt 100 ] || rb_die "ephemeral port range starts too low ($low)"
	for tries in $(seq 50); do
		base=$((10000 + (RANDOM % span) * 10))
		ok=1
		for i in 0 1 2 3 4 5 6 7; do
			rb_port_free $((base + i)) || { ok=0; break; }
		done
		if [ $ok = 1 ]; then
			P_SMTP=$base P_GOOD=$((base + 1)) P_BAD=$((base + 2))
			P_SLOW=$((base + 3)) P_MILTER=$((base + 4)) P_SPARE=$((base + 5))
			P_BMX=$((base + 6)) P_EXTRA=$((base + 7))
			return 0
		fi
	done
	rb_die "no free block of loopback ports"
}

rb_init() {
	[ "$(id -u)" -eq 0 ] || rb_die "must run as root (Postfix and the test users need it)"
	for t in postfix postqueue postconf sendmail smtp-sink swaks psql runuser; do
		command -v "$t" >/dev/null 2>&1 || rb_die "required tool '$t' not found (run 'make deps')"
	done
	[ -x "$REPO/pipe/rebound-pipe" ] || rb_die "pipe/rebound-pipe not built (run 'make')"
	T=$(mktemp -d /tmp/rebound-test.XXXXXX) || rb_die "mktemp failed"
	# mktemp makes 0700: postgres, postfix and nobody must reach inside.
	chmod 755 "$T"
	mkdir -p "$T/bin" "$T/log" "$T/etc"
	chmod 1777 "$T/log"
	# Copies, because the checkout may sit where nobody cannot read.
	cp "$REPO/pipe/rebound-pipe" "$T/bin/"
	# The rebound tool (cli/), for the tests and the demo that use it.
	[ -x "$REPO/cli/rebound" ] && cp "$REPO/cli/rebound" "$T/bin/"
	[ -d "$REPO/rules" ] && cp -r "$REPO/rules" "$T/rules"
	chmod -R a+rX "$T/bin"
	rb_pick_ports
	trap rb_cleanup EXIT
	export T
}

rb_cleanup() {
	local status=$?
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		[ -f "$T/etc/main.cf" ] && postfix -c "$T/etc" stop >/dev/null 2>&1
		[ -f "$T/pg/data/postmaster.pid" ] &&
			runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg/data" -m immediate stop >/dev/null 2>&1
		# shellcheck disable=SC2086
		[ -n "$RB_PIDS" ] && kill $RB_PIDS 2>/dev/null
		wait 2>/dev/null
		if [ -n "${KEEP:-}" ]; then
			echo "harness: kept $T" >&2
		else
			rm -rf "$T"
		fi
	fi
	return $status
}

# --- PostgreSQL -------------------------------------------------------------

pg_bindir() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
	return 1
}

pg_start() {
	PGBIN=$(pg_bindir) || rb_die "PostgreSQL server programs (initdb) not found (run 'make deps')"
	mkdir -p "$T/pg" "$T/pgsock"
	chown postgres "$T/pg" "$T/pgsock"
	runuser -u postgres -- "$PGBIN/initdb" -D "$T/pg/data" -U rebound -A trust -E UTF8 \
		--locale=C --no-sync >"$T/log/initdb.log" 2>&1 ||
		rb_die "initdb failed: $(tail -3 "$T/log/initdb.log")"
	export PGHOST="$T/pgsock" PGUSER=rebound PGDATABASE=rebound PGPORT=5432
	pg_resume
	psql -XqAt -d postgres -c "CREATE DATABASE rebound" >/dev/null || rb_die "createdb failed"
	psql -Xq -v ON_ERROR_STOP=1 -f "$REPO/sql/rebound.sql" >"$T/log/schema.log" 2>&1 ||
		rb_die "schema failed: $(tail -3 "$T/log/schema.log")"
	DB_CONNINFO="host=$T/pgsock port=5432 user=rebound dbname=rebound"
}

# pg_resume - start the existing cluster (after pg_stop)
pg_resume() {
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg/data" -l "$T/log/postgres.log" -w -t 30 \
		-o "-c listen_addresses='' -c unix_socket_directories='$T/pgsock' -c fsync=off" \
		start >/dev/null || rb_die "PostgreSQL did not start: $(tail -3 "$T/log/postgres.log")"
}

pg_stop() {
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg/data" -m fast -w stop >/dev/null
}

# pg_outage COUNTER TOTAL SECONDS LIMIT - the soak tests' outage: once the
# function COUNTER prints at least half of TOTAL (waiting LIMIT seconds at
# most), stop PostgreSQL for SECONDS and start it again.  OUTAGE_RESUMED
# is COUNTER's figure at the restart.
pg_outage() {
	local counter=$1 total=$2
	halfway() { [ "$("$counter")" -ge $((total / 2)) ]; }
	wait_for "$4" halfway || diag "half way not reached"
	pg_stop
	diag "soak: PostgreSQL stopped at $("$counter") $counter"
	sleep "$3"
	OUTAGE_RESUMED=$("$counter")
	pg_resume
	diag "soak: PostgreSQL restarted at $OUTAGE_RESUMED $counter"
}

q() {
	psql -XqAt -v ON_ERROR_STOP=1 -c "$1"
}

# --- rebound configuration ----------------------------------------------

rb_write_conf() {	# rb_write_conf [extra lines...]
	{
		echo "database = $DB_CONNINFO"
		echo "bounce_domains = $BOUNCE_DOMAIN"
		echo "log_file = $T/log/rebound.log"
		echo "db_connect_timeout = 3s"
		echo "builtin_rules_directory = $T/rules"
		echo "rules_directory = $T/rules-site"
		printf '%s\n' "$@"
	} >"$T/etc/rebound.conf"
	mkdir -p "$T/rules-site"
	chmod 644 "$T/etc/rebound.conf"
	touch "$T/log/rebound.log"
	chmod 666 "$T/log/rebound.log"
}

# syslog_start - a syslog daemon's socket, $SYSLOG_SOCKET in the test
# directory (syslog_socket in rebound.conf): each datagram it receives
# becomes one line of $SYSLOG_LOG, its newlines made spaces
syslog_start() {
	need_tool python3
	SYSLOG_SOCKET="$T/syslog.sock"
	SYSLOG_LOG="$T/log/syslog"
	python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "ab", buffering=0) as log:
    while True:
        log.write(s.recv(65536).replace(b"\n", b" ") + b"\n")
' "$SYSLOG_SOCKET" "$SYSLOG_LOG" &
	RB_PIDS="$RB_PIDS $!"
	wait_for 5 test -S "$SYSLOG_SOCKET" || rb_die "the syslog listener did not start"
}

# pipe_run ARGS... - run rebound-pipe as nobody, as pipe(8) would
pipe_run() {
	runuser -u nobody -- "$T/bin/rebound-pipe" -c "$T/etc/rebound.conf" "$@"
}

# rebound_run ARGS... - the rebound tool with the test configuration
rebound_run() {
	"$T/bin/rebound" -c "$T/etc/rebound.conf" "$@"
}

# rebound_bg ARGS... - the rebound tool in the background, such as a
# listener (events --follow); RB_BG is its own pid, which the cleanup
# stops.  Not "rebound_run ... &": its $! is a subshell's, and the tool
# would outlive it, connecting again for ever once the cluster is gone.
rebound_bg() {
	"$T/bin/rebound" -c "$T/etc/rebound.conf" "$@" &
	RB_BG=$!
	RB_PIDS="$RB_PIDS $RB_BG"
}

# --- Postfix --------------------------------------------------------------

postfix_start() {
	mkdir -p "$T/spool" "$T/data" "$T/sink"
	chown postfix "$T/data"
	chmod 1777 "$T/sink"
	cat >"$T/etc/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $T/spool
data_directory = $T/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $T/log
maillog_file = $T/log/maillog
myhostname = $MTA_NAME
mydomain = example.test
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_authorized_verp_clients = 127.0.0.0/8
recipient_delimiter = +
alias_maps =
alias_database =
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
default_transport = error:5.1.2 no route in this test
transport_maps = texthash:$T/etc/transport
relay_domains = $BOUNCE_DOMAIN
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
delay_warning_time = ${DELAY_WARNING_TIME:-0h}
maximal_queue_lifetime = ${QUEUE_LIFETIME:-5d}
bounce_queue_lifetime = 1h
rebound_destination_recipient_limit = 1
rebound_time_limit = 120s
${POSTFIX_EXTRA:-}
EOC
	cat >"$T/etc/transport" <<EOC
$BOUNCE_DOMAIN   rebound:
good.example     smtp:[127.0.0.1]:$P_GOOD
bad.example      smtp:[127.0.0.1]:$P_BAD
slow.example     smtp:[127.0.0.1]:$P_SLOW
EOC
	cat >"$T/etc/master.cf" <<EOC
127.0.0.1:$P_SMTP inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
rebound   unix  -       n       n       -       10      pipe
  user=nobody argv=$T/bin/rebound-pipe -c $T/etc/rebound.conf -q \${queue_id} -r \${recipient} --client-address=\${client_address}
EOC
	smtp-sink -u nobody -4 -d "$T/sink/%M%S." -h mx-good.example "127.0.0.1:$P_GOOD" 64 &
	RB_PIDS="$RB_PIDS $!"
	smtp-sink -u nobody -4 -f RCPT -B "550 5.1.1 Recipient address rejected: User unknown" \
		-h mx-bad.example "127.0.0.1:$P_BAD" 64 &
	RB_PIDS="$RB_PIDS $!"
	smtp-sink -u nobody -4 -r RCPT -b "450 4.2.0 Recipient address rejected: Greylisted" \
		-h mx-slow.example "127.0.0.1:$P_SLOW" 64 &
	RB_PIDS="$RB_PIDS $!"
	# BLOCKED_REPLY: blocked.example refuses every recipient with this reply.
	if [ -n "${BLOCKED_REPLY:-}" ]; then
		echo "blocked.example  smtp:[127.0.0.1]:$P_EXTRA" >>"$T/etc/transport"
		smtp-sink -u nobody -4 -f RCPT -B "$BLOCKED_REPLY" -h mx-blocked.example \
			"127.0.0.1:$P_EXTRA" 64 &
		RB_PIDS="$RB_PIDS $!"
	fi
	postfix -c "$T/etc" check >/dev/null 2>&1 ||
		rb_die "postfix check failed: $(tail -3 "$T/log/maillog" 2>/dev/null)"
	postfix -c "$T/etc" start >/dev/null 2>&1 ||
		rb_die "postfix start failed: $(tail -3 "$T/log/maillog" 2>/dev/null)"
	wait_for 20 port_listening "$P_SMTP" || rb_die "Postfix smtpd did not come up"
	wait_for 20 port_listening "$P_GOOD" || rb_die "smtp-sink did not come up"
}

port_listening() {
	! rb_port_free "$1"
}

# wait_for SECONDS COMMAND... - poll every 0.2 s until COMMAND succeeds
wait_for() {
	local limit=$(($1 * 5)) i=0
	shift
	while ! "$@"; do
		i=$((i + 1))
		[ $i -ge $limit ] && return 1
		sleep 0.2
	done
	return 0
}

queue_empty() {
	[ -z "$(postqueue -c "$T/etc" -j 2>/dev/null)" ]
}

queue_flush() {
	postqueue -c "$T/etc" -f >/dev/null 2>&1
}

# send_verp SENDER_PREFIX RECIPIENT... - submit with Postfix VERP (sendmail -XV)
send_verp() {
	local from=$1
	shift
	printf 'Subject: rebound test\nMessage-ID: <%s.%s@client.example>\n\nhello\n' \
		"$RANDOM$RANDOM" "$$" | sendmail -C "$T/etc" -XV -f "$from" "$@"
}

# count SQL_WHERE - number of events matching a condition
count() {
	q "SELECT count(*) FROM rebound.events WHERE $1"
}

# events_at_least N WHERE - for wait_for
events_at_least() {
	[ "$(count "$2")" -ge "$1" ]
}
