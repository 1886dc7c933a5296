/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-knowledge - the classifier against what receiving systems and MTAs
 * document about their replies.
 *
 * Each entry of tests/knowledge/ *.tbl (format in tests/knowledge/README)
 * is turned into the message a sender would get back: an RFC 3464 report
 * from a Postfix-like MTA for a remote reply, or a free-text notice.  The
 * message goes through classifier_run() with the built-in rules only, as
 * "make accuracy" does, and the outcome for the failed recipient is
 * compared with the entry's meaning: coarse category, exact reason, and
 * decision (hard, soft, delay or ignore).  The figures must reach
 * tests/knowledge/floor; every disagreement is listed with its file and
 * line, as TAP comments.
 *
 *   test-knowledge            TAP: tables valid, figures at their floors
 *   test-knowledge --summary  the figures for "make accuracy"; exit 1 if below
 *   test-knowledge --dump gmail.tbl:12   the message built for one entry
 */
#include <glob.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "mail/cfg.h"
#include "classify/classifier.h"
#include "knowledge.h"
#include "report/report.h"
#include "tap.h"
#include "mail/taxonomy.h"
#include "util/xalloc.h"

#define KNOWLEDGE_DIR REBOUND_SRCDIR "/tests/knowledge"

#define MAX_TABLE (1024 * 1024)
#define MAX_MESSAGE (256 * 1024)
#define MAX_ERRORS 20

struct tally {
	unsigned entries, category, reason, decision;
};

struct run {
	struct classifier *clf;
	struct buf *msg;
	struct buf *tmp;
	struct buf *line;	/* the start of an entry's text */
	struct tally file, total;
	unsigned files, errors;
	char first_error[256];
	bool quiet;		/* --summary or --dump: no TAP, no comments */
	const char *dump;	/* --dump: "file:line" of the entry to print */
	bool self_test;		/* errors are expected: do not print them */
};

/* pct - a percentage, 0 of nothing */
static double
pct(unsigned n, unsigned d)
{
	return d ? 100.0 * n / d : 0.0;
}

/* Which of the three measures an outcome agrees with. */
struct verdict {
	bool category, reason, decision;
	const struct report_rcpt *rc;	/* the failed recipient, or NULL */
};

/* decision_of - whether a recipient's outcome is the decision wanted */
static bool
decision_of(const struct report_rcpt *rc, enum kn_decision d)
{
	switch (d) {
	case KN_HARD:
		return kind_is_failure(rc->kind) && rc->hard;
	case KN_SOFT:
		return kind_is_failure(rc->kind) && !rc->hard;
	case KN_DELAY:
		return rc->kind == KIND_DELAYED && !rc->hard;
	default:
		return rc->kind == KIND_AUTO_REPLY || rc->kind == KIND_DELIVERED;
	}
}

/*
 * judge - compare the report with the entry.  What is not a failure may
 * also go unreported, as long as nobody else is reported as failed or
 * delayed in its place.
 */
static struct verdict
judge(const struct kn_entry *e, const struct report *r)
{
	struct verdict v = { false, false, false, NULL };
	bool others = false;

	for (size_t i = 0; i < r->nrcpt; i++) {
		const struct report_rcpt *rc = &r->rcpt[i];

		if (v.rc == NULL && rc->recipient != NULL && strcmp(rc->recipient, KN_RCPT) == 0)
			v.rc = rc;
		else
			others |= kind_is_failure(rc->kind) || rc->kind == KIND_DELAYED ||
				  rc->kind == KIND_COMPLAINT;
	}
	if (v.rc == NULL) {
		v.category = v.reason = v.decision = e->decision == KN_IGNORE && !others;
		return v;
	}
	v.category = strcmp(reason_category(v.rc->reason), reason_category(e->reason)) == 0;
	v.reason = v.rc->reason == e->reason;
	v.decision = decision_of(v.rc, e->decision) && (e->decision != KN_IGNORE || !others);
	return v;
}

/* outcome_name - "bounced/filtered/soft" for a disagreement line */
static void
outcome_name(struct buf *b, const struct verdict *v)
{
	buf_reset(b);
	if (v->rc == NULL) {
		buf_puts(b, "recipient not reported");
		return;
	}
	buf_printf(b, "%s %s %s (rule %s)", kind_name(v->rc->kind), reason_name(v->rc->reason),
		   v->rc->hard ? "hard" : "soft", v->rc->rule != NULL ? v->rc->rule : "none");
}

/* note - a TAP comment, unless the run prints only its summary */
static void
note(const struct run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(const struct run *run, const char *fmt, ...)
{
	va_list ap;

	if (run->quiet)
		return;
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* text_start - the first line's worth of s, lines joined, into b */
static const char *
text_start(struct buf *b, const char *s)
{
	size_t n = 0;

	buf_reset(b);
	for (; *s != '\0' && (n < 72 || (*s & 0xc0) == 0x80); s++, n++)
		buf_putc(b, *s == '\n' ? ' ' : *s);
	return buf_str(b);
}

/* run_entry - build, classify and judge one entry */
static void
run_entry(struct run *run, const struct kn_table *t, const char *name, const struct kn_entry *e)
{
	struct report *r;
	struct verdict v;

	kn_table_build(t, run->msg);
	if (run->dump != NULL) {
		char here[300];

		snprintf(here, sizeof(here), "%s:%u", name, e->line);
		if (strcmp(here, run->dump) == 0)
			fwrite(buf_str(run->msg), 1, buf_len(run->msg), stdout);
	}
	r = classifier_run(run->clf, buf_str(run->msg), buf_len(run->msg));
	v = judge(e, r);
	run->file.entries++;
	run->file.category += v.category;
	run->file.reason += v.reason;
	run->file.decision += v.decision;
	if (!v.category || !v.reason || !v.decision) {
		outcome_name(run->tmp, &v);
		note(run, "%s:%u: want %s %s, got %s [%s%s%s ] %s", name, e->line,
		     reason_name(e->reason), kn_decision_names[e->decision], buf_str(run->tmp),
		     v.category ? "" : " category", v.reason ? "" : " reason",
		     v.decision ? "" : " decision", text_start(run->line, e->text));
	}
	report_free(&r);
}

/* table_error - count an error of a table at the line it names */
static void
table_error(struct run *run, const char *name, unsigned line, const char *error)
{
	if (run->errors++ == 0)
		snprintf(run->first_error, sizeof(run->first_error), "%s:%u: %s", name, line,
			 error);
	if (run->errors <= MAX_ERRORS && !run->self_test)
		note(run, "%s:%u: %s", name, line, error);
}

/* run_table - every entry of one table; the text is cut up in place */
static void
run_table(struct run *run, const char *name, char *text)
{
	struct kn_table *t = kn_table_create(name, text);
	const struct kn_entry *e;
	const char *error;
	int ret;

	while ((ret = kn_table_next(t, &e, &error)) != 0)
		if (ret > 0)
			run_entry(run, t, name, e);
		else
			table_error(run, name, kn_table_line(t), error);
	kn_table_free(&t);
}

/* read_text - a whole file of at most MAX_TABLE bytes, or NULL */
static char *
read_text(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *data;
	size_t len;

	if (fp == NULL)
		return NULL;
	data = xmalloc(MAX_TABLE + 1);
	len = fread(data, 1, MAX_TABLE + 1, fp);
	fclose(fp);
	if (len > MAX_TABLE || memchr(data, '\0', len) != NULL) {
		free(data);
		return NULL;
	}
	data[len] = '\0';
	return data;
}

/* run_file - one table file, with its figures */
static void
run_file(struct run *run, const char *path)
{
	const char *name = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	char *text = read_text(path);
	struct tally *t = &run->file;
	unsigned errors = run->errors;

	memset(t, 0, sizeof(*t));
	if (text == NULL) {
		run->errors++;
		if (!run->quiet)
			tap_ok(0, "%s: readable, under 1 MB, no NUL", name);
		return;
	}
	run_table(run, name, text);
	free(text);
	run->files++;
	run->total.entries += t->entries;
	run->total.category += t->category;
	run->total.reason += t->reason;
	run->total.decision += t->decision;
	if (run->quiet)
		return;
	tap_ok(run->errors == errors && t->entries > 0, "%s: valid, %u entries", name, t->entries);
	note(run, "%-18s %4u entries  category %5.1f%%  reason %5.1f%%  decision %5.1f%%", name,
	     t->entries, pct(t->category, t->entries), pct(t->reason, t->entries),
	     pct(t->decision, t->entries));
}

/* Malformed tables and the first error each must give. */
static const struct {
	const char *text;
	const char *error;
} bad_tables[] = {
	{ "reply\t550\t5.1.1\tuserunknown\thard\tUser unknown\n",
	  "t.tbl:1: entry before any @source" },
	{ "@source https://example.org/\nreply\t550\t5.1.1\tuserunknown\thard\tx\n",
	  "t.tbl:2: entry before any @mx" },
	{ "@source https://example.org/\n@mx -\nreply\t550\t5.1.1\tnosuchreason\thard\tx\n",
	  "t.tbl:3: unknown reason name" },
	{ "@source https://example.org/\n@mx -\n\n# c\nreply\t550\t5.1.1\tuserunknown\thard\n",
	  "t.tbl:5: want 6 tab-separated columns: form code status reason decision text" },
	{ "@source https://example.org/\n@mx -\nreply\t550\t5.1.1\tuserunknown\thard\tx\ty\n",
	  "t.tbl:3: want 6 tab-separated columns: form code status reason decision text" },
	{ "@source https://example.org/\n@colour red\n", "t.tbl:2: unknown directive" },
	{ "@source example.org\n", "t.tbl:1: @source wants a URL or \"RFC n\"" },
	{ "@source RFC 3463\n@mx -\nanswer\t550\t5.1.1\tuserunknown\thard\tx\n",
	  "t.tbl:3: unknown form" },
	{ "@source RFC 3463\n@mx -\nreply\t550\t5.1\tuserunknown\thard\tx\n",
	  "t.tbl:3: bad enhanced status code" },
	{ "@source RFC 3463\n@mx -\nreply\t55\t5.1.1\tuserunknown\thard\tx\n",
	  "t.tbl:3: bad reply code" },
	{ "@source RFC 3463\n@mx -\nreply\t450\t4.1.1\tuserunknown\thard\tx\n",
	  "t.tbl:3: hard needs a permanent code and an address-level reason" },
	{ "@source RFC 3463\n@mx -\nreply\t550\t5.1.1\tuserunknown\tsoft\tx\n",
	  "t.tbl:3: a permanent failure of the address is hard, not soft" },
	{ "@source RFC 3463\n@mx -\nreply\t450\t4.2.2\tmailboxfull\tdelay\tx\n",
	  "t.tbl:3: a reply's decision is delay exactly under @action delayed" },
	{ "@source RFC 3463\n@mx -\nnotice\t-\t-\tvacation\tignore\tI am away\n",
	  "t.tbl:3: a notice needs @subject and @from" },
	{ "@source RFC 3463\n@mx -\n@subject Away\n@from a@example.net\n"
	  "notice\t-\t-\tvacation\tignore\tI am away\n",
	  "t.tbl:5: a notice must name <rcpt> in its text or @from" },
	{ "@source RFC 3463\n@mx -\nreply\t550\t-\tuserunknown\thard\tno\\tsuch user\n",
	  "t.tbl:3: unknown escape in text (only \\n and \\\\)" },
	{ "@source RFC 3463\n@mx -\nreply\t550\t-\tmailboxfull\tignore\tfull\n",
	  "t.tbl:3: ignore is for auto-replies (vacation) and successes (delivered)" },
	{ "@source RFC 3463\n@mx -\nreply\t550\t5.1.1\tuserunknown\thard\tx\r\n",
	  "t.tbl:3: carriage return in line" },
	/* A valid table: no error, one entry run. */
	{ "@source RFC 3463\n@mx -\nreply-rcpt\t550\t5.1.1\tuserunknown\thard\tUser unknown\n",
	  "" },
};

/* self_test - the validator refuses each malformed table with file:line */
static void
self_test(struct run *run)
{
	run->self_test = true;
	for (size_t i = 0; i < sizeof(bad_tables) / sizeof(bad_tables[0]); i++) {
		char *text = xstrdup(bad_tables[i].text);

		run->errors = 0;
		run->first_error[0] = '\0';
		run_table(run, "t.tbl", text);
		tap_is_str(run->first_error, bad_tables[i].error, "validator: case %zu", i + 1);
		free(text);
	}
	tap_ok(run->file.entries == 1, "the valid table's entry was run");
	memset(&run->file, 0, sizeof(run->file));
	run->errors = 0;
	run->self_test = false;
}

/* The measures a floor may name, as printed beside make accuracy's. */
enum measure { M_ENTRIES, M_CATEGORY, M_REASON, M_DECISION, M_COUNT };

static const char *const measure_names[M_COUNT] = {
	"entries", "category_pct", "reason_pct", "decision_pct",
};

/*
 * read_floors - tests/knowledge/floor: "name value" lines, '#' comments.
 * Every measure must have a floor; -1 and a message otherwise.
 */
static int
read_floors(double floors[M_COUNT], char *error, size_t size)
{
	char *text = read_text(KNOWLEDGE_DIR "/floor"), *line, *next;
	bool seen[M_COUNT] = { false };
	unsigned lineno = 0;
	int ret = 0;

	if (text == NULL) {
		snprintf(error, size, "cannot read " KNOWLEDGE_DIR "/floor");
		return -1;
	}
	for (line = text; ret == 0 && line != NULL; line = next) {
		char name[32], extra[2];
		double value;
		int i, n;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		lineno++;
		*strchrnul(line, '#') = '\0';
		if ((n = sscanf(line, "%31s %lf %1s", name, &value, extra)) <= 0)
			continue;
		for (i = 0; i < M_COUNT && strcmp(name, measure_names[i]) != 0; i++)
			;
		if (n != 2 || i == M_COUNT || seen[i]) {
			snprintf(error, size, "floor:%u: want a measure name and its floor", lineno);
			ret = -1;
		} else {
			floors[i] = value;
			seen[i] = true;
		}
	}
	for (int i = 0; ret == 0 && i < M_COUNT; i++)
		if (!seen[i]) {
			snprintf(error, size, "floor: no floor for %s", measure_names[i]);
			ret = -1;
		}
	free(text);
	return ret;
}

/*
 * check_floors - each measure against its floor, in the layout of
 * tests/accuracy.sh; TAP results, or plain lines with --summary.
 * Returns whether all reach their floors.
 */
static bool
check_floors(const struct run *run, const double floors[M_COUNT])
{
	const struct tally *t = &run->total;
	double got[M_COUNT] = { t->entries, pct(t->category, t->entries),
				pct(t->reason, t->entries), pct(t->decision, t->entries) };
	bool all = true;

	for (int i = 0; i < M_COUNT; i++) {
		bool ok = got[i] + 1e-9 >= floors[i];
		char line[128];

		if (i == M_ENTRIES)
			snprintf(line, sizeof(line), "knowledge_%-20s %7.0f   min %7.0f    %s",
				 measure_names[i], got[i], floors[i], ok ? "ok" : "TOO FEW");
		else
			snprintf(line, sizeof(line), "knowledge_%-20s %7.2f%%  floor %6.2f%%  %s",
				 measure_names[i], got[i], floors[i], ok ? "ok" : "BELOW FLOOR");
		if (run->quiet)
			printf("%s\n", line);
		else
			tap_ok(ok, "%s", line);
		all &= ok;
	}
	return all;
}

/* run_all - every table of tests/knowledge, then the totals */
static void
run_all(struct run *run)
{
	glob_t g;
	const struct tally *t = &run->total;

	if (glob(KNOWLEDGE_DIR "/*.tbl", 0, NULL, &g) != 0) {
		run->errors++;
		if (!run->quiet)
			tap_ok(0, "tables in " KNOWLEDGE_DIR);
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++)
		run_file(run, g.gl_pathv[i]);
	globfree(&g);
	note(run, "%-18s %4u entries  category %5.1f%%  reason %5.1f%%  decision %5.1f%%  "
		  "(%u files)",
	     "total", t->entries, pct(t->category, t->entries), pct(t->reason, t->entries),
	     pct(t->decision, t->entries), run->files);
}

int
main(int argc, char **argv)
{
	/* The built-in rules only, and no local MTA: as build/accuracy.conf. */
	static const char conf[] = "builtin_rules_directory = " REBOUND_SRCDIR "/rules\n"
				   "rules_directory =\nlocal_mta_names = accuracy.invalid\n";
	struct run run = { .quiet = argc > 1 };
	struct cfg *cfg = NULL;
	char *error = NULL, floor_error[256];
	double floors[M_COUNT];
	bool ok;

	if (argc > 1 && strcmp(argv[1], "--summary") != 0 &&
	    (argc != 3 || strcmp(argv[1], "--dump") != 0)) {
		fprintf(stderr, "usage: test-knowledge [--summary | --dump file.tbl:line]\n");
		return 2;
	}
	run.dump = argc == 3 ? argv[2] : NULL;
	if (cfg_parse(conf, strlen(conf), "knowledge.conf", &cfg, &error) < 0 ||
	    classifier_create(cfg, &run.clf, &error) < 0) {
		fprintf(run.quiet ? stderr : stdout, "%snot ok 1 - classifier: %s\n",
			run.quiet ? "test-knowledge: " : "", error);
		return 1;
	}
	run.msg = buf_create(MAX_MESSAGE);
	run.tmp = buf_create(MAX_MESSAGE);
	run.line = buf_create(256);
	if (!run.quiet)
		self_test(&run);
	run_all(&run);
	if (read_floors(floors, floor_error, sizeof(floor_error)) < 0) {
		ok = false;
		if (!run.quiet)
			tap_ok(0, "%s", floor_error);
		else
			fprintf(stderr, "test-knowledge: %s\n", floor_error);
	} else if (run.dump == NULL) {
		ok = check_floors(&run, floors);
	} else {
		ok = true;
	}
	if (run.errors > 0 && run.quiet)
		fprintf(stderr, "test-knowledge: %s (%u errors)\n", run.first_error, run.errors);
	if (!run.quiet)
		tap_ok(classifier_error(run.clf) == NULL, "no rule error met");
	buf_free(&run.msg);
	buf_free(&run.tmp);
	buf_free(&run.line);
	classifier_free(&run.clf);
	cfg_free(&cfg);
	free(error);
	if (run.quiet)
		return ok && run.errors == 0 ? 0 : 1;
	return tap_done();
}
