# milter.sh - rebound-milter on top of harness.sh; source it after that.
#
#   milter_init            copy the milter and the token tool, write a key
#   milter_conf [lines]    rb_write_conf plus the milter's settings; its
#                          socket is MILTER_SOCKET (libmilter syntax) when
#                          set, else inet on P_MILTER
#   milter_start / milter_stop
#   mt_run SCRIPT VAR=VALUE...   a tests/milter/*.lua script via miltertest

MT_DIR="$REPO/tests/milter"
SENDER_DOMAIN=example.com

milter_init() {
	need_tool miltertest
	# MILTER_BIN: another build of the milter (make check-tsan).
	MILTER_BIN=${MILTER_BIN:-$REPO/milter/rebound-milter}
	[ -x "$MILTER_BIN" ] || rb_die "$MILTER_BIN not built (run 'make')"
	[ -x "$REPO/tests/tools/mint-token" ] || rb_die "tests/tools/mint-token not built"
	cp "$MILTER_BIN" "$REPO/tests/tools/mint-token" "$T/bin/"
	chmod -R a+rX "$T/bin"
	head -c 32 /dev/urandom | base64 >"$T/etc/token.key"
	chown nobody "$T/etc/token.key"
	chmod 600 "$T/etc/token.key"
	MILTER_SPOOL="$T/milter-spool"
	MILTER_PID_FILE="$T/run/rebound-milter.pid"
	MILTER_LOG="$T/log/rebound.log"
}

milter_conf() {
	rb_write_conf \
		"milter_socket = ${MILTER_SOCKET:-inet:$P_MILTER@127.0.0.1}" \
		"milter_user = nobody" \
		"milter_spool_directory = $MILTER_SPOOL" \
		"milter_pid_file = $MILTER_PID_FILE" \
		"sender_domains = $SENDER_DOMAIN" \
		"token_key_file = $T/etc/token.key" \
		"token_header = yes" \
		"suppression_refresh = 10s" \
		"$@"
}

# milter_listening - whether the milter's socket takes connections: its
# port, or the unix socket of MILTER_SOCKET
milter_listening() {
	case ${MILTER_SOCKET:-} in
	unix:*) [ -S "${MILTER_SOCKET#unix:}" ] ;;
	*) port_listening "$P_MILTER" ;;
	esac
}

milter_start() {
	case ${MILTER_SOCKET:-} in unix:*) rm -f "${MILTER_SOCKET#unix:}" ;; esac
	"$T/bin/rebound-milter" -f -c "$T/etc/rebound.conf" 2>>"$T/log/milter.stderr" &
	MILTER_PID=$!
	RB_PIDS="$RB_PIDS $MILTER_PID"
	wait_for 20 milter_listening || rb_die "rebound-milter did not come up: $(tail -3 "$T/log/milter.stderr")"
}

milter_stop() {
	kill "$MILTER_PID" 2>/dev/null
	wait "$MILTER_PID" 2>/dev/null
	local status=$?
	RB_PIDS=${RB_PIDS/ $MILTER_PID/}
	return $status
}

# mt_run SCRIPT VAR=VALUE... - run one miltertest script; output in $T/log
mt_run() {
	local script=$1 d=()
	shift
	for v in "SOCK=${MILTER_SOCKET:-inet:$P_MILTER@127.0.0.1}" "$@"; do
		d+=(-D "$v")
	done
	local out rc
	out=$(miltertest "${d[@]}" -s "$MT_DIR/$script" 2>&1)
	rc=$?
	printf '%s\n' "$out" >>"$T/log/miltertest.log"
	# A failed script says why on the test's output, for CI logs that keep
	# nothing else: miltertest's error and the milter's last words.
	if [ "$rc" -ne 0 ] && [ -z "${MT_QUIET:-}" ]; then
		diag "miltertest $script exited $rc: ${out:-(no output)}" \
			"last lines of the milter's log:"
		tail -n 5 "$MILTER_LOG" 2>/dev/null | diag "$(cat)"
	fi
	return "$rc"
}

milter_logged() {	# milter_logged REGEX - for wait_for
	grep -Eq -- "$1" "$MILTER_LOG"
}

sql_is() {	# sql_is SQL WANT - for wait_for: the query's output is WANT
	[ "$(q "$1")" = "$2" ]
}

# milter_clean_stderr - ok when no sanitizer reported anything on the
# milter's stderr (SANITIZE= builds and make check-tsan)
milter_clean_stderr() {
	local reports
	reports=$(grep -E 'Sanitizer|runtime error:' "$T/log/milter.stderr" 2>/dev/null)
	is "$reports" "" "no sanitizer reports from the milter"
	[ -z "$reports" ] || diag "$(head -40 "$T/log/milter.stderr")"
}
