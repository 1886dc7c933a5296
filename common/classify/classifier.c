/* SPDX-License-Identifier: BSD-2-Clause */
/* classifier - the parse-and-classify pipeline, built once per process. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "classify/classifier.h"
#include "classify/outcome.h"
#include "classify/rules.h"
#include "report/parse.h"
#include "util/buf.h"
#include "util/caps.h"
#include "util/xalloc.h"

struct classifier {
	struct report_parser *parser;
	struct rules *rules;
	struct outcome_opts opts;
};

/* classifier_load - load the rules of dirs, in order, and set up the parser */
static int
classifier_load(const char *const *dirs, size_t n, bool digest, struct classifier **c_r,
		char **error_r)
{
	struct classifier *c = xcalloc(1, sizeof(*c));

	*error_r = NULL;
	c->rules = rules_create();
	if (!digest)
		rules_no_digest(c->rules);
	for (size_t i = 0; i < n; i++) {
		if (dirs[i] != NULL && dirs[i][0] != '\0' &&
		    rules_load_dir(c->rules, dirs[i], error_r) < 0) {
			classifier_free(&c);
			return -1;
		}
	}
	if (rules_finish(c->rules, error_r) < 0) {
		classifier_free(&c);
		return -1;
	}
	c->parser = report_parser_create();
	c->opts.rules = c->rules;
	*c_r = c;
	return 0;
}

/* classifier_create_dirs - load the rules of dirs, in order, and set up the parser */
int
classifier_create_dirs(const char *const *dirs, size_t n, struct classifier **c_r,
		       char **error_r)
{
	return classifier_load(dirs, n, true, c_r, error_r);
}

/* classifier_create - load the rules cfg names and set up the parser */
int
classifier_create(const struct cfg *cfg, struct classifier **c_r, char **error_r)
{
	/* Site rules first: the first rule that matches decides. */
	const char *dirs[2] = { cfg->rules_directory, cfg->builtin_rules_directory };

	return classifier_load(dirs, 2, true, c_r, error_r);
}

/* classifier_create_nodigest - classifier_create() without a digest */
int
classifier_create_nodigest(const struct cfg *cfg, struct classifier **c_r, char **error_r)
{
	const char *dirs[2] = { cfg->rules_directory, cfg->builtin_rules_directory };

	return classifier_load(dirs, 2, false, c_r, error_r);
}

/* classifier_digest - the digest of the rule files loaded */
const char *
classifier_digest(struct classifier *c)
{
	return rules_digest(c->rules);
}

/* classifier_free - release *cp and set it to NULL */
void
classifier_free(struct classifier **cp)
{
	struct classifier *c = *cp;

	if (c == NULL)
		return;
	report_parser_free(&c->parser);
	rules_free(&c->rules);
	free(c);
	*cp = NULL;
}

/* classifier_run - parse and classify one raw message */
struct report *
classifier_run(struct classifier *c, const char *data, size_t len)
{
	struct report *r = report_parser_run(c->parser, data, len);

	outcome_decide(r, &c->opts);
	return r;
}

/* classifier_check - compile every rule */
int
classifier_check(struct classifier *c, char **error_r)
{
	return rules_check(c->rules, error_r);
}

/* classifier_error - the first rule error met while matching */
const char *
classifier_error(const struct classifier *c)
{
	return rules_error(c->rules);
}

/* classifier_explain - the steps that decided recipient i of a classified report */
void
classifier_explain(struct classifier *c, const struct report *r, size_t i,
		   rules_explain_fn *fn, void *ctx)
{
	outcome_explain(r, i, &c->opts, fn, ctx);
}

/* classifier_status_ok - whether s is an enhanced status code X.Y.Z */
static bool
classifier_status_ok(const char *s)
{
	int parts = 0, digits = 0;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return false;
	for (; *s != '\0'; s++) {
		if (isdigit((unsigned char)*s) && ++digits <= 3)
			continue;
		if (*s != '.' || digits == 0)
			return false;
		parts++;
		digits = 0;
	}
	return parts == 2 && digits > 0;
}

/* classifier_reply - one reply text as the recipient of a DSN, classified */
struct report *
classifier_reply(struct classifier *c, const char *status, int reply_code, const char *text)
{
	struct buf *b;
	struct report *r;

	if (strlen(text) > LIMIT_DIAGNOSTIC_LEN || (status != NULL && !classifier_status_ok(status)))
		return NULL;
	b = buf_create(LIMIT_DIAGNOSTIC_LEN * 2 + 1024);
	buf_puts(b, "From: MAILER-DAEMON@rules-test.invalid\n"
		    "Subject: Undelivered Mail Returned to Sender\n"
		    "MIME-Version: 1.0\n"
		    "Content-Type: multipart/report; report-type=delivery-status;"
		    " boundary=\"rules-test\"\n\n"
		    "--rules-test\nContent-Type: text/plain\n\nA reply text under test.\n\n"
		    "--rules-test\nContent-Type: message/delivery-status\n\n"
		    "Reporting-MTA: dns; rules-test.invalid\n\n"
		    "Final-Recipient: rfc822; recipient@rules-test.invalid\n"
		    "Action: failed\n");
	if (status != NULL)
		buf_printf(b, "Status: %s\n", status);
	buf_puts(b, "Diagnostic-Code: smtp; ");
	/* A text that starts with its own code keeps it. */
	if (reply_code > 0 &&
	    !(isdigit((unsigned char)text[0]) && isdigit((unsigned char)text[1]) &&
	      isdigit((unsigned char)text[2])))
		buf_printf(b, "%d ", reply_code);
	/* Each line of the reply continues the field (RFC 5322 folding). */
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n')
			buf_puts(b, "\n ");
		else
			buf_putc(b, *p);
	}
	buf_puts(b, "\n\n--rules-test--\n");
	r = classifier_run(c, buf_str(b), buf_len(b));
	buf_free(&b);
	return r;
}
