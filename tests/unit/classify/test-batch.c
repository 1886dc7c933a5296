/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-batch - rebound-pipe --classify output: one JSON object per
 * recipient, valid UTF-8 whatever the input, mbox files, no line for a
 * message that is no report, errors for unreadable paths.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	check_explain(clf);
	classifier_free(&clf);
	cfg_free(&cfg);
	return tap_done();
}
