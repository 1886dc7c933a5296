#!/bin/bash
# supp.t - tests/tsan.supp hides no race of ours (make check-tsan).
#
# ThreadSanitizer matches a suppression against every frame of both
# stacks of a report, where a callback's frame is preceded by the
# libmilter code that called it.  libmilter calls every callback of the
# milter, from threads it made, so a line
# that names libmilter's module, or a function on its path to the
# callbacks (mi_engine, mi_start_session, smfi_main), would also hide
# every race between a callback and the writer or the suppression loader.
# race-demo has two such races, called through fake-libmilter, a library
# built without ThreadSanitizer as libmilter.so.1, as Debian's is: both
# must be reported with tests/tsan.supp, and neither with a line for the
# whole module (which shows that the demo can tell the difference).
. "$(dirname "$0")/../lib/tap.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
DEMO="$REPO/build/tsan/race-demo"
SUPP="$REPO/tests/tsan.supp"
[ -x "$DEMO" ] || bail_out "$DEMO not built (make check-tsan builds it)"
T=$(mktemp -d /tmp/rebound-test.XXXXXX)
trap 'rm -rf "$T"' EXIT

races() {	# races SUPPRESSIONS - run the demo: RC, RACES, its output in $T/out
	TSAN_OPTIONS="halt_on_error=0 exitcode=0 suppressions=$1" "$DEMO" >"$T/out" 2>&1
	RC=$?
	RACES=$(grep -c '^WARNING: ThreadSanitizer: data race' "$T/out")
}

races "$SUPP"
is "$RACES" 2 "both races of a callback with our own threads are reported"
is "$RC" 0 "the demo ran to the end"
grep -q 'rcpt_callback' "$T/out" && grep -q ' writer ' "$T/out" && grep -q ' loader ' "$T/out"
ok $? "with the callback, the writer and the loader in the reports"
grep -q 'libmilter.so.1' "$T/out"
ok $? "and the library's frames in their stacks"

{ cat "$SUPP"; echo "race:libmilter.so"; } >"$T/module.supp"
races "$T/module.supp"
is "$RACES" 0 "a suppression of the whole module would hide both"

# Every suppression is for a function and says why, in a comment above it.
entries=$(grep -Ev '^[[:space:]]*(#|$)' "$SUPP")
bad=$(grep -E '\.so|^[a-z_]+:\*?$' <<<"$entries")
is "$bad" "" "no suppression names a module"
path=$(grep -E ':(smfi_main|mi_listener|mi_start_session|mi_pool_controller_init|mi_worker|mi_engine|st_[a-z_]+)$' <<<"$entries")
is "$path" "" "nor a function on libmilter's way to the callbacks"
uncommented=$(awk '/^[[:space:]]*$/ { prev = ""; next }
	/^#/ { prev = "#"; next }
	{ if (prev == "") print; prev = "entry" }' "$SUPP")
is "$uncommented" "" "every group of suppressions has a comment above it"

done_testing
