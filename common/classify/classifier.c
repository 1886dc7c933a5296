/* SPDX-License-Identifier: BSD-2-Clause */
/* classifier - the parse-and-classify pipeline, built once per process. */
#include <stdlib.h>

#include "classify/classifier.h"
#include "classify/outcome.h"
#include "classify/rules.h"
#include "report/parse.h"
#include "util/xalloc.h"

struct classifier {
	struct report_parser *parser;
	struct rules *rules;
	struct outcome_opts opts;
};

/* classifier_create_dirs - load the rules of dirs, in order, and set up the parser */
int
classifier_create_dirs(const char *const *dirs, size_t n, struct classifier **c_r,
		       char **error_r)
{
	struct classifier *c = xcalloc(1, sizeof(*c));

	*error_r = NULL;
	c->rules = rules_create();
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

/* classifier_create - load the rules cfg names and set up the parser */
int
classifier_create(const struct cfg *cfg, struct classifier **c_r, char **error_r)
{
	/* Site rules first: the first rule that matches decides. */
	const char *dirs[2] = { cfg->rules_directory, cfg->builtin_rules_directory };

	return classifier_create_dirs(dirs, 2, c_r, error_r);
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
