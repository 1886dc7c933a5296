# cluster.sh - several Postfix nodes writing to one PostgreSQL primary with
# a streaming standby; source it after harness.sh and milter.sh.
#
# The primary is the cluster pg_start makes ($T/pg, socket in $T/pgsock);
# the standby is a copy of it in $T/pg2 with its socket in $T/pgsock2.
# Every program reaches the database through one libpq connection string
# that lists both socket directories with target_session_attrs=read-write,
# as rebound(7) SCALING tells an operator to write it, so that each new
# connection finds whichever server is the primary.  PGHOST and
# PGTARGETSESSIONATTRS do the same for psql (q, sql_is).
#
# A node is what harness.sh and milter.sh make of $T, made under $T/NAME
# instead: its own Postfix, smtp-sinks, rebound-milter (on a unix socket in
# the queue directory, as contrib/postfix/main.cf has it) and rebound-pipe,
# its log files in $T/NAME/log.  Every node has the same token key and
# writes to the same database.
#
#   standby_start sync|async   start the standby; with sync the primary
#                              waits for it at every commit
#   standby_stall / standby_resume   the standby stops receiving WAL, and
#                              starts again
#   primary_crash              stop the primary as a crash would
#   primary_hang               then leave it unanswering, not gone
#   standby_promote            promote the standby
#   node_start NAME SMTP GOOD BAD SLOW [rebound.conf lines...]
#                              a node on those four loopback ports
#   node_stop NAME             stop its Postfix and its milter

declare -A NODE_MILTER_PID
NODES=""

# cluster_cleanup - rb_cleanup, after what only this file starts.  A
# node's setup runs harness functions with T set to the node's directory;
# a failure there exits with that T, so the cleanup takes the run's own.
cluster_cleanup() {
	local status=$? n
	T=$CLUSTER_T
	[ -n "${STALLED:-}" ] && kill -CONT "$STALLED" 2>/dev/null
	for n in $NODES; do
		postfix -c "$T/$n/etc" stop >/dev/null 2>&1
	done
	[ -f "$T/pg2/data/postmaster.pid" ] &&
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg2/data" -m immediate stop >/dev/null 2>&1
	(exit "$status")
	rb_cleanup
}

# cluster_init - rb_init with the cleanup above
cluster_init() {
	rb_init
	CLUSTER_T=$T
	trap cluster_cleanup EXIT
}

standby_start() {
	local mode=$1 want=async
	[ -x "$PGBIN/pg_basebackup" ] || rb_die "pg_basebackup not found (make deps)"
	mkdir -p "$T/pg2" "$T/pgsock2"
	chown postgres "$T/pg2" "$T/pgsock2"
	# -R writes primary_conninfo (with the connect_timeout below, so that
	# a primary that hangs cannot hold up the promotion) and
	# standby.signal; -C -S make a replication slot, so that the primary
	# keeps every WAL segment the standby has not received yet.
	runuser -u postgres -- "$PGBIN/pg_basebackup" -D "$T/pg2/data" \
		-d "host=$T/pgsock port=5432 user=rebound connect_timeout=2" \
		-R -X stream -C -S rebound_standby -c fast --no-sync >"$T/log/basebackup.log" 2>&1 ||
		rb_die "pg_basebackup failed: $(tail -3 "$T/log/basebackup.log")"
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg2/data" -l "$T/log/postgres2.log" -w -t 30 \
		-o "-c listen_addresses='' -c unix_socket_directories='$T/pgsock2' -c fsync=off" \
		start >/dev/null || rb_die "the standby did not start: $(tail -3 "$T/log/postgres2.log")"
	# The standby's copy of the configuration was taken before this, so
	# that once promoted it waits for no standby of its own.
	if [ "$mode" = sync ]; then
		want=sync
		q "ALTER SYSTEM SET synchronous_standby_names = '*'" >/dev/null
		q "SELECT pg_reload_conf()" >/dev/null
	fi
	wait_for 30 sql_is "SELECT state, sync_state FROM pg_stat_replication" "streaming|$want" ||
		rb_die "the standby does not stream ($want): $(q "SELECT state, sync_state FROM pg_stat_replication")"
	DB_CONNINFO="host=$T/pgsock,$T/pgsock2 port=5432 user=rebound dbname=rebound"
	DB_CONNINFO="$DB_CONNINFO target_session_attrs=read-write"
	# psql waits for ever at a server that never answers (primary_hang).
	export PGHOST="$T/pgsock,$T/pgsock2" PGTARGETSESSIONATTRS=read-write PGCONNECT_TIMEOUT=3
}

# standby_stall / standby_resume - stop and continue the standby's WAL
# receiver, so that the standby falls behind as it would over a slow
# network: with synchronous replication the primary's commits wait for
# it, without they go on and the standby misses them.
standby_stall() {
	STALLED=$(PGTARGETSESSIONATTRS=any psql -XqAt -h "$T/pgsock2" \
		-c "SELECT pid FROM pg_stat_wal_receiver")
	[ -n "$STALLED" ] || rb_die "the standby has no WAL receiver"
	kill -STOP "$STALLED"
}

standby_resume() {
	kill -CONT "$STALLED"
}

primary_crash() {
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg/data" -m immediate stop >/dev/null
}

# primary_hang - after primary_crash: something at the primary's socket
# takes connections and never answers, as a server whose machine vanished
# does over TCP, so that each new connection waits there for its
# connect_timeout before libpq tries the next server.  Connections are
# held until a thousand newer ones wait, long after their clients gave up.
primary_hang() {
	python3 - "$T/pgsock/.s.PGSQL.5432" <<'EOP' &
import collections, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(128)
held = collections.deque()
while True:
    held.append(s.accept()[0])
    if len(held) > 1000:
        held.popleft().close()
EOP
	RB_PIDS="$RB_PIDS $!"
	wait_for 10 test -S "$T/pgsock/.s.PGSQL.5432" || rb_die "no listener at the primary's socket"
	chmod 777 "$T/pgsock/.s.PGSQL.5432"
}

# standby_promote - pg_ctl promote, which returns once the standby has
# left recovery
standby_promote() {
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg2/data" -w -t 60 promote >/dev/null
}

# node_start NAME SMTP GOOD BAD SLOW [lines...] - the node's rebound.conf
# is milter_conf's with the lines added; its milter must load the
# suppression list before Postfix starts.
node_start() {
	local name=$1 d=$T/$1 smtp=$2 good=$3 bad=$4 slow=$5
	shift 5
	mkdir -p "$d/etc" "$d/log" "$d/rules-site"
	chmod 755 "$d"
	chmod 1777 "$d/log"
	ln -s "$T/bin" "$d/bin"
	ln -s "$T/rules" "$d/rules"
	install -m 600 -o nobody "$T/etc/token.key" "$d/etc/token.key"
	install -d -m 755 "$d/spool"
	install -d -o nobody -g postfix -m 750 "$d/spool/rebound"
	# One milter per pid file: each node has its own.
	T=$d MILTER_SPOOL=$d/milter-spool MILTER_PID_FILE=$d/run/rebound-milter.pid \
		MILTER_SOCKET=unix:$d/spool/rebound/milter milter_conf "$@"
	T=$d MILTER_SOCKET=unix:$d/spool/rebound/milter milter_start
	NODE_MILTER_PID[$name]=$MILTER_PID
	T=$d MILTER_LOG=$d/log/rebound.log wait_for 20 milter_logged "suppression list loaded" ||
		rb_die "node $name: the milter did not load the suppression list"
	# Long queue ids are never reused, so that a queue id names one
	# message of a node for the whole run.
	T=$d MTA_NAME=mta-$name.example.test P_SMTP=$smtp P_GOOD=$good P_BAD=$bad P_SLOW=$slow \
		POSTFIX_EXTRA="smtpd_milters = unix:rebound/milter
non_smtpd_milters = unix:rebound/milter
milter_default_action = tempfail
enable_long_queue_ids = yes" postfix_start
	NODES="$NODES $name"
}

node_stop() {
	local name=$1 pid=${NODE_MILTER_PID[$1]}
	postfix -c "$T/$name/etc" stop >/dev/null 2>&1
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	local status=$?
	RB_PIDS=${RB_PIDS/ $pid/}
	return $status
}
