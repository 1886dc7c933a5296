/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-batch - rebound-pipe --classify output: one JSON object per
 * recipient, valid UTF-8 whatever the input, mbox files, no line for a
 * message that is no report, errors for unreadable paths.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify/batch.h"
#include "report/report.h"
#include "tap.h"
#include "util/xalloc.h"

#define DATA REBOUND_SRCDIR "/tests/data/classify/"

/* count - occurrences of needle in s */
static int
count(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* check_print - escaping and UTF-8 repair of one hand-made report */
static void
check_print(void)
{
	struct report *r = report_create();
	struct report_rcpt *rc = report_add_rcpt(r);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	r->format = FORMAT_DSN;
	rc->recipient = xstrdup("a\"b@example.org");
	rc->diagnostic = xstrdup("550 bad\\ \x01 \xff\xfe end \xe2\x82\xac");
	rc->kind = KIND_BOUNCED;
	rc->reason = REASON_USERUNKNOWN;
	rc->hard = true;
	rc->reply_code = 550;
	rc->rule = "user.status";
	strcpy(rc->status, "5.1.1");
	batch_print(out, "dir/x.eml", r);
	fclose(out);
	tap_ok(strstr(text, "\"recipient\":\"a\\\"b@example.org\"") != NULL, "quote escaped");
	tap_ok(strstr(text, "550 bad\\\\ \\u0001 \\ufffd\\ufffd end \xe2\x82\xac") != NULL,
	       "control and invalid bytes escaped, valid UTF-8 kept");
	tap_ok(strstr(text, "\"hard\":true") && strstr(text, "\"replycode\":\"550\"") &&
		       strstr(text, "\"category\":\"user_unknown\"") &&
		       strstr(text, "\"kind\":\"bounced\""),
	       "fields present");
	tap_is_int(count(text, "\n"), 1, "one line");
	free(text);
	r->format = FORMAT_NONE;
	out = open_memstream(&text, &len);
	batch_print(out, "x", r);
	fclose(out);
	tap_is_int((long long)len, 0, "nothing for an unrecognised message");
	free(text);
	report_free(&r);
}

/* check_run - a directory walk over the fixtures, an mbox, a missing file */
static void
check_run(struct classifier *clf)
{
	static char mbox[] = DATA "mbox-two.mbox", plain[] = DATA "not-a-bounce.eml",
		    missing[] = DATA "no-such-file.eml", dir[] = DATA;
	char *paths[] = { mbox, plain, missing };
	char *text = NULL, *errs = NULL;
	size_t len = 0, elen = 0;
	FILE *out = open_memstream(&text, &len), *err = open_memstream(&errs, &elen);
	int ret = batch_run(clf, paths, 3, 1024 * 1024, 0, out, err);

	fclose(out);
	fclose(err);
	tap_is_int(ret, 1, "a missing file makes the run fail");
	tap_is_int(count(text, "\n"), 2, "two lines: the two messages of the mbox");
	tap_ok(strstr(text, "amy@example.net") && strstr(text, "ben@example.net"), "both mbox rcpts");
	tap_ok(strstr(errs, "no-such-file.eml") != NULL, "the missing file is named on stderr");
	free(text);
	free(errs);
	paths[0] = dir;
	out = open_memstream(&text, &len);
	err = open_memstream(&errs, &elen);
	ret = batch_run(clf, paths, 1, 1024 * 1024, 0, out, err);
	fclose(out);
	fclose(err);
	tap_is_int(ret, 0, "the fixture directory reads cleanly");
	tap_ok(count(text, "\"file\":") >= 25, "a line per recipient of every fixture");
	tap_is_int(count(text, "not-a-bounce"), 0, "no line for the personal message");
	free(text);
	free(errs);
}

/* setup_failed - the test cannot run: say why and fail */
static void
setup_failed(const char *why)
{
	tap_diag("%s", why);
	exit(1);
}

/*
 * large_mbox - the two-message mbox fixture with pad bytes of text lines
 * at the end of its first message, written to a temporary file; its path
 */
static char *
large_mbox(size_t pad)
{
	char tmpl[] = "/tmp/rebound-test-batch.XXXXXX", *text = NULL, *second;
	size_t len = 0;
	FILE *in = fopen(DATA "mbox-two.mbox", "r"), *out;
	int fd = mkstemp(tmpl);
	char chunk[4096];
	size_t n;

	if (in == NULL || fd < 0 || (out = fdopen(fd, "w")) == NULL)
		setup_failed("large_mbox: cannot make a temporary mbox");
	{
		FILE *mem = open_memstream(&text, &len);

		while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
			fwrite(chunk, 1, n, mem);
		fclose(mem);
	}
	fclose(in);
	if ((second = strstr(text, "\nFrom ")) == NULL)
		setup_failed("large_mbox: the fixture has one message");
	fwrite(text, 1, (size_t)(second - text) + 1, out);
	for (size_t done = 0; done < pad; done += 64)
		fputs("padding padding padding padding padding padding padding padd\n", out);
	fputs(second + 1, out);
	if (fclose(out) != 0)
		setup_failed("large_mbox: cannot write");
	free(text);
	return xstrdup(tmpl);
}

/*
 * check_large - the read buffer grows past its first size for a large
 * file, and no further than the size limit
 */
static void
check_large(struct classifier *clf)
{
	char *path = large_mbox(200 * 1024), *text = NULL, *errs = NULL;
	char *paths[] = { path };
	size_t len = 0, elen = 0;
	FILE *out = open_memstream(&text, &len), *err = open_memstream(&errs, &elen);
	int ret = batch_run(clf, paths, 1, 1024 * 1024, 0, out, err);

	fclose(out);
	fclose(err);
	tap_is_int(ret, 0, "a 200 KB mbox reads cleanly");
	tap_ok(strstr(text, "amy@example.net") && strstr(text, "ben@example.net"),
	       "both messages, the second after 200 KB, are read");
	free(text);
	free(errs);
	out = open_memstream(&text, &len);
	err = open_memstream(&errs, &elen);
	(void)batch_run(clf, paths, 1, 100 * 1024, 0, out, err);
	fclose(out);
	fclose(err);
	tap_ok(strstr(text, "amy@example.net") != NULL && strstr(text, "ben@example.net") == NULL,
	       "a limit of 100 KB reads the first message, not the second");
	free(text);
	free(errs);
	unlink(path);
	free(path);
}

/* check_explain - --explain: every recipient gets a decision, every step a line */
static void
check_explain(struct classifier *clf)
{
	static char mbox[] = DATA "mbox-two.mbox", dir[] = DATA;
	char *paths[] = { mbox };
	char *text = NULL, *errs = NULL;
	size_t len = 0, elen = 0;
	FILE *out = open_memstream(&text, &len), *err = open_memstream(&errs, &elen);
	int ret = batch_run(clf, paths, 1, 1024 * 1024, BATCH_EXPLAIN, out, err);

	fclose(out);
	fclose(err);
	tap_is_int(ret, 0, "explain reads the mbox");
	tap_is_int(count(text, ": recipient "), 2, "a block per recipient");
	tap_is_int(count(text, "\n  decided by "), 2, "and one decision each");
	tap_ok(count(text, "\n    DECIDED ") == 2 && count(text, "\n    condition ") > 10,
	       "every rule tried is listed");
	tap_is_int(count(text, "{\"file\""), 0, "no JSON lines");
	free(text);
	free(errs);
	paths[0] = dir;
	out = open_memstream(&text, &len);
	err = open_memstream(&errs, &elen);
	(void)batch_run(clf, paths, 1, 1024 * 1024, BATCH_EXPLAIN, out, err);
	fclose(out);
	fclose(err);
	tap_is_int(count(text, ": recipient "), count(text, "\n  decided by "),
		   "each fixture recipient has a decision (%d)", count(text, ": recipient "));
	tap_ok(strstr(text, "decided by builtin.arf: ") != NULL, "a complaint says why");
	free(text);
	free(errs);
}

int
main(void)
{
	static const char conf[] = "builtin_rules_directory = " REBOUND_SRCDIR "/rules\n";
	struct classifier *clf = NULL;
	struct cfg *cfg = NULL;
	char *error = NULL;

	check_print();
	if (!tap_ok(cfg_parse(conf, strlen(conf), "t.conf", &cfg, &error) == 0 &&
			    classifier_create(cfg, &clf, &error) == 0,
		    "classifier"))
		return tap_done();
	check_run(clf);
	check_large(clf);
	check_explain(clf);
	classifier_free(&clf);
	cfg_free(&cfg);
	return tap_done();
}
