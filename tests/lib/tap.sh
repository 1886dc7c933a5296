# tap.sh - TAP output for shell tests; source it.
# A test that cannot find its tool fails (bail_out); it never skips.

TAP_N=0
TAP_FAILED=0

ok() {	# ok CONDITION_STATUS DESCRIPTION: ok $? "text", or use run_ok
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $2"
	else
		echo "not ok $TAP_N - $2"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

is() {	# is GOT WANT DESCRIPTION
	TAP_N=$((TAP_N + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $TAP_N - $3"
	else
		echo "not ok $TAP_N - $3"
		printf '#   got  "%s"\n#   want "%s"\n' "$1" "$2"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

like() {	# like GOT EXTENDED_REGEX DESCRIPTION
	TAP_N=$((TAP_N + 1))
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		echo "ok $TAP_N - $3"
	else
		echo "not ok $TAP_N - $3"
		printf '#   got  "%s"\n#   want match for /%s/\n' "$1" "$2"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

bail_out() {
	echo "Bail out! $*"
	exit 255
}

need_tool() {	# need_tool NAME...: a missing tool fails the test, loudly
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || bail_out "required tool '$t' not found (run 'make deps')"
	done
}

tap_relay() {	# tap_relay NAME RC OUTPUT: another TAP producer's results as ours
	# Each of its assertions becomes one of ours, prefixed with NAME, and
	# one more checks that it exited 0 (RC) having run all it planned.
	local name=$1 rc=$2 out=$3 line plan=0 ran=0
	while IFS= read -r line; do
		case "$line" in
		1..*) plan=${line#1..} ;;
		"ok "*)
			ran=$((ran + 1))
			ok 0 "$name: $(printf '%s' "$line" | sed -E 's/^ok [0-9]+( - )?//')" ;;
		"not ok "*)
			ran=$((ran + 1))
			ok 1 "$name: $(printf '%s' "$line" | sed -E 's/^not ok [0-9]+( - )?//')" ;;
		"#"*) echo "$line" ;;
		esac
	done <<<"$out"
	ok $((rc != 0 || plan == 0 || ran != plan)) "$name: ran to the end, $ran of $plan planned tests"
}

done_testing() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}
