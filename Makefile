# rebound - see README.md.  GNU make.
#
#   make                    build the programs
#   make SANITIZE=address,undefined   instrumented build
#   make check              install dependencies, build, run every test tier that
#                           needs nothing beside the repository
#   make check-corpus       the tiers that need the labelled corpus (CORPUS=)
#   make accuracy           score --classify on the labelled corpus (CORPUS=), the
#                           knowledge table, and which rules decide in one family only
#   make knowledge          the classifier against the documented replies
#   make bench              batch and per-message speed against Sisimai and a
#                           null exec, bounces end to end (pipe(8) and LMTP)
#                           against a trivial pipe transport and LMTP server,
#                           rebound-milter against a null milter
#   make soak               load and soak tests of rebound-pipe and rebound-milter,
#                           and a database failover under two Postfix nodes
#   make coverage           line coverage per folder (gcov, build/coverage)
#   make demo               run the main job on an embedded default
#   make install [PREFIX=/usr/local] [DESTDIR=]

PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
LIBEXECDIR  ?= $(PREFIX)/lib/rebound
DATADIR     ?= $(PREFIX)/share/rebound
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/rebound
SYSCONFDIR  ?= /etc/rebound
DESTDIR     ?=

CC          ?= cc
CFLAGS      ?= -O2 -g
PKG_CONFIG  ?= pkg-config
PKGS         = gmime-3.0 libpq libpcre2-8

# Third-party headers come in with -isystem so that their warnings cannot
# break -Werror.  Evaluated lazily: `make deps` may have just installed them.
pkg_cflags   = $(shell $(PKG_CONFIG) --cflags $(1) | sed -e 's/-I/-isystem /g')
pkg_libs     = $(shell $(PKG_CONFIG) --libs $(1))

WARN = -std=c11 -Wall -Wextra -Werror -pedantic -Wstrict-prototypes \
       -Wmissing-prototypes -Wold-style-definition -Wvla -Wwrite-strings \
       -Wformat=2 -Wshadow -Wpointer-arith -Wcast-qual -Wno-format-nonliteral \
       -fno-common
HARDEN = -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
DEFS = -D_GNU_SOURCE -DREBOUND_SYSCONFDIR='"$(SYSCONFDIR)"' \
       -DREBOUND_DATADIR='"$(DATADIR)"'
# Unit tests find the rule files and fixtures of this tree through it.
TEST_DEFS = -DREBOUND_SRCDIR='"$(CURDIR)"'

ifneq ($(SANITIZE),)
SAN_FLAGS = -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
HARDEN = -fPIE
endif

ALL_CFLAGS  = $(WARN) $(HARDEN) $(DEFS) $(SAN_FLAGS) -Icommon \
              $(call pkg_cflags,$(PKGS)) $(CFLAGS)
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now $(SAN_FLAGS) $(LDFLAGS)
LIBS        = $(call pkg_libs,$(PKGS))
# rebound-pipe loads libpq only when it stores a bounce (pipe/pq_lazy.c):
# mapping libpq's dependencies at every exec would cost more than the work.
# Nor does any program link GLib (common/util/sha256.c says why); GLib and
# GMime serve the differential test of the MIME scanner.
PIPE_LIBS   = $(call pkg_libs,libpcre2-8)

# --- the floor plan ----------------------------------------------------------
# Shared code sits in common/, one folder per layer, lowest first; a folder
# includes headers of its own and of lower layers only (tests/lint-layers.pl):
#   common/util      nothing that knows about mail: buffers, allocation, logging
#   common/mail      what the programs share about mail: configuration, VERP,
#                    tokens, status codes, taxonomy, the database
#   common/report    a raw bounce turned into a report: MIME, RFC 3464/5965,
#                    free-text NDRs, SES notifications, auto-replies
#   common/classify  rules and the outcome of each recipient
#   common/store     a bounce made into rows: its evidence, its events, the
#                    raw copy; what rebound-pipe stores and reclassify revises
# Each program folder (pipe/, milter/, cli/) holds its own code too.  Every
# folder is an archive of its objects (a program's without its main.c), and
# a program or unit test links its folder's archive, then the lower ones.
COMMON_DIRS  = util mail report classify store
PROGRAM_DIRS = pipe milter cli
LIB_util     = common/util/librebound-util.a
LIB_mail     = common/mail/librebound-mail.a
LIB_report   = common/report/librebound-report.a
LIB_classify = common/classify/librebound-classify.a
LIB_store    = common/store/librebound-store.a
LIB_pipe     = pipe/librebound-pipe.a
LIB_milter   = milter/librebound-milter.a
LIB_cli      = cli/librebound-cli.a
LINK_util     = $(LIB_util)
LINK_mail     = $(LIB_mail) $(LINK_util)
LINK_report   = $(LIB_report) $(LINK_mail)
LINK_classify = $(LIB_classify) $(LINK_report)
LINK_store    = $(LIB_store) $(LINK_classify)
LINK_pipe     = $(LIB_pipe) $(LINK_store)
LINK_milter   = $(LIB_milter) $(LINK_mail)
LINK_cli      = $(LIB_cli) $(LINK_store)
$(foreach d,$(COMMON_DIRS),$(eval SRC_$(d) = $(wildcard common/$(d)/*.c)))
$(foreach d,$(PROGRAM_DIRS),$(eval SRC_$(d) = $(filter-out $(d)/main.c,$(wildcard $(d)/*.c))))
COMMON_SRC   = $(foreach d,$(COMMON_DIRS),$(SRC_$(d)))
ARCHIVES     = $(foreach d,$(COMMON_DIRS) $(PROGRAM_DIRS),$(LIB_$(d)))

define archive_rule
$$(LIB_$(1)): $$(SRC_$(1):.c=.o)
	$$(quiet) "  AR      $$@"
	$$(Q)rm -f $$@ && ar rcs $$@ $$(SRC_$(1):.c=.o)
endef
$(foreach d,$(COMMON_DIRS) $(PROGRAM_DIRS),$(eval $(call archive_rule,$(d))))

PROGRAMS = pipe/rebound-pipe

# --- rebound tool (cli/): a thin main over cli/'s archive ---------------------
PROGRAMS += cli/rebound

cli/rebound: cli/main.o $(LINK_cli)
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ cli/main.o $(LINK_cli) $(LIBS)

-include $(wildcard cli/*.d)
# --- end of rebound tool -----------------------------------------------------

# --- rebound-milter (milter/): libmilter callbacks over common/ --------------
PROGRAMS    += milter/rebound-milter
MILTER_SRC   = $(wildcard milter/*.c)
MILTER_LIBS  = $(call pkg_libs,libpq) -lmilter -lpthread

milter/rebound-milter: milter/main.o $(LINK_milter)
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -Wl,--as-needed -o $@ milter/main.o $(LINK_milter) $(MILTER_LIBS)

-include $(wildcard milter/*.d)

# ThreadSanitizer: the milter alone, built from source in one step into
# build/tsan so that it never mixes with the objects of the normal or the
# SANITIZE= build, then the milter's tests run against it.  The tests fail
# on any report the milter writes to its stderr.
TSAN_BIN    = build/tsan/rebound-milter
TSAN_CFLAGS = $(WARN) $(DEFS) -O1 -g -fsanitize=thread -fno-omit-frame-pointer -Icommon \
              $(call pkg_cflags,$(PKGS))

TSAN_SRC    = $(MILTER_SRC) $(SRC_mail) $(SRC_util)
# libmilter from Debian's static archive, the same code as the shared
# library, but with the names of its internal functions: the reports of
# races inside libmilter then name them, which the suppressions of
# tests/tsan.supp need (the shared library knows only its exported ones).
TSAN_LIBS   = $(LIBS) $(call pkg_libs,libpq glib-2.0) -l:libmilter.a -lpthread

$(TSAN_BIN): $(TSAN_SRC) $(wildcard milter/*.h common/util/*.h common/mail/*.h)
	$(quiet) "  TSAN    $@"
	$(Q)mkdir -p build/tsan
	$(Q)$(CC) $(TSAN_CFLAGS) -o $@ $(TSAN_SRC) $(TSAN_LIBS)

# The fault build of the milter (FAULT_MILTER_BIN, below) the same way, for
# milter-faults.t: every source with the hooks' macros, which only
# xalloc.c, writer.c and tests/fault/ use, and libpq's calls wrapped.  Under
# TSan a round costs ten times as much, so every libpq fault and every
# sixth allocation fault are injected (FAULT_ALLOC_STEP).
TSAN_FAULT_BIN = build/tsan/rebound-milter-fault
TSAN_FAULT_SRC = $(TSAN_SRC) tests/fault/pq_wrap.c tests/fault/fault.c

$(TSAN_FAULT_BIN): $(TSAN_FAULT_SRC) $(wildcard milter/*.h common/util/*.h common/mail/*.h)
	$(quiet) "  TSAN    $@"
	$(Q)mkdir -p build/tsan
	$(Q)$(CC) $(TSAN_CFLAGS) -DREBOUND_FAULT_INJECTION -DREBOUND_FAULT_THREAD_SCOPE \
	    $(patsubst %,-Wl$(comma)--wrap=%,$(FAULT_PQ_CALLS)) -o $@ $(TSAN_FAULT_SRC) $(TSAN_LIBS)

# tests/tsan/supp.t: a stand-in for libmilter, built without TSan as
# libmilter.so.1, and a program whose callback races with its own threads.
TSAN_DEMO = build/tsan/race-demo
build/tsan/fake/libmilter.so.1: tests/tsan/fake-libmilter.c
	$(quiet) "  CC      $@"
	$(Q)mkdir -p build/tsan/fake
	$(Q)$(CC) $(WARN) -D_GNU_SOURCE -O1 -g -fPIC -shared -Wl,-soname,libmilter.so.1 -o $@ $< -lpthread
$(TSAN_DEMO): tests/tsan/race-demo.c build/tsan/fake/libmilter.so.1
	$(quiet) "  TSAN    $@"
	$(Q)$(CC) $(WARN) -D_GNU_SOURCE -O1 -g -fsanitize=thread -o $@ $< build/tsan/fake/libmilter.so.1 \
	    -Wl,-rpath,$(CURDIR)/build/tsan/fake -lpthread

TSAN_ENV = TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp"
check-tsan: deps test-binaries $(TSAN_BIN) $(TSAN_FAULT_BIN) $(TSAN_DEMO)
	prove tests/tsan/supp.t
	MILTER_BIN=$(CURDIR)/$(TSAN_BIN) FAULT_MILTER_BIN=$(CURDIR)/$(TSAN_FAULT_BIN) $(TSAN_ENV) \
	    FAULT_ALLOC_STEP=6 prove --timer -j$(PROVE_JOBS) tests/integration/milter.t \
	    tests/integration/milter-postfix.t tests/integration/milter-faults.t
# --- end of rebound-milter ---------------------------------------------------

# Unit tests, Postfix style: tests/unit/<folder>/test-<module>.c links the
# archive of the folder it tests and the lower ones; a program folder's
# tests include its headers by plain name, as its own files do.
define unit_rule
UNIT_BIN_$(1) = $$(patsubst %.c,%,$$(wildcard tests/unit/$(1)/test-*.c))
tests/unit/$(1)/%.o: UNIT_INC = $(if $(filter $(1),$(PROGRAM_DIRS)),-I$(1))
$$(UNIT_BIN_$(1)): %: %.o tests/unit/tap.o $$(LINK_$(1))
	$$(quiet) "  LINK    $$@"
	$$(Q)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$(filter %.o,$$^) $$(LINK_$(1)) $$(LIBS)
endef
$(foreach d,$(COMMON_DIRS) $(PROGRAM_DIRS),$(eval $(call unit_rule,$(d))))
UNIT_BIN   = $(foreach d,$(COMMON_DIRS) $(PROGRAM_DIRS),$(UNIT_BIN_$(d)))

# test-knowledge reads its tables through a module of its own.
tests/unit/classify/test-knowledge: tests/unit/classify/knowledge.o

.PHONY: all clean check check-corpus check-tsan check-unit check-valgrind check-integration demo \
        deps install lint test-binaries uninstall
.DEFAULT_GOAL := all

all: $(PROGRAMS)

# Rebuild everything when the flags change (e.g. SANITIZE on or off).
BUILD_FLAGS = build/flags
$(BUILD_FLAGS): FORCE
	@mkdir -p build
	@echo '$(ALL_CFLAGS) $(ALL_LDFLAGS) $(LIBS)' | cmp -s - $@ || \
	    echo '$(ALL_CFLAGS) $(ALL_LDFLAGS) $(LIBS)' > $@
FORCE:

# Quiet by default; `make V=1` shows the commands.
ifeq ($(V),1)
Q =
quiet = @:
else
Q = @
quiet = @echo
endif

%.o: %.c $(BUILD_FLAGS)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

tests/unit/%.o: tests/unit/%.c $(BUILD_FLAGS)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(TEST_DEFS) -Itests/unit $(UNIT_INC) -MMD -MP -c -o $@ $<

-include $(wildcard common/*/*.d pipe/*.d tests/unit/*.d tests/unit/*/*.d tests/tools/*.d)

# pq_lazy.o comes first, as an object: the libpq calls it stands in for
# are made from the archives after it (common/mail, common/store), where an
# archive member would be too late to be picked.
pipe/rebound-pipe: pipe/main.o pipe/pq_lazy.o $(LINK_pipe)
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -Wl,--as-needed -o $@ pipe/main.o pipe/pq_lazy.o $(LINK_pipe) \
	    $(PIPE_LIBS)

# --- fuzz targets (tests/fuzz/) ------------------------------------------
# Each fuzz-<t>.c defines LLVMFuzzerTestOneInput.  In the normal build it is
# linked with replay.c into replay-<t>, which `make check` runs over
# tests/fuzz/regress/<t>/ and the seed fixtures; `make fuzz` links it with
# libFuzzer (clang) instead.
FUZZ_TARGETS = mime verp rules cfg
FUZZ_REPLAY  = $(addprefix tests/fuzz/replay-,$(FUZZ_TARGETS))

tests/fuzz/%.o: tests/fuzz/%.c $(BUILD_FLAGS)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(TEST_DEFS) -MMD -MP -c -o $@ $<

$(FUZZ_REPLAY): tests/fuzz/replay-%: tests/fuzz/fuzz-%.o tests/fuzz/replay.o $(LINK_classify)
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< tests/fuzz/replay.o $(LINK_classify) $(LIBS)

-include $(wildcard tests/fuzz/*.d)

# --- fault injection (tests/fault/, tests/integration/faults.t) -----------
# rebound-pipe with the hooks of common/util/fault.h compiled in: only
# xalloc.c and pq_lazy.c hold hooks, so only they are rebuilt, and the
# linker takes them before the archives' plain copies.
FAULT_BIN = tests/fault/rebound-pipe-fault
FAULT_OBJ = build/fault/xalloc.o build/fault/pq_lazy.o build/fault/fault.o

build/fault/%.o: common/util/%.c $(BUILD_FLAGS)
	@mkdir -p build/fault
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -DREBOUND_FAULT_INJECTION -MMD -MP -c -o $@ $<
build/fault/%.o: pipe/%.c $(BUILD_FLAGS)
	@mkdir -p build/fault
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -DREBOUND_FAULT_INJECTION -MMD -MP -c -o $@ $<
build/fault/%.o: tests/fault/%.c $(BUILD_FLAGS)
	@mkdir -p build/fault
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -DREBOUND_FAULT_INJECTION -MMD -MP -c -o $@ $<

$(FAULT_BIN): pipe/main.o $(FAULT_OBJ) $(LINK_pipe)
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -Wl,--as-needed -o $@ pipe/main.o $(FAULT_OBJ) $(LINK_pipe) \
	    $(PIPE_LIBS)

# rebound-milter with the same hooks (tests/integration/milter-faults.t).
# It links libpq, so the linker's --wrap sends its libpq calls to
# tests/fault/pq_wrap.c; writer.c is rebuilt for its fault_scope_enter(),
# and fault.c with REBOUND_FAULT_THREAD_SCOPE counts the writer thread's
# calls only (common/util/fault.h).
FAULT_MILTER_BIN = tests/fault/rebound-milter-fault
FAULT_MILTER_OBJ = build/fault/xalloc.o build/fault/writer.o build/fault/pq_wrap.o \
                   build/fault/fault-scoped.o
FAULT_PQ_CALLS   = PQconnectdbParams PQstatus PQtransactionStatus PQexec PQexecParams \
                   PQprepare PQexecPrepared PQresultStatus PQcmdStatus
comma := ,

build/fault/%.o: milter/%.c $(BUILD_FLAGS)
	@mkdir -p build/fault
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -DREBOUND_FAULT_INJECTION -MMD -MP -c -o $@ $<
build/fault/fault-scoped.o: tests/fault/fault.c $(BUILD_FLAGS)
	@mkdir -p build/fault
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -DREBOUND_FAULT_INJECTION -DREBOUND_FAULT_THREAD_SCOPE -MMD -MP \
	    -c -o $@ $<

$(FAULT_MILTER_BIN): milter/main.o $(FAULT_MILTER_OBJ) $(LINK_milter)
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -Wl,--as-needed $(patsubst %,-Wl$(comma)--wrap=%,$(FAULT_PQ_CALLS)) \
	    -o $@ milter/main.o $(FAULT_MILTER_OBJ) $(LINK_milter) $(MILTER_LIBS)

-include $(wildcard build/fault/*.d)

# Helpers the integration tests run (not installed).
TEST_TOOLS = tests/tools/mint-token tests/tools/null-milter tests/tools/bench-null

# The benchmarks' floor: the C library and nothing else.
tests/tools/bench-null: tests/tools/bench-null.o
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $<

tests/tools/null-milter: tests/tools/null-milter.o
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< -lmilter -lpthread

tests/tools/%: tests/tools/%.o $(LINK_mail)
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LINK_mail) $(LIBS)

test-binaries: $(PROGRAMS) $(UNIT_BIN) $(TEST_TOOLS) $(FUZZ_REPLAY) $(FAULT_BIN) \
               $(FAULT_MILTER_BIN)

# --- dependencies -------------------------------------------------------
deps:
	@tests/lib/deps.sh

# --- tests --------------------------------------------------------------
# Test files run PROVE_JOBS at a time.  Each integration test has its own
# temporary directory, PostgreSQL, Postfix and block of ports, so they can
# run side by side.  Most of a test's time is spent waiting (for Postfix's
# queue, a milter's restart, a database start): a whole make check keeps
# about 0.7 of two cores busy with two at a time, so three run at once.
PROVE_JOBS ?= 3

check: deps
	$(MAKE) test-binaries
	$(MAKE) lint
	prove --timer -j$(PROVE_JOBS) $(UNIT_BIN) tests/fuzz/regress.t tests/integration/*.t
ifeq ($(SANITIZE),)
	$(MAKE) check-valgrind
else
	@echo "check: valgrind cannot run a $(SANITIZE) build; check-valgrind runs in the plain make check"
endif

check-unit: test-binaries
	prove $(UNIT_BIN)

# Every unit test under valgrind (about 10 s).  An error or a leak fails the
# test; tests/lib/valgrind.supp holds the known false positives of glibc.
VALGRIND = valgrind -q --error-exitcode=1 --leak-check=full --track-fds=no \
           --suppressions=$(CURDIR)/tests/lib/valgrind.supp
check-valgrind: test-binaries
	@command -v valgrind >/dev/null || { echo "check-valgrind: valgrind not found (make deps)"; exit 1; }
	@test -z "$(SANITIZE)" || { echo "check-valgrind: needs a build without SANITIZE"; exit 1; }
	prove --exec '$(VALGRIND)' $(UNIT_BIN)

check-integration: test-binaries
	prove --timer -j$(PROVE_JOBS) tests/integration/*.t

# tests/lint-sql.pl: SQL is constant text with $n parameters, never built
# from runtime values.  tests/lint-layers.pl: the floor plan above holds
# (layers, no cycles, one header per module).  Each self-test shows that
# its check catches a violation.
lint:
	mandoc -Tlint -Wwarning man/*.[0-9]
	tests/lint-sql.pl --self-test
	tests/lint-sql.pl common/*/*.c pipe/*.c milter/*.c cli/*.c
	tests/lint-layers.pl --self-test
	tests/lint-layers.pl

# --- accuracy and speed on the labelled corpus ---------------------------
# The corpus lives beside the repository (shared/ next to main/ and the
# worktrees); CORPUS= and SCORE= point elsewhere.  make check never needs
# it, so that it passes on a plain clone; make check-corpus runs what does:
# every corpus file delivered into PostgreSQL (tests/corpus/corpus.t), the
# corpus half of the GMime differential test, and the accuracy floors.  It
# fails when the corpus is missing.  .ci/run calls it with CORPUS= set.
CORPUS   ?= $(abspath $(CURDIR)/../shared/corpus)
SCORE    ?= $(abspath $(CURDIR)/../shared/tools/score.py)
ACC_CONF  = build/accuracy.conf

check-corpus: deps
	@test -d "$(CORPUS)/emails" && test -f "$(CORPUS)/labels.jsonl" || \
	    { echo "check-corpus: no labelled corpus at $(CORPUS) (set CORPUS=DIR)" >&2; exit 1; }
	@test -f "$(SCORE)" || { echo "check-corpus: no scorer at $(SCORE) (set SCORE=FILE)" >&2; exit 1; }
	$(MAKE) test-binaries
	CORPUS=$(CORPUS) prove --timer tests/unit/report/test-mime-gmime tests/corpus/*.t
	$(MAKE) accuracy

# rebound-pipe with the rules of this tree and no site rules or database.
$(ACC_CONF): FORCE
	@mkdir -p build
	@printf '%s\n' 'builtin_rules_directory = $(CURDIR)/rules' 'rules_directory =' \
	    'local_mta_names = accuracy.invalid' > $@.tmp && mv $@.tmp $@

# Beside the corpus figures, the table of documented replies
# (tests/knowledge, issue 14) against its own floors.
# The floors hold the figures against the labels with the pairs of
# tests/accuracy-disputes read as rebound decides them on purpose; both
# figures are printed.  Every part runs and prints before the target
# fails on any of them.
accuracy: pipe/rebound-pipe $(ACC_CONF) tests/unit/classify/test-knowledge
	pipe/rebound-pipe -c $(ACC_CONF) --classify $(CORPUS)/emails > build/accuracy.jsonl
	/usr/bin/python3 $(SCORE) build/accuracy.jsonl $(CORPUS)/labels.jsonl \
	    --json build/accuracy.json --name rebound-pipe
	pipe/rebound-pipe -c $(ACC_CONF) --classify --explain $(CORPUS)/emails > build/accuracy-explain.txt
	@status=0; \
	SCORE=$(SCORE) /usr/bin/python3 tests/accuracy-labels.py $(CORPUS)/labels.jsonl \
	    tests/accuracy-disputes build/accuracy.jsonl > build/labels-disputed.jsonl || status=1; \
	/usr/bin/python3 $(SCORE) build/accuracy.jsonl build/labels-disputed.jsonl \
	    --json build/accuracy-disputed.json --name rebound-pipe > /dev/null || status=1; \
	tests/accuracy.sh build/accuracy.json build/accuracy.jsonl tests/accuracy-floors \
	    build/accuracy-disputed.json || status=1; \
	tests/unit/classify/test-knowledge --summary || status=1; \
	/usr/bin/python3 tests/generalisation.py build/accuracy-explain.txt rules \
	    --full build/generalisation.txt || status=1; \
	exit $$status

# Every entry of tests/knowledge/*.tbl: figures per file and each
# disagreement with its file and line (tests/knowledge/README).
knowledge: tests/unit/classify/test-knowledge
	tests/unit/classify/test-knowledge

bench: pipe/rebound-pipe $(ACC_CONF) tests/tools/bench-null
	/usr/bin/python3 tests/bench.py pipe/rebound-pipe $(ACC_CONF) $(CORPUS)/emails \
	    tests/tools/bench-null
	$(MAKE) bench-e2e
	$(MAKE) bench-milter

# Bounces through Postfix into PostgreSQL, by pipe(8) and over LMTP,
# against the same bounces through a trivial pipe transport and a trivial
# LMTP server (tests/bench-e2e.sh; E2E_N, E2E_ROUNDS).
bench-e2e: deps test-binaries
	tests/bench-e2e.sh

# rebound-milter: Postfix throughput with and without it, RCPT latency and
# memory with a million suppressed addresses (tests/bench-milter.sh).
bench-milter: deps test-binaries
	tests/bench-milter.sh

.PHONY: accuracy bench bench-e2e bench-milter knowledge soak soak-failover

# Load and soak tests, not part of make check; each prints its figures.
#   tests/soak-pipe.sh     SOAK_N bounces through Postfix, rebound-pipe and
#                          PostgreSQL with a restart half way
#   tests/soak-milter.sh   SOAK_MILTER_N messages through Postfix with
#                          rebound-milter to smtp-sink, PostgreSQL stopped
#                          for a while half way
#   tests/soak-failover.sh SOAK_FAILOVER_N messages and their bounces through
#                          two Postfix nodes, each with its rebound-milter
#                          and rebound-pipe, into a PostgreSQL primary with a
#                          streaming standby; the primary crashes half way
#                          and the standby is promoted (make soak-failover
#                          runs it alone; SOAK_FAILOVER_N=200 is a quick check)
# All three run, in that order; make soak fails if any does.
SOAK_N          ?= 10000
SOAK_MILTER_N   ?= 10000
SOAK_FAILOVER_N ?= 4000
soak: deps $(PROGRAMS) $(TEST_TOOLS)
	SOAK_N=$(SOAK_N) CORPUS=$(CORPUS) tests/soak-pipe.sh; pipe=$$?; \
	SOAK_MILTER_N=$(SOAK_MILTER_N) tests/soak-milter.sh; milter=$$?; \
	SOAK_FAILOVER_N=$(SOAK_FAILOVER_N) tests/soak-failover.sh; failover=$$?; \
	test $$pipe -eq 0 && test $$milter -eq 0 && test $$failover -eq 0

soak-failover: deps $(PROGRAMS) $(TEST_TOOLS)
	SOAK_FAILOVER_N=$(SOAK_FAILOVER_N) tests/soak-failover.sh

# --- coverage ------------------------------------------------------------
#   make coverage [COVERAGE_TESTS=unit]
# Line coverage per folder, figures only (no floor yet), so that untested
# code is visible.  A copy of the tree in build/coverage/src is built with
# gcov's instrumentation and its tests run there: the unit tests and the
# fuzz regression inputs, and with COVERAGE_TESTS=all (the default) the
# integration tests too, which take as long as make check does.  It is
# not part of make check or .ci/run for that reason.  The programs that
# run as other users (nobody, postfix) write their counts into the copy,
# which is made writable for them; the tree must be reachable by them.
COVERAGE_DIR   = build/coverage/src
COVERAGE_TESTS ?= all
COVERAGE_RUN   = $(UNIT_BIN) tests/fuzz/regress.t \
                 $(if $(filter all,$(COVERAGE_TESTS)),$(wildcard tests/integration/*.t))

coverage: deps
	rm -rf $(COVERAGE_DIR)
	mkdir -p $(COVERAGE_DIR)
	tar -cf - --exclude=./build --exclude=./.git --exclude='*.o' --exclude='*.d' \
	    --exclude='*.a' --exclude='*.gcno' --exclude='*.gcda' . | tar -xf - -C $(COVERAGE_DIR)
	$(MAKE) -C $(COVERAGE_DIR) CFLAGS='-O1 -g --coverage' LDFLAGS=--coverage SANITIZE= test-binaries
	chmod -R a+rwX $(COVERAGE_DIR)
	@# umask 0: a count file that root's run creates stays writable for nobody's.
	@cd $(COVERAGE_DIR) && umask 0 && prove --timer -j$(PROVE_JOBS) $(COVERAGE_RUN) || \
	    echo "coverage: some tests failed; the figures are of what ran"
	@tests/coverage.sh $(COVERAGE_DIR)

.PHONY: coverage

# --- fuzzing with libFuzzer (clang, Debian's libclang-rt-14-dev) ----------
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="mime cfg"]
# builds tests/fuzz/fuzz-<t> with -fsanitize=fuzzer,address,undefined and
# runs each for FUZZ_SECONDS, seeded from the fixtures and, when CORPUS= is
# given (on the command line or in the environment), the labelled corpus,
# read in place; new inputs go to build/fuzz/corpus-<t>, crashes to
# build/fuzz/artifacts/.  A crash fails the target: fix it and keep the
# input in tests/fuzz/regress/<t>/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   = $(WARN) $(DEFS) $(TEST_DEFS) -Icommon -Itests/fuzz \
                $(call pkg_cflags,$(PKGS)) -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN)
FUZZ_OBJ      = $(COMMON_SRC:%.c=build/fuzz/%.o)
FUZZ_BIN      = $(addprefix tests/fuzz/fuzz-,$(FUZZ_TARGETS))
FUZZ_SEEDS_mime  = tests/data tests/data/classify \
                   $(if $(filter command line environment,$(origin CORPUS)),$(CORPUS)/emails)
FUZZ_SEEDS_verp  = tests/fuzz/seeds/verp
FUZZ_SEEDS_rules = rules
FUZZ_SEEDS_cfg   = tests/fuzz/seeds/cfg

build/fuzz/%.o: %.c $(BUILD_FLAGS)
	@mkdir -p $(dir $@)
	$(quiet) "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_BIN): tests/fuzz/fuzz-%: build/fuzz/tests/fuzz/fuzz-%.o $(FUZZ_OBJ)
	$(quiet) "  FUZZLD  $@"
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_OBJ) $(LIBS)

-include $(wildcard build/fuzz/common/*/*.d build/fuzz/tests/fuzz/*.d)

fuzz-build: deps
	$(MAKE) $(FUZZ_BIN)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	    case $$t in mime) seeds="$(FUZZ_SEEDS_mime)";; verp) seeds="$(FUZZ_SEEDS_verp)";; \
	        rules) seeds="$(FUZZ_SEEDS_rules)";; cfg) seeds="$(FUZZ_SEEDS_cfg)";; esac; \
	    tests/fuzz/run.sh $$t $(FUZZ_SECONDS) $$seeds || exit 1; \
	done

.PHONY: fuzz fuzz-build

demo: deps
	$(MAKE) all
	tests/lib/demo.sh

# --- install ------------------------------------------------------------
# With PREFIX=/usr this is the Debian layout: /usr/bin/rebound,
# /usr/lib/rebound/rebound-pipe, /usr/sbin/rebound-milter, the schema and
# rules under /usr/share/rebound, man pages, /usr/share/doc/rebound, and
# the milter's unit in /usr/lib/systemd/system.  Nothing goes to /etc:
# rebound.conf is the administrator's (an example is in the doc directory).
# Programs are 0755, everything else 0644, directories 0755.
#
# The man pages and contrib files name the default PREFIX's paths; the
# installed copies name the installed ones (INSTALL_PATHS), so that
# master.cf's argv= and the init script are right as they are.
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL        ?= install
# The milter, once built: the milter branch adds it to PROGRAMS.
INSTALL_SBIN    = $(filter milter/rebound-milter,$(PROGRAMS))
INSTALL_RULES   = $(wildcard rules/*)
INSTALL_DIRS    = $(BINDIR) $(SBINDIR) $(LIBEXECDIR) $(DATADIR)/sql/migrations \
                  $(DATADIR)/sql/examples $(MANDIR)/man1 $(MANDIR)/man5 $(MANDIR)/man7 \
                  $(MANDIR)/man8 $(DOCDIR)/contrib/postfix $(DOCDIR)/contrib/systemd \
                  $(DOCDIR)/contrib/sysv $(SYSTEMDUNITDIR)
INSTALL_PATHS   = sed -e 's|/usr/local/lib/rebound|$(LIBEXECDIR)|g' \
                      -e 's|/usr/local/share/rebound|$(DATADIR)|g' \
                      -e 's|/usr/local/sbin/rebound-milter|$(SBINDIR)/rebound-milter|g' \
                      -e 's|/etc/rebound/|$(SYSCONFDIR)/|g'
# install_subst SOURCE TARGET MODE - a copy with the installed paths
install_subst   = $(INSTALL_PATHS) $(1) >$(DESTDIR)$(2) && chmod $(3) $(DESTDIR)$(2)

install: all
	$(INSTALL) -d -m 755 $(addprefix $(DESTDIR),$(INSTALL_DIRS))
	$(INSTALL) -m 755 cli/rebound $(DESTDIR)$(BINDIR)/rebound
	$(INSTALL) -m 755 pipe/rebound-pipe $(DESTDIR)$(LIBEXECDIR)/rebound-pipe
	$(if $(INSTALL_SBIN),$(INSTALL) -m 755 $(INSTALL_SBIN) $(DESTDIR)$(SBINDIR)/)
	$(if $(INSTALL_RULES),$(INSTALL) -d -m 755 $(DESTDIR)$(DATADIR)/rules)
	$(if $(INSTALL_RULES),$(INSTALL) -m 644 $(INSTALL_RULES) $(DESTDIR)$(DATADIR)/rules/)
	$(INSTALL) -m 644 sql/rebound.sql $(DESTDIR)$(DATADIR)/sql/
	$(INSTALL) -m 644 sql/migrations/*.sql $(DESTDIR)$(DATADIR)/sql/migrations/
	$(INSTALL) -m 644 sql/examples/*.sql $(DESTDIR)$(DATADIR)/sql/examples/
	$(foreach m,$(wildcard man/*.[1578]),\
	    $(call install_subst,$(m),$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)),644) &&) true
	$(INSTALL) -m 644 README.md LICENSE $(DESTDIR)$(DOCDIR)/
	$(foreach f,$(wildcard contrib/postfix/*),\
	    $(call install_subst,$(f),$(DOCDIR)/$(f),644) &&) true
	$(INSTALL) -m 644 contrib/systemd/* $(DESTDIR)$(DOCDIR)/contrib/systemd/
	$(call install_subst,contrib/sysv/rebound-milter,$(DOCDIR)/contrib/sysv/rebound-milter,644)
	$(call install_subst,contrib/rebound.conf,$(DOCDIR)/rebound.conf.example,644)
	sed -e 's|/usr/sbin/rebound-milter|$(SBINDIR)/rebound-milter|' \
	    contrib/systemd/rebound-milter.service >$(DESTDIR)$(SYSTEMDUNITDIR)/rebound-milter.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/rebound-milter.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/rebound $(DESTDIR)$(SBINDIR)/rebound-milter \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/rebound-milter.service \
	    $(DESTDIR)$(MANDIR)/man1/rebound.1 $(DESTDIR)$(MANDIR)/man5/rebound.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/rebound-rules.5 \
	    $(DESTDIR)$(MANDIR)/man7/rebound.7 $(DESTDIR)$(MANDIR)/man8/rebound-pipe.8 \
	    $(DESTDIR)$(MANDIR)/man8/rebound-milter.8
	rm -rf $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)

clean:
	rm -rf build $(PROGRAMS) $(ARCHIVES) $(UNIT_BIN) \
	    common/*/*.o common/*/*.d pipe/*.o pipe/*.d cli/*.o cli/*.d milter/*.o milter/*.d \
	    tests/unit/*.o tests/unit/*.d tests/unit/*/*.o tests/unit/*/*.d $(FUZZ_REPLAY) $(FUZZ_BIN) \
	    tests/fuzz/*.o tests/fuzz/*.d $(FAULT_BIN) $(FAULT_MILTER_BIN) $(TEST_TOOLS) \
	    tests/tools/*.o tests/tools/*.d
