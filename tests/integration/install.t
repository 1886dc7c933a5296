#!/bin/bash
# install.t - "make install PREFIX=/usr DESTDIR=..." gives the Debian
# layout with minimal modes and nothing outside DESTDIR; the installed
# tool migrates a database from the installed schema; the milter's
# install line and systemd unit are ready.  The programs are not rebuilt
# ("-o all"), so the test works on whatever "make" built.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/harness.sh"
need_tool make systemd-analyze

rb_init
R=$T/deb
MAKE_INSTALL=(make -s --no-print-directory -C "$REPO" -o all PREFIX=/usr)
"${MAKE_INSTALL[@]}" DESTDIR="$R" install >"$T/log/install.log" 2>&1
rc=$?
ok $rc "make install PREFIX=/usr DESTDIR=..."
[ $rc -eq 0 ] || diag "$(tail -5 "$T/log/install.log")"

mode_is() {	# mode_is PATH MODE
	is "$(stat -c %a "$R$1" 2>/dev/null || echo missing)" "$2" "$1 ($2)"
}
mode_is /usr/bin/rebound 755
mode_is /usr/lib/rebound/rebound-pipe 755
mode_is /usr/sbin/rebound-milter 755
mode_is /usr/share/man/man8/rebound-milter.8 644
mode_is /usr/share/rebound/sql/rebound.sql 644
for f in "$REPO"/sql/migrations/*.sql; do
	mode_is "/usr/share/rebound/sql/migrations/$(basename "$f")" 644
done
mode_is /usr/share/rebound/sql/examples/flag-users.sql 644
mode_is /usr/share/man/man1/rebound.1 644
mode_is /usr/share/man/man5/rebound.conf.5 644
mode_is /usr/share/man/man7/rebound.7 644
mode_is /usr/share/man/man8/rebound-pipe.8 644
mode_is /usr/share/doc/rebound/README.md 644
mode_is /usr/share/doc/rebound/rebound.conf.example 644
mode_is /usr/share/doc/rebound/contrib/postfix/master.cf 644
mode_is /usr/share/doc/rebound/contrib/systemd/rebound-milter.service 644
mode_is /usr/share/doc/rebound/contrib/sysv/rebound-milter 644
mode_is /usr/lib/systemd/system/rebound-milter.service 644
mode_is /usr/share/rebound 755

is "$(cd "$R" && find . -mindepth 1 -maxdepth 1)" "./usr" "nothing outside DESTDIR/usr (no /etc)"
is "$(find "$R" -perm /022 ! -type l -printf '%P %m\n' | grep -v ' 755$' | head -3)" "" \
	"nothing writable by group or others"
is "$(find "$R" -perm /6000 | head -3)" "" "nothing setuid or setgid"
is "$(find "$R" -type f -perm /111 -printf '%P\n' | sort | paste -sd' ')" \
	"usr/bin/rebound usr/lib/rebound/rebound-pipe usr/sbin/rebound-milter" \
	"only the programs are executable"

# The milter, once the milter branch adds it to PROGRAMS, goes to sbin.
out=$("${MAKE_INSTALL[@]}" -n DESTDIR=/x install \
	PROGRAMS="pipe/rebound-pipe cli/rebound milter/rebound-milter" 2>&1)
like "$out" "install -m 755 milter/rebound-milter /x/usr/sbin/" "rebound-milter goes to /usr/sbin when built"
like "$(grep ExecStart "$R/usr/lib/systemd/system/rebound-milter.service")" \
	"^ExecStart=/usr/sbin/rebound-milter -f$" "the unit runs rebound-milter -f"
like "$("${MAKE_INSTALL[@]}" -n DESTDIR=/x SBINDIR=/opt/sbin install 2>&1 | grep -c /opt/sbin/rebound-milter)" \
	"^[1-9]" "the unit follows SBINDIR"
grep -q '^User=rebound$' "$R/usr/lib/systemd/system/rebound-milter.service" &&
	grep -q '^NoNewPrivileges=yes$' "$R/usr/lib/systemd/system/rebound-milter.service" &&
	grep -q '^ProtectSystem=strict$' "$R/usr/lib/systemd/system/rebound-milter.service"
ok $? "the unit runs as rebound, hardened"
# systemd-analyze needs the program to exist: check a copy pointing at /bin/true.
mkdir -p "$T/unit"
sed 's|^ExecStart=.*|ExecStart=/bin/true -f|' "$R/usr/lib/systemd/system/rebound-milter.service" \
	>"$T/unit/rebound-milter.service"
out=$(systemd-analyze verify --man=no "$T/unit/rebound-milter.service" 2>&1)
is "$out" "" "systemd-analyze verify finds nothing to say"
# The maintenance timer and its service, in the doc directory for the admin to copy.
sed 's|^ExecStart=.*|ExecStart=/bin/true|' "$R/usr/share/doc/rebound/contrib/systemd/rebound-maintain.service" \
	>"$T/unit/rebound-maintain.service"
cp "$R/usr/share/doc/rebound/contrib/systemd/rebound-maintain.timer" "$T/unit/"
out=$(systemd-analyze verify --man=no "$T/unit/rebound-maintain.service" "$T/unit/rebound-maintain.timer" 2>&1)
is "$out" "" "the maintenance timer and service verify too"

# The installed contrib files and man pages name the installed paths.
DOC=$R/usr/share/doc/rebound
like "$(grep 'argv=' "$DOC/contrib/postfix/master.cf")" \
	"^  user=rebound argv=/usr/lib/rebound/rebound-pipe -c /etc/rebound/rebound.conf -q " \
	"the installed master.cf runs the installed rebound-pipe"
like "$(grep 'argv=' "$R/usr/share/man/man8/rebound-pipe.8")" "argv=/usr/lib/rebound/rebound-pipe$" \
	"and so does rebound-pipe(8)'s example"
is "$(grep -E '^(DAEMON|CONFIG)=' "$DOC/contrib/sysv/rebound-milter" | paste -sd' ')" \
	"DAEMON=/usr/sbin/rebound-milter CONFIG=/etc/rebound/rebound.conf" \
	"the init script runs the installed rebound-milter"
like "$(grep -A1 builtin_rules_directory "$R/usr/share/man/man5/rebound.conf.5" | head -1)" \
	"Li /usr/share/rebound/rules$" "rebound.conf(5) gives the installed rules directory"
is "$(grep -rl /usr/local "$R/usr/share/man" "$DOC/contrib" "$DOC/rebound.conf.example")" "" \
	"no installed man page or contrib file names /usr/local"
sh -n "$DOC/contrib/sysv/rebound-milter"
ok $? "the init script is valid sh"
"${MAKE_INSTALL[@]}" DESTDIR="$T/opt" PREFIX=/opt/rebound SYSCONFDIR=/opt/rebound/etc install \
	>"$T/log/install-opt.log" 2>&1
like "$(grep 'argv=' "$T/opt/opt/rebound/share/doc/rebound/contrib/postfix/master.cf")" \
	"argv=/opt/rebound/lib/rebound/rebound-pipe -c /opt/rebound/etc/rebound.conf " \
	"with another PREFIX and SYSCONFDIR, master.cf follows them"

# The installed tool works from the installed schema.
pg_start
psql -XqAt -d postgres -c "CREATE DATABASE installed" >/dev/null
out=$(REBOUND_DATADIR=$R/usr/share/rebound "$R/usr/bin/rebound" -d "$DB_CONNINFO dbname=installed" db migrate 2>&1)
like "$?:$out" "^0:applied 001_initial.sql" "the installed rebound migrates from the installed schema"
out=$(psql -Xq -v ON_ERROR_STOP=1 -d installed -f "$R/usr/share/rebound/sql/rebound.sql" 2>&1)
ok $? "and the installed rebound.sql agrees"

"${MAKE_INSTALL[@]}" DESTDIR="$R" uninstall >/dev/null 2>&1
is "$(find "$R" -type f | head -3)" "" "make uninstall removes every file"

done_testing
