#!/usr/bin/perl
# lint-layers.pl - the floor plan of the source tree holds.
#
#   tests/lint-layers.pl [DIR]       check the tree at DIR (make lint: .)
#   tests/lint-layers.pl --self-test show that it catches what it must
#
# The shared code sits in common/, one folder per layer, lowest first:
# util, mail, report, classify, store.  The programs (pipe/, milter/, cli/) sit
# above all of them.  The rules:
#
#   - a file in common/LAYER includes "LAYER2/name.h" only, for LAYER2
#     the same layer or a lower one, and the header exists;
#   - a file in a program folder includes its own headers by plain name
#     and common/'s as "LAYER/name.h"; never another program's;
#   - no cycle: not among folders, not among headers through their
#     includes, and not among .c files through the functions they call
#     (a.c calls b.c calls a.c is a knot even when one header hides it);
#   - one header per module: a function defined in x.c is declared in x.h.
#     A module may span files that share a private header NAME_impl.h
#     (rules.c and rules_match.c): a .c file without a header of its own
#     that includes it belongs to NAME.  In a program folder the
#     program's header (milter/milter.h, cli/cli.h) may declare the
#     functions of any of its files.
#
# Reads the source as text, the way the project writes it (function
# definitions start at the beginning of a line, "static" on the line
# before); it compiles nothing.
use strict;
use warnings;
use File::Path qw(make_path);
use File::Temp qw(tempdir);

my @layers = qw(util mail report classify store);	# lowest first
my %rank = map { $layers[$_] => $_ } 0 .. $#layers;
my @programs = qw(pipe milter cli);
my %is_program = map { $_ => 1 } @programs;

sub slurp {
	my ($path) = @_;
	open(my $fh, '<', $path) or die "lint-layers: $path: $!\n";
	local $/;
	return scalar <$fh>;
}

# strip - the text without comments and string contents, lines kept
sub strip {
	my ($s) = @_;
	$s =~ s{("(?:\\.|[^"\\\n])*")|('(?:\\.|[^'\\\n])*')|(/\*.*?\*/)|//[^\n]*}{
		defined $1 ? '""' : defined $2 ? "' '" : defined $3 ? ("\n" x ($3 =~ tr/\n//)) || ' ' : ''
	}gse;
	return $s;
}

# header_decls - the functions a header (stripped) declares: statements
# "TYPE name(...)", and "NAME_fn a, b" for a typedef'd function type.
sub header_decls {
	my ($s) = @_;
	my @names;
	$s =~ s/^[ \t]*#.*(?:\\\n.*)*$//mg;
	1 while $s =~ s/\{[^{}]*\}/ /s;
	for my $st (split /;/, $s) {
		$st =~ s/\s+/ /g;
		$st =~ s/^ //;
		next if $st =~ /^(?:typedef|static)\b/;
		if ($st =~ /^\w+_fn ([\w ,]+)$/) {
			push @names, map { s/ //gr } split /,/, $1;
		} elsif ($st =~ /^(?:[\w *]*?[ *])?([A-Za-z_]\w*) ?\(/ &&
			 $1 !~ /^(?:void|int|char|bool|long|short|unsigned|signed|size_t|const|struct|enum|__attribute__)$/) {
			push @names, $1;
		}
	}
	return @names;
}

# files ROOT - every .c and .h of the plan, as paths relative to ROOT
sub files {
	my ($root, $errors) = @_;
	my @out;
	for my $path (glob("$root/common/*")) {
		my ($name) = $path =~ m{([^/]+)$};
		if (-d $path) {
			push @$errors, "common/$name/: a folder that is not a layer (@layers)"
			    unless exists $rank{$name};
		} elsif ($name =~ /\.[ch]$/) {
			push @$errors, "common/$name: a file outside the layer folders";
		}
	}
	for my $dir ((map { "common/$_" } @layers), @programs) {
		push @out, map { substr($_, length($root) + 1) } glob("$root/$dir/*.[ch]");
	}
	return @out;
}

sub folder_of {
	my ($file) = @_;
	return $1 if $file =~ m{^common/([^/]+)/};
	return $1 if $file =~ m{^([^/]+)/};
	return '';
}

# module_of - the module a file belongs to (see the rules above)
sub module_of {
	my ($file, $have) = @_;
	my ($dir, $base) = $file =~ m{^(.*)/([^/]+)\.[ch]$};
	return "$dir/$1" if $base =~ /^(.+)_impl$/;
	return "$dir/$base" if $file =~ /\.h$/ || $have->{"$dir/$base.h"};
	if ($file =~ /\.c$/) {
		for my $inc (@{ $have->{"inc:$file"} || [] }) {
			return "$dir/$1" if $inc =~ m{^\Q$dir\E/(.+)_impl\.h$};
		}
	}
	return "$dir/$base";
}

# cycle - one cycle of the graph (hash of node => {node => 1}), or ()
sub cycle {
	my ($g) = @_;
	my (%state, @stack);
	my $found;
	my $visit;
	$visit = sub {
		my ($n) = @_;
		$state{$n} = 1;
		push @stack, $n;
		for my $m (sort keys %{ $g->{$n} || {} }) {
			next if $m eq $n;
			if (($state{$m} || 0) == 1) {
				my ($i) = grep { $stack[$_] eq $m } 0 .. $#stack;
				$found = [ @stack[$i .. $#stack], $m ];
				return;
			}
			$visit->($m) unless $state{$m};
			return if $found;
		}
		pop @stack;
		$state{$n} = 2;
	};
	for my $n (sort keys %$g) {
		$visit->($n) unless $state{$n};
		last if $found;
	}
	return $found ? @$found : ();
}

# program_header - whether header h is the program header of d's folder
sub program_header {
	my ($h, $d) = @_;
	my $dir = folder_of($h);
	return $is_program{$dir} && $h eq "$dir/$dir.h" && folder_of($d) eq $dir;
}

# check_includes T - resolve each include and check it against the layers;
# fills T's folder and header graphs
sub check_includes {
	my ($t) = @_;
	for my $f (@{ $t->{files} }) {
		my ($from, $n) = (folder_of($f), 0);
		for my $line (split /\n/, $t->{text}{$f}) {
			$n++;
			next unless $line =~ /^\s*#\s*include\s+"([^"]+)"/;
			my ($inc, $target) = ($1);
			if ($inc =~ m{^([a-z]+)/([A-Za-z0-9_]+\.h)$} && exists $rank{$1}) {
				$target = "common/$1/$2";
				push @{ $t->{errors} }, "$f:$n: includes \"$inc\" of a higher layer"
				    if exists $rank{$from} && $rank{$1} > $rank{$from};
			} elsif ($inc =~ m{^[A-Za-z0-9_]+\.h$} && !exists $rank{$from}) {
				$target = "$from/$inc";
			} elsif ($inc =~ m{^[A-Za-z0-9_]+\.h$}) {
				push @{ $t->{errors} }, "$f:$n: \"$inc\" must name its folder (\"$from/$inc\")";
				next;
			} else {
				push @{ $t->{errors} }, "$f:$n: \"$inc\" is outside the plan (another program's header?)";
				next;
			}
			unless ($t->{have}{$target}) {
				push @{ $t->{errors} }, "$f:$n: \"$inc\" does not exist ($target)";
				next;
			}
			push @{ $t->{have}{"inc:$f"} }, $target;
			$t->{folders}{$from}{ folder_of($target) } = 1;
			$t->{headers}{$f}{$target} = 1;
		}
	}
}

# check_modules T - one header per module; fills T's definitions
sub check_modules {
	my ($t) = @_;
	my ($def, $have, %decl) = ($t->{def}, $t->{have});
	for my $f (@{ $t->{files} }) {
		my $s = strip($t->{text}{$f});
		if ($f =~ /\.h$/) {
			push @{ $decl{$_} }, $f for header_decls($s);
			next;
		}
		my $prev = '';
		for my $line (split /\n/, $s) {
			$def->{$1} = $f if $line =~ /^([a-z][a-z0-9_]*)\(/ && $prev !~ /^static\b/
			    && $1 ne 'main';
			$prev = $line;
		}
	}
	for my $fn (sort keys %decl) {
		my $d = $def->{$fn};
		next unless defined $d;
		for my $h (@{ $decl{$fn} }) {
			push @{ $t->{errors} }, "$h: declares $fn() of $d, a header of another module"
			    unless program_header($h, $d) || module_of($h, $have) eq module_of($d, $have);
		}
	}
	for my $fn (sort keys %$def) {
		my $d = $def->{$fn};
		push @{ $t->{errors} }, "$d: $fn() is declared in no header of its module"
		    unless grep { program_header($_, $d) || module_of($_, $have) eq module_of($d, $have) }
			@{ $decl{$fn} || [] };
	}
}

# check_cycles T - no cycle among folders, headers, or files through calls
sub check_cycles {
	my ($t) = @_;
	my %calls;
	for my $f (grep { /\.c$/ } @{ $t->{files} }) {
		my $s = strip($t->{text}{$f});
		while ($s =~ /\b([a-z][a-z0-9_]*)\s*\(/g) {
			my $d = $t->{def}{$1};
			$calls{$f}{$d} = 1 if defined $d && $d ne $f;
		}
	}
	for ([ 'folders', $t->{folders} ], [ 'headers', $t->{headers} ],
	     [ 'files (calls)', \%calls ]) {
		my ($what, $g) = @$_;
		my @c = cycle($g);
		push @{ $t->{errors} }, "a cycle among $what: " . join(' -> ', @c) if @c;
	}
}

# check_tree ROOT - every violation of the plan in the tree at ROOT
sub check_tree {
	my ($root) = @_;
	my $t = { errors => [], have => {}, text => {}, def => {}, folders => {}, headers => {} };

	$t->{files} = [ files($root, $t->{errors}) ];
	for my $f (@{ $t->{files} }) {
		$t->{have}{$f} = 1;
		$t->{text}{$f} = slurp("$root/$f");
	}
	check_includes($t);
	check_modules($t);
	check_cycles($t);
	return @{ $t->{errors} };
}

# --- self-test: a small tree, then one break at a time ---------------------
sub write_tree {
	my ($root, %files) = @_;
	for my $path (sort keys %files) {
		my ($dir) = $path =~ m{^(.*)/};
		make_path("$root/$dir");
		open(my $fh, '>', "$root/$path") or die "lint-layers: $root/$path: $!\n";
		print $fh $files{$path};
		close $fh;
	}
}

sub self_test {
	my %good = (
		'common/util/buf.h' => "void buf_put(int c);\n",
		'common/util/buf.c' => "#include \"util/buf.h\"\nvoid\nbuf_put(int c)\n{\n}\n",
		'common/mail/cfg.h' => "#include \"util/buf.h\"\nint cfg_load(const char *p);\n",
		'common/mail/cfg.c' => "#include \"mail/cfg.h\"\nint\ncfg_load(const char *p)\n{\n\tbuf_put(1);\n\treturn 0;\n}\n",
		'common/classify/rules.h' => "int rules_match(int x);\nint rules_load(int x);\n",
		'common/classify/rules_impl.h' => "#include \"classify/rules.h\"\nint rules_compile(int x);\n",
		'common/classify/rules.c' => "#include \"classify/rules_impl.h\"\nint\nrules_load(int x)\n{\n\treturn rules_compile(x);\n}\n",
		'common/classify/rules_match.c' => "#include \"classify/rules_impl.h\"\nint\nrules_compile(int x)\n{\n\treturn x;\n}\nint\nrules_match(int x)\n{\n\treturn x;\n}\n",
		'milter/milter.h' => "#include \"mail/cfg.h\"\nvoid writer_start(void);\n",
		'milter/writer.c' => "#include \"milter.h\"\nvoid\nwriter_start(void)\n{\n\t(void)cfg_load(\"x\");\n}\n",
		'milter/main.c' => "#include \"milter.h\"\nint\nmain(void)\n{\n\twriter_start();\n\treturn 0;\n}\n",
		'pipe/main.c' => "#include \"classify/rules.h\"\n#include \"mail/cfg.h\"\nint\nmain(void)\n{\n\treturn rules_match(cfg_load(\"x\"));\n}\n",
	);
	my %cases = (
		'good tree' => [ 0, {} ],
		'a lower layer includes a higher one' =>
		    [ 1, { 'common/mail/cfg.c' => "#include \"mail/cfg.h\"\n#include \"classify/rules.h\"\nint\ncfg_load(const char *p)\n{\n\treturn 0;\n}\n" } ],
		'common/ includes a program header' =>
		    [ 1, { 'common/mail/cfg.c' => "#include \"mail/cfg.h\"\n#include \"../../milter/milter.h\"\nint\ncfg_load(const char *p)\n{\n\treturn 0;\n}\n" } ],
		'a program includes another program' =>
		    [ 1, { 'pipe/main.c' => "#include \"milter/milter.h\"\nint\nmain(void)\n{\n\treturn 0;\n}\n" } ],
		'an include without its folder' =>
		    [ 1, { 'common/mail/cfg.h' => "#include \"buf.h\"\nint cfg_load(const char *p);\n" } ],
		'a file straight in common/' =>
		    [ 1, { 'common/stray.c' => "int x;\n" } ],
		'a folder that is no layer' =>
		    [ 1, { 'common/misc/x.h' => "\n" } ],
		'a header cycle' =>
		    [ 1, { 'common/util/buf.h' => "#include \"util/xalloc.h\"\nvoid buf_put(int c);\n",
			   'common/util/xalloc.h' => "#include \"util/buf.h\"\n" } ],
		'a call cycle behind one shared header' =>
		    [ 3, { 'common/util/buf.c' => "#include \"util/buf.h\"\nvoid\nbuf_put(int c)\n{\n\tbuf_more(c);\n}\n",
			   'common/util/more.c' => "#include \"util/buf.h\"\nvoid\nbuf_more(int c)\n{\n\tbuf_put(c);\n}\n",
			   'common/util/buf.h' => "void buf_put(int c);\nvoid buf_more(int c);\n" } ],
		'a function declared in another module\'s header' =>
		    [ 1, { 'common/util/buf.h' => "void buf_put(int c);\nint cfg_load(const char *p);\n" } ],
	);
	my $failed = 0;
	for my $name (sort keys %cases) {
		my ($want, $change) = @{ $cases{$name} };
		my $root = tempdir(CLEANUP => 1);
		write_tree($root, %good, %$change);
		my @got = check_tree($root);
		if (($want == 0) != (@got == 0) || ($want > 0 && @got != $want)) {
			print STDERR "lint-layers: self-test \"$name\": ", scalar(@got),
			    " violations, want $want\n", map { "  $_\n" } @got;
			$failed = 1;
		}
	}
	print "lint-layers: self-test ", ($failed ? "FAILED" : "passed"), " (",
	    scalar(keys %cases), " cases)\n";
	return $failed;
}

if (@ARGV && $ARGV[0] eq '--self-test') {
	exit(self_test() ? 1 : 0);
}
my $root = @ARGV ? $ARGV[0] : '.';
my @errors = check_tree($root);
print STDERR "lint-layers: $_\n" for @errors;
print "lint-layers: ", scalar(files($root, [])), " files, ", scalar(@errors), " violations\n";
exit(@errors ? 1 : 0);
