/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_OUTCOME_H
#define REBOUND_OUTCOME_H

#include "report/report.h"
#include "classify/rules.h"

/*
 * outcome - decide kind, reason, hard/soft and the deciding rule for each
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
struct outcome_opts {
	/* The rule set; NULL classifies by status code only. */
	struct rules *rules;
};

/* outcome_decide - set the outcome fields of every recipient of r */
void outcome_decide(struct report *r, const struct outcome_opts *opts);

/*
 * outcome_explain - for recipient i of a report outcome_decide() has
 * classified, tell fn every rule tried, in order, and what decided: a
 * rule, or a built-in fallback (a step with an empty file name).
 */
void outcome_explain(const struct report *r, size_t i, const struct outcome_opts *opts,
		      rules_explain_fn *fn, void *ctx);

/*
 * outcome_mark_local - the report was written by our own Postfix, which
 * the caller knows from how it arrived (no remote SMTP client), never from
 * what the report says of itself: its failures happened in our SMTP
 * dialogue and are synchronous rejections.
 */
void outcome_mark_local(struct report *r);

#endif
