#!/bin/bash
# cli.t - the rebound tool against a real PostgreSQL: every subcommand,
# text and JSON output, bad arguments, exit statuses, an unreachable
# database, a lost connection, and "db migrate" giving the same database
# as "psql -f sql/rebound.sql".
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
need_tool python3

rb_init
[ -x "$T/bin/rebound" ] || bail_out "cli/rebound not built (run 'make')"
pg_start
rb_write_conf
export REBOUND_DATADIR=$REPO
ACTOR=${SUDO_USER:-$(id -un)}

run() {	# run ARGS... - rebound_run; sets OUT, ERR and RC
	OUT=$(rebound_run "$@" 2>"$T/err")
	RC=$?
	ERR=$(cat "$T/err")
}

# likef GOT REGEX TEXT - like, on GOT with its lines joined by spaces
likef() {
	like "$(printf '%s' "$1" | tr '\n' ' ')" "$2" "$3"
}

json_ok() {	# json_ok TEXT [PYTHON_EXPR] - TEXT parses; EXPR on it (as j) is true
	python3 -c 'import json, sys
j = json.loads(sys.argv[1])
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "${2:-True}" 2>/dev/null
}

# --- usage ---------------------------------------------------------------------
run
is "$RC" 64 "no command: EX_USAGE"
likef "$ERR" "no command given" "says so"
run bogus
is "$RC" 64 "unknown command: EX_USAGE"
likef "$ERR" 'unknown command "bogus"' "names it"
run suppress
likef "$RC:$ERR" '^64:.*suppress needs a subcommand \(add, remove, list, export\)' \
	"missing subcommand lists the choices"
run suppress frob
likef "$RC:$ERR" '^64:.*unknown subcommand "suppress frob"' "unknown subcommand"
run stats --bogus
likef "$RC:$ERR" '^64:.*unknown option "--bogus".*usage: rebound stats' "unknown option, with the synopsis"
run stats --days x
likef "$RC:$ERR" '^64:.*--days wants a whole number' "bad number"
run stats --days 0
likef "$RC:$ERR" '^64:.*--days wants at least 1' "zero days"
run stats extra
likef "$RC:$ERR" '^64:.*stats takes no operands' "stray operand"
run suppress add
likef "$RC:$ERR" '^64:.*name at least one address' "suppress add without addresses"
run suppress add --csv x@y.example
likef "$RC:$ERR" '^64:.*--csv does not apply here' "option of another command"
run events --count 3
likef "$RC:$ERR" '^64:.*--count goes with --follow' "--count without --follow"
run suppress export --csv --json
likef "$RC:$ERR" '^64:.*choose --csv or --json' "two formats"
run -h
is "$RC" 0 "-h exits 0"
n=0
for c in "stats" "suppress add" "suppress remove" "suppress list" "suppress export" "events" \
	"classify" "reclassify" "incidents list" "incidents show" "incidents close" "rules test" \
	"review" "db migrate" "db status" "db maintain"; do
	printf '%s' "$OUT" | grep -q "rebound $c " || { n=$((n + 1)); diag "missing: $c"; }
done
is "$n" 0 "-h lists every command"
run suppress add -h
likef "$RC:$OUT" '^0:usage: rebound suppress add \[--reason WORD\]' "command -h prints its synopsis"

# --- classify: the batch mode of rebound-pipe, without a database ----------
run classify
likef "$RC:$ERR" '^64:.*name at least one file or directory' "classify without files"
# nobody reads a copy in the test's directory below: the checkout may sit
# where other users cannot read (a clone under /root).
cp "$REPO/tests/data/postfix-multi.eml" "$T/postfix-multi.eml" && chmod 644 "$T/postfix-multi.eml"
run classify "$T/postfix-multi.eml"
is "$RC" 0 "classify exits 0"
json_ok "$(printf '%s' "$OUT" | head -1)" \
	'j["recipient"] == "ann@bad.example" and j["reason"] == "userunknown" and j["kind"] == "bounced" and j["status"] == "5.1.1"'
ok $? "classify prints the JSON line of rebound-pipe --classify"
is "$OUT" "$(runuser -u nobody -- "$T/bin/rebound-pipe" -c "$T/etc/rebound.conf" --classify \
	"$T/postfix-multi.eml")" "same output as rebound-pipe --classify"
run classify --explain "$T/postfix-multi.eml"
likef "$RC:$OUT" '^0:.*recipient ann@bad\.example.*rules tried, in order:.*decided by ' \
	"classify --explain lists the rules tried and what decided"
is "$OUT" "$(runuser -u nobody -- "$T/bin/rebound-pipe" -c "$T/etc/rebound.conf" --classify \
	--explain "$T/postfix-multi.eml")" "same text as rebound-pipe --classify --explain"
run classify "$T/no-such-file"
likef "$RC:$ERR" '^66:.*no-such-file' "an unreadable file: EX_NOINPUT, named"
OUT=$("$T/bin/rebound" -c "$T/etc/rebound.conf" -d "host=$T/nowhere dbname=rebound" classify \
	"$REPO/tests/data/remote-ndr.eml")
is "$?" 0 "classify needs no database"

# --- configuration and an unreachable database --------------------------------
OUT=$("$T/bin/rebound" -d "host=$T/nowhere dbname=rebound connect_timeout=2" stats 2>&1)
likef "$?:$OUT" "^69:.*cannot connect to the database:.*hint: the connection string comes from -d" \
	"unreachable database: EX_UNAVAILABLE, says so and where the setting came from"
rb_write_conf "database = host=$T/nowhere dbname=rebound"
run suppress list
likef "$RC:$ERR" "^69:.*cannot connect.*comes from $T/etc/rebound.conf" "hint names the configuration file"
grep -q "rebound\[[0-9]*\]: error: cannot connect to the database" "$T/log/rebound.log"
ok $? "the error also goes to log_file"
rb_write_conf "database = host=$T/nowhere dbname=rebound" "log_file = $T/log/not-there.log"
run suppress list
test ! -e "$T/log/not-there.log"
ok $? "a log_file that does not exist is not created by the tool"
rb_write_conf
OUT=$("$T/bin/rebound" -c "$T/etc/missing.conf" stats 2>&1)
likef "$?:$OUT" "^78:.*open $T/etc/missing.conf: No such file" "missing -c file: EX_CONFIG"
printf 'database = x\nbogus = 1\n' >"$T/etc/bad.conf"
OUT=$("$T/bin/rebound" -c "$T/etc/bad.conf" stats 2>&1)
likef "$?:$OUT" '^78:.*bad.conf, line 2: unknown parameter "bogus"' "bad configuration: EX_CONFIG, file and line"
# Root, as Debian's PostgreSQL sees it (peer authentication): as role root,
# which does not exist, or as rebound, which root is not.
OUT=$("$T/bin/rebound" -d "$DB_CONNINFO user=root" stats 2>&1)
likef "$?:$OUT" '^69:.*role "root" does not exist.*hint: .*run the tool as the database.s user, "runuser -u rebound -- rebound \.\.\."' \
	"as root, a missing role root: the hint says to run it as the rebound user"
{ echo "local peercheck all peer"; cat "$T/pg/data/pg_hba.conf"; } >"$T/pg_hba.conf"
cp "$T/pg_hba.conf" "$T/pg/data/pg_hba.conf"
q "SELECT pg_reload_conf()" >/dev/null
psql -XqAt -d postgres -c "CREATE DATABASE peercheck" >/dev/null
OUT=$("$T/bin/rebound" -d "host=$T/pgsock dbname=peercheck user=rebound" stats 2>&1)
likef "$?:$OUT" '^69:.*Peer authentication failed for user "rebound".*hint: .*"runuser -u rebound -- rebound \.\.\.", or connect as a role with a password' \
	"as root, peer authentication as rebound: the same hint"
OUT=$("$T/bin/rebound" -d "$DB_CONNINFO dbname=postgres" stats 2>&1)
likef "$?:$OUT" "^78:.*hint: the rebound schema is missing.*run 'rebound db migrate'" \
	"database without the schema: EX_CONFIG and what to do"

# --- suppress add / list / export / remove --------------------------------------------
run suppress add Bob@Example.ORG gone.example --reason unsubscribed --note "ticket 1" --actor alice
is "$RC" 0 "suppress add"
likef "$OUT" 'bob@example.org +yes +manual +unsubscribed' "table: address lower case, added"
is "$(q "SELECT reason || '|' || basis || '|' || source || '|' || actor || '|' || note
	FROM rebound.suppressions WHERE address = 'bob@example.org'")" "unsubscribed|manual|manual|alice|ticket 1" \
	"row with reason, actor and note"
is "$(q "SELECT action || '|' || actor FROM rebound.suppression_history WHERE address = 'gone.example'")" \
	"add|alice" "history"
run suppress add ok@x.example 'not an address'
likef "$RC:$ERR" '^65:.*not an address or domain: "not an address".*nothing was changed' \
	"an invalid address: EX_DATAERR"
is "$(q "SELECT count(*) FROM rebound.suppressions WHERE address = 'ok@x.example'")" 0 "the batch is atomic"
run suppress add --reason 'two words' x@y.example
likef "$RC:$ERR" '^65:.*not a reason' "a reason with a space: EX_DATAERR"
run suppress add bob@example.org
likef "$RC:$OUT" '^0:.*bob@example.org +no +manual +unsubscribed' "already listed: reported, exit 0"
run suppress add --json - <<<$'one@a.example\n# a comment\n\n  two@b.example  '
is "$RC" 0 "suppress add - reads standard input"
json_ok "$OUT" '[r["address"] for r in j] == ["one@a.example", "two@b.example"] and all(r["added"] for r in j)'
ok $? "JSON result of the additions"
is "$(q "SELECT actor FROM rebound.suppressions WHERE address = 'one@a.example'")" "$ACTOR" \
	"the default actor is the login (or sudo) user"

run suppress list
likef "$RC:$OUT" '^0:address +reason +basis +source +actor +created_at +note' "list: header"
is "$(printf '%s\n' "$OUT" | tail -n +2 | awk '{print $1}' | paste -sd,)" \
	"bob@example.org,gone.example,one@a.example,two@b.example" "list: address order"
run suppress list example.org
is "$(printf '%s\n' "$OUT" | tail -n +2 | awk '{print $1}')" "bob@example.org" "list TEXT filters"
run suppress list nothing-matches
likef "$OUT" "no entry matches" "an empty result says so"
run suppress list --json -n 2
json_ok "$OUT" 'len(j) == 2 and j[0]["address"] == "bob@example.org" and j[0]["created_at"].endswith("Z")'
ok $? "list --json -n 2"
run suppress export
is "$OUT" $'bob@example.org\ngone.example\none@a.example\ntwo@b.example' "export: one address per line"
run suppress export --csv
is "$(printf '%s\n' "$OUT" | head -1)" "address,reason,basis,source,actor,note,created_at,event_id" "export --csv header"
python3 -c 'import csv, sys
rows = list(csv.DictReader(sys.stdin))
sys.exit(0 if len(rows) == 4 and rows[0]["note"] == "ticket 1" else 1)' <<<"$OUT"
ok $? "export --csv parses as CSV"
run suppress export --json
is "$(printf '%s\n' "$OUT" | while read -r l; do json_ok "$l" 'j["address"]' && echo y; done | wc -l)" 4 \
	"export --json: one valid object per line"

run suppress remove bob@example.org nobody@x.example --actor bob --note "asked again"
likef "$RC:$ERR" '^1:.*1 of 2 not on the suppression list' "remove of an unlisted address exits 1"
likef "$OUT" 'nobody@x.example +no' "and shows which"
is "$(q "SELECT action || '|' || actor || '|' || note FROM rebound.suppression_history
	WHERE address = 'bob@example.org' ORDER BY id DESC LIMIT 1")" "remove|bob|asked again" "removal in the history"
run suppress remove - <<<"one@a.example"
is "$RC:$(q "SELECT count(*) FROM rebound.suppressions WHERE address = 'one@a.example'")" "0:0" \
	"suppress remove - reads standard input"

# --- stats and events ----------------------------------------------------------------------
q "INSERT INTO rebound.messages (id, token, tags) VALUES (1, 'tk1', '{\"campaign\": \"nov\"}');
   INSERT INTO rebound.recipients (message_id, address) VALUES (1, 'a@bad.example'), (1, 'b@ok.example');
   INSERT INTO rebound.events (kind, sync, source, recipient, reason, category, hard, status, message_id, dedup_key)
   VALUES ('rejected', true, 'pipe', 'a@bad.example', 'userunknown', 'user_unknown', true, '5.1.1', 1, 'c1'),
          ('bounced', false, 'pipe', E'evil\\x1b[2J@bad.example', 'mailboxfull', 'mailbox_full', false, '4.2.2', NULL, 'c2'),
          ('unknown', false, 'pipe', NULL, 'undefined', 'other', false, NULL, NULL, 'c3')" >/dev/null
run stats
is "$RC" 0 "stats"
likef "$OUT" 'Events in the last 30 days kind +events +addresses rejected +1 +1' "stats: events by kind"
likef "$OUT" 'bad.example +2 +1 +1 +2 +no' "stats: top failing domains"
likef "$OUT" 'campaign +nov +1 +2 +1 +0.5000' "stats: campaign rates"
likef "$OUT" 'unparsed +1' "stats: awaiting review"
printf '%s' "$OUT" | LC_ALL=C grep -q $'\x1b'
ok $((!$?)) "no escape sequence from a bounce reaches the terminal"
run stats --json --days 7
json_ok "$OUT" 'j["days"] == 7 and set(j) == {"days", "events", "suppressions", "domains", "reasons", "campaigns", "incidents", "review"} and j["domains"][0]["domain"] == "bad.example" and j["domains"][0]["suppressed"] is False'
ok $? "stats --json: one object, typed values"
run events
likef "$RC:$OUT" '^0:id +received_at +kind +recipient' "events: a table"
likef "$OUT" 'rejected +a@bad.example +userunknown +yes +unverified +5.1.1 +pipe +tk1 +\{"campaign": "nov"\}' "events: row with token and tags"
run events --json -n 2
json_ok "$OUT" 'len(j) == 2 and j[0]["kind"] == "bounced" and j[1]["kind"] == "unknown"'
ok $? "events --json -n 2: the latest two, oldest first"

# --- events --follow ---------------------------------------------------------------------
rebound_bg events --follow --count 2 >"$T/follow.out" 2>"$T/follow.err"
fpid=$RB_BG
wait_for 10 grep -qs "following events" "$T/follow.err"
ok $? "the listener says when it is ready"
q "INSERT INTO rebound.events (kind, sync, source, recipient, reason, hard, status, message_id, dedup_key)
   VALUES ('bounced', false, 'pipe', 'c@bad.example', 'userunknown', true, '5.1.1', 1, 'f1')" >/dev/null
q "NOTIFY rebound_events, 'not ours'" >/dev/null
q "INSERT INTO rebound.events (kind, sync, source, recipient, dedup_key)
   VALUES ('delayed', false, 'pipe', 'd@slow.example', 'f2')" >/dev/null
wait $fpid
is "$?" 0 "--count 2: exits after two events"
likef "$(sed -n 1p "$T/follow.out")" \
	'^[0-9-]+ [0-9:]+ event [0-9]+: rcpt=<c@bad.example>, kind=bounced, reason=userunknown, hard=yes, dsn=5.1.1, source=pipe, provenance=unverified, token=tk1, tags=\{"campaign": "nov"\}$' \
	"one line per event, Postfix style"
likef "$(sed -n 2p "$T/follow.out")" 'rcpt=<d@slow.example>, kind=delayed' "second event"
likef "$(cat "$T/follow.err")" "ignoring a notification that rebound did not send" "foreign notifications are ignored"

# rebound_bg: fpid must be the listener, which only a signal stops.
rebound_bg events -f >"$T/follow2.out" 2>"$T/follow2.err"
fpid=$RB_BG
wait_for 10 grep -qs "following events" "$T/follow2.err"
pg_stop
wait_for 10 grep -qs "lost the database connection, connecting again" "$T/follow2.err"
ok $? "connection lost while following: says so, and connects again"
pg_resume
q "INSERT INTO rebound.events (kind, sync, source, recipient, dedup_key)
   VALUES ('delayed', false, 'pipe', 'after@slow.example', 'f3')" >/dev/null
wait_for 20 grep -qs "rcpt=<after@slow.example>" "$T/follow2.out"
ok $? "and prints the events recorded once PostgreSQL is back"
kill "$fpid"
wait "$fpid" 2>/dev/null

# --- db migrate and db status ---------------------------------------------------------------
psql -XqAt -d postgres -c "CREATE DATABASE viatool" -c "CREATE DATABASE viapsql" -c "CREATE DATABASE partial" >/dev/null
R2() { "$T/bin/rebound" -c "$T/etc/rebound.conf" -d "$DB_CONNINFO dbname=$1" "${@:2}"; }
files=$(ls "$REPO/sql/migrations" | grep -E '^[0-9]+_.*\.sql$' | sort -n)
OUT=$(R2 viatool db status 2>&1)
is "$(printf '%s\n' "$OUT" | grep -c pending)" "$(printf '%s\n' "$files" | wc -l)" "db status on an empty database: all pending"
OUT=$(R2 viatool db migrate 2>&1)
likef "$?:$OUT" "^0:applied 001_initial.sql" "db migrate applies the migrations"
is "$(printf '%s\n' "$OUT" | grep -c '^applied')" "$(printf '%s\n' "$files" | wc -l)" "each of them"
OUT=$(R2 viatool db migrate 2>&1)
likef "$?:$OUT" "^0:nothing to do; versions 1, 2" "again: nothing to do"
psql -Xq -v ON_ERROR_STOP=1 -d viapsql -f "$REPO/sql/rebound.sql" >/dev/null 2>&1
dump() {
	# \restrict lines carry a random key (pg_dump since 15.14): not schema.
	"$PGBIN/pg_dump" -s -d "$1" | grep -v -e '^--' -e '^\\restrict ' -e '^\\unrestrict '
	psql -XAt -d "$1" -c "SELECT version, description FROM rebound.schema_version ORDER BY 1"
	psql -XAt -d "$1" -c "SELECT name, value FROM rebound.settings ORDER BY 1"
}
[ -n "$(dump viatool)" ] && [ "$(dump viatool)" = "$(dump viapsql)" ]
ok $? "db migrate and psql -f sql/rebound.sql give the same schema, versions and settings"
psql -Xq -v ON_ERROR_STOP=1 -d viatool -f "$REPO/sql/rebound.sql" >/dev/null 2>&1
ok $? "psql -f sql/rebound.sql after db migrate: nothing left to do"
OUT=$(R2 viatool db status --json 2>&1)
json_ok "$OUT" 'all(r["state"] == "applied" for r in j)'
ok $? "db status --json: all applied"

# A database from before 004, with events: migrate applies what is missing
# and the policy catches up on the hard failures already recorded.
psql -Xq -v ON_ERROR_STOP=1 -d partial -f - >/dev/null 2>&1 <<EOS
$(sed -n '/^CREATE SCHEMA/,/^);/p' "$REPO/sql/rebound.sql")
EOS
for f in 001_initial.sql 002_suppressions.sql; do
	psql -Xq -v ON_ERROR_STOP=1 -d partial -f "$REPO/sql/migrations/$f" >/dev/null 2>&1
done
psql -XqAt -d partial -c "INSERT INTO rebound.events (kind, sync, source, recipient, reason, hard, dedup_key)
	VALUES ('bounced', false, 'pipe', 'old@bad.example', 'userunknown', true, 'p1')" >/dev/null
OUT=$(R2 partial db migrate 2>&1)
likef "$?:$OUT" "^0:applied 004_policy.sql" "an older database gets only what it lacks"
! printf '%s' "$OUT" | grep -q 'applied 00[12]_'
ok $? "and not the migrations it has"
is "$(psql -XAt -d partial -c "SELECT basis FROM rebound.suppressions WHERE address = 'old@bad.example'")" "hard" \
	"hard failures recorded before the policy are suppressed"

OUT=$(R2 viatool db migrate --dir "$T/none" 2>&1)
likef "$?:$OUT" "^66:.*open directory $T/none.*hint: name the migrations directory" "missing directory: EX_NOINPUT"
mkdir -p "$T/mig"
cp "$REPO"/sql/migrations/*.sql "$T/mig/"
printf 'SELECT 1;\n' >"$T/mig/900_forgetful.sql"
OUT=$(R2 viatool db migrate --dir "$T/mig" 2>&1)
likef "$?:$OUT" "^65:.*900_forgetful.sql ran but did not record version 900" "a migration must record its version"
printf 'BEGIN;\nCREATE TABLE rebound.t901 (x int);\nSELEC oops;\nCOMMIT;\n' >"$T/mig/901_broken.sql"
rm "$T/mig/900_forgetful.sql"
OUT=$(R2 viatool db migrate --dir "$T/mig" 2>&1)
likef "$?:$OUT" '^70:.*901_broken.sql: syntax error.*the migrations before 901_broken.sql are applied' \
	"a broken migration names itself"
is "$(psql -XAt -d viatool -c "SELECT to_regclass('rebound.t901') IS NULL")" "t" "and is rolled back whole"
psql -XqAt -d viatool -c "INSERT INTO rebound.schema_version VALUES (999, 'from the future')" >/dev/null
OUT=$(R2 viatool db status 2>&1)
likef "$OUT" "999 +- +unknown to this rebound" "db status shows versions it does not know"
OUT=$(R2 viatool db migrate 2>&1)
likef "$?:$OUT" "^0:.*warning: the database has version 999" "db migrate warns about them"

# Every migration file has its guarded block in the psql entry file.
n=0
for f in $files; do
	v=$(printf '%s' "$f" | sed 's/^0*\([0-9]*\)_.*/\1/')
	grep -q "WHERE version = $v) AS apply" "$REPO/sql/rebound.sql" &&
		grep -q "^\\\\ir migrations/$f\$" "$REPO/sql/rebound.sql" || { n=$((n + 1)); diag "no guard for $f"; }
done
is "$n" 0 "sql/rebound.sql has a version guard and \\ir for every migration"

done_testing
