#!/usr/bin/perl
# lint-sql.pl - SQL reaches PostgreSQL only as constant text with $n
# parameters, never built from runtime values.
#
#   tests/lint-sql.pl FILE.c...     check these files (make lint: common/ and the programs)
#   tests/lint-sql.pl --self-test   show that it catches what it must
#
# Every call of a function that sends SQL (libpq's PQexec... and our
# wrappers) must pass as its SQL argument either string literals (and
# UPPER_CASE macros that are string literals), or the name of an array
# that every declaration in the file makes "static const char NAME[] ="
# string literals.  Anything else - a buffer filled by snprintf or strcat,
# a char *, g_strdup_printf's result - is a violation, unless listed in
# %allow with the reason it is safe.
use strict;
use warnings;

# function => index (from 0) of its SQL argument
my %sinks = (
	PQexec => 1, PQexecParams => 1, PQprepare => 2, PQsendQuery => 1,
	PQsendQueryParams => 1, PQsendPrepare => 2, PQdescribePrepared => 1,
	db_exec => 1, db_query => 1, db_query_binary => 1, db_query_prepared => 1,
	db_exec_script => 1,
	cli_query => 2, cli_query_committed => 2, suppress_change => 2, columns_run => 1, incidents_rows => 2,
	rundiff_table => 2,
);

# "file-basename:function:argument" => why it is safe.  The wrappers pass
# their caller's SQL through; the callers are checked as sinks above.
my %allow = (
	'db.c:db_query:sql' => 'wrapper; its callers are checked',
	'db.c:db_query_binary:sql' => 'wrapper; its callers are checked',
	'db.c:db_query_prepared:sql' => 'wrapper; its callers are checked',
	'db.c:db_exec:sql' => 'wrapper; its callers are checked',
	'db.c:db_exec_script:sql' => 'wrapper; its callers are checked',
	'cli.c:cli_query:sql' => 'wrapper; its callers are checked',
	'cli.c:cli_query_committed:sql' => 'wrapper; its callers are checked',
	'cli_suppress.c:suppress_change:sql' => 'wrapper; its callers are checked',
	'writer_sql.c:columns_run:sql' => 'wrapper; its callers are checked',
	'cli_incidents.c:incidents_rows:sql' => 'wrapper; its callers are checked',
	'cli_rundiff.c:rundiff_table:sql' => 'wrapper; its callers are checked',
	'cli_db.c:db_apply:sql' => 'a migration file of the installed schema (sql/migrations), not input',
	'cli_stats.c:cli_stats:stats_sections[i].sql' => 'static const table of string literals',
);

sub strip_comments {
	my ($s) = @_;
	# Keep strings intact, blank out comments, keep line count.
	$s =~ s{("(?:\\.|[^"\\])*")|/\*.*?\*/|//[^\n]*}{defined $1 ? $1 : ''}gse;
	return $s;
}

# args TEXT POS - the top-level arguments of the call whose '(' is at POS
sub args {
	my ($s, $pos) = @_;
	my ($depth, $cur, @args) = (0, '');
	for (my $i = $pos; $i < length $s; $i++) {
		my $c = substr($s, $i, 1);
		if ($c eq '"') {
			my ($str) = substr($s, $i) =~ /^("(?:\\.|[^"\\])*")/s;
			$cur .= $str;
			$i += length($str) - 1;
			next;
		}
		$depth++ if $c eq '(';
		$depth-- if $c eq ')';
		if ($depth == 0) { push @args, $cur; last; }
		if ($depth == 1 && $c eq ',') { push @args, $cur; $cur = ''; next; }
		$cur .= $c unless $depth == 1 && $c eq '(' && $i == $pos;
	}
	s/^\s+|\s+$//g for @args;
	return @args;
}

# constant EXPR MACROS - whether EXPR is string literals and string macros
sub constant {
	my ($e, $macros) = @_;
	$e =~ s/"(?:\\.|[^"\\])*"//gs;
	for my $w ($e =~ /(\w+)/g) {
		return 0 unless $w =~ /^[A-Z][A-Z0-9_]*$/ && $macros->{$w};
	}
	return $e =~ /^[\sA-Z0-9_]*$/;
}

# function_at TEXT POS - name of the function whose body holds POS
sub function_at {
	my ($s, $pos) = @_;
	my $before = substr($s, 0, $pos);
	my ($name, $start) = ('?', 0);
	while ($before =~ /^(\w+)\s*\([^;{]*\)\s*\{/mg) { ($name, $start) = ($1, pos($before)); }
	return wantarray ? ($name, $start) : $name;
}

sub check_file {
	my ($path, $macros) = @_;
	open my $fh, '<', $path or die "lint-sql: $path: $!\n";
	my $s = strip_comments(do { local $/; <$fh> });
	close $fh;
	(my $base = $path) =~ s{.*/}{};
	# File scope takes in the headers of its own folder that it includes
	# (milter/sql.h holds the milter's statements).
	my ($dir) = $path =~ m{^(.*)/};
	my $scope = $s;
	for my $inc ($s =~ /^\s*#\s*include\s+"(\w+\.h)"/mg) {
		my $h = (defined $dir ? "$dir/" : '') . $inc;
		next unless -f $h && open(my $hh, '<', $h);
		$scope .= "\n" . strip_comments(do { local $/; <$hh> });
		close $hh;
	}
	my @bad;
	my @calls;
	while ($s =~ /\b(\w+)\s*\(/g) {
		push @calls, [$1, pos($s) - 1] if exists $sinks{$1};
	}
	for my $call (@calls) {
		my ($fn, $open) = @$call;
		my $line = 1 + (substr($s, 0, $open) =~ tr/\n//);
		# A definition or prototype of the sink itself is not a call.
		my $prev = substr($s, 0, $open - length $fn);
		next if $prev =~ /(?:^|\n)(?:[\w \t*]+\s)?$/ && $prev =~ /\n\s*$|^\s*$/s
			&& substr($s, $open) =~ /^\([^;]*\)\s*[{;]/s && $prev =~ /\n$/;
		my @a = args($s, $open);
		my $arg = $a[$sinks{$fn}];
		next unless defined $arg;
		next if constant($arg, $macros);
		my ($where, $start) = function_at($s, $open);
		next if exists $allow{"$base:$where:$arg"};
		if ($arg =~ /^\w+$/) {
			# Declarations in the calling function, else at file scope.
			my $body = substr($s, $start, $open - $start);
			my $init = qr/(?:"(?:\\.|[^"\\])*"|[^;"])*/s;
			my $declre = qr/((?:static\s+)?(?:const\s+)?char\s*(?:const\s*)?\*?\s*(?:const\s+)?\b\Q$arg\E\b\s*(?:\[\s*\w*\s*\])?\s*(?:=$init)?;)/;
			my @decl = $body =~ /$declre/g;
			@decl = $scope =~ /^$declre/mg unless @decl;
			my $good = @decl > 0;
			for my $d (@decl) {
				$good = 0 unless $d =~ /^static\s+const\s+char\s+\Q$arg\E\s*\[\s*\]\s*=\s*(.*);$/s
					&& constant($1, $macros);
			}
			next if $good;
		}
		push @bad, "$path:$line: $fn() in $where() gets SQL \"$arg\" that is not a constant";
	}
	return @bad;
}

sub macros {
	my %m;
	for my $f (@_) {
		open my $fh, '<', $f or next;
		while (<$fh>) {
			$m{$1} = 1 if /^\s*#\s*define\s+([A-Z][A-Z0-9_]*)\s+"(?:\\.|[^"\\])*"\s*$/;
		}
		close $fh;
	}
	return \%m;
}

sub lint {
	my @files = @_;
	my ($dir) = ($files[0] // '.') =~ m{^(.*)/} ;
	my @headers = map { glob("$_/*.h") } ('common/*', 'pipe', 'milter', 'cli', defined $dir ? $dir : '.');
	my $macros = macros(@files, @headers);
	my @bad = map { check_file($_, $macros) } @files;
	print STDERR "lint-sql: $_\n" for @bad;
	return scalar @bad;
}

sub self_test {
	require File::Temp;
	my $d = File::Temp::tempdir(CLEANUP => 1);
	my %cases = (
		'good.c' => [0, <<'C'],
#define CHANNEL "rebound_events"
static const char sql_one[] = "SELECT $1::int" " + 1";
int f(struct db *db, char **e) {
	static const char q[] = "INSERT INTO t VALUES ($1)";
	db_exec(db, "BEGIN", e);
	db_exec(db, "LISTEN " CHANNEL, e);
	db_query(db, sql_one, 1, v, PGRES_TUPLES_OK, e);
	return db_query(db, q, 1, v, PGRES_TUPLES_OK, e) != 0;
}
C
		'snprintf.c' => [1, <<'C'],
int f(struct db *db, const char *who, char **e) {
	char sql[256];
	snprintf(sql, sizeof(sql), "DELETE FROM t WHERE a = '%s'", who);
	return db_exec(db, sql, e);
}
C
		'strcat.c' => [1, <<'C'],
int f(PGconn *c, const char *who) {
	static char q[256] = "SELECT * FROM t WHERE a = '";
	strcat(q, who);
	PQexec(c, q);
	return 0;
}
C
		'pointer.c' => [2, <<'C'],
int f(struct db *db, const char *who, char **e) {
	char *sql = g_strdup_printf("SELECT %s", who);
	db_query(db, sql, 0, NULL, PGRES_TUPLES_OK, e);
	PQexecParams(conn, who, 0, NULL, NULL, NULL, NULL, 0);
	return 0;
}
C
		'shadow.c' => [1, <<'C'],
static const char sql[] = "SELECT 1";
int f(struct db *db, const char *who, char **e) {
	char sql[64];
	sprintf(sql, "SELECT %s", who);
	return db_exec(db, sql, e);
}
C
		'multiline.c' => [1, <<'C'],
int f(struct cli *cli, char *buf, int *st) {
	return cli_query(cli, "what",
			 buf, 0, NULL, PGRES_TUPLES_OK, st) != NULL;
}
C
	);
	my $failed = 0;
	for my $name (sort keys %cases) {
		my ($want, $text) = @{$cases{$name}};
		open my $fh, '>', "$d/$name" or die;
		print $fh $text;
		close $fh;
		open my $save, '>&', \*STDERR;
		open STDERR, '>', '/dev/null';
		my $got = lint("$d/$name");
		open STDERR, '>&', $save;
		if ($got != $want) {
			print STDERR "lint-sql: self-test $name: $got violations, want $want\n";
			$failed++;
		}
	}
	print "lint-sql: self-test ", ($failed ? "FAILED" : "passed"), " (", scalar(keys %cases), " cases)\n";
	return $failed;
}

if (@ARGV && $ARGV[0] eq '--self-test') {
	exit(self_test() ? 1 : 0);
}
die "usage: lint-sql.pl FILE.c... | --self-test\n" unless @ARGV;
my $n = lint(@ARGV);
print "lint-sql: ", scalar(@ARGV), " files, $n violations\n";
exit($n ? 1 : 0);
