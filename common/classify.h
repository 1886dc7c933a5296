/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_CLASSIFY_H
#define REBOUND_CLASSIFY_H

#include "report.h"
#include "rules.h"

/*
 * classify - decide kind, reason, hard/soft and the deciding rule for each
 * recipient of a parsed report.  The same function serves rebound-pipe's
 * delivery path and its batch mode, so what users see with --classify is
 * what gets stored.  Pure: no logging, no I/O.
 *
 * The reason comes from the first rule that matches (site rules, then the
 * built-in ones), else from the RFC 3463 meaning of the status code when
 * the code is specific, else from the fallbacks Sisimai also uses: X.6.x
 * content, X.7.x security, a mailer's exit status, a delay, a refused
 * greeting; a diagnostic nobody understood is "onhold".
 */
struct classify_opts {
	/* Reporting-MTA names of our own Postfix; NULL-terminated. */
	char *const *local_mtas;
	/* The rule set; NULL classifies by status code only. */
	struct rules *rules;
};

void classify_report(struct report *r, const struct classify_opts *opts);

/*
 * classify_explain - for recipient i of a report classify_report() has
 * classified, tell fn every rule tried, in order, and what decided: a
 * rule, or a built-in fallback (a step with an empty file name).
 */
void classify_explain(const struct report *r, size_t i, const struct classify_opts *opts,
		      rules_explain_fn *fn, void *ctx);

#endif
