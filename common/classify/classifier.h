/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_CLASSIFIER_H
#define REBOUND_CLASSIFIER_H

#include <stddef.h>

#include "mail/cfg.h"
#include "report/report.h"
#include "classify/rules.h"

/*
 * classifier - parser, rules and options in one object, created once per
 * process from the configuration and used for every message: delivery
 * (deliver.c) and batch mode (batch.c) both go through classifier_run(),
 * so both see the same rules loaded from the same places:
 * rules_directory (site rules, consulted first) and
 * builtin_rules_directory (the rules shipped with rebound).
 *
 * Creation reads and validates the rule files but compiles nothing;
 * classifier_check() compiles every rule (for "rebound-pipe -n").  Not
 * thread-safe: one classifier per thread.
 */
struct classifier;

/* classifier_create - load the rules cfg names; -1 and *error_r on error */
int classifier_create(const struct cfg *cfg, struct classifier **c_r, char **error_r);

/*
 * classifier_create_nodigest - classifier_create() for a caller that
 * never calls classifier_digest() (rebound-pipe --classify): no SHA-256
 * of the rule texts is taken, and each text is freed once parsed
 * (rules_no_digest()).
 */
int classifier_create_nodigest(const struct cfg *cfg, struct classifier **c_r, char **error_r);

/*
 * classifier_create_dirs - load the rule files of dirs[0..n), in that
 * order (empty names are skipped): "rebound reclassify --rules DIR" puts
 * a candidate directory before the configured ones
 */
int classifier_create_dirs(const char *const *dirs, size_t n, struct classifier **c_r,
			   char **error_r);

/*
 * classifier_digest - hex SHA-256 of the rule files c loaded, their names
 * and order (rules_digest()): the same for two processes that read the
 * same rules, wherever installed.  Stored with every event.  NULL for a
 * classifier made by classifier_create_nodigest().
 */
const char *classifier_digest(struct classifier *c);

/* classifier_free - release *cp and set it to NULL; accepts NULL */
void classifier_free(struct classifier **cp);

/*
 * classifier_run - parse and classify one raw message.  The report (caller
 * frees) refers to rule ids owned by the classifier: free it first.
 */
struct report *classifier_run(struct classifier *c, const char *data, size_t len);

/*
 * classifier_reply - what c makes of one SMTP reply: text (at most
 * LIMIT_DIAGNOSTIC_LEN bytes; line ends fold into one diagnostic), with
 * status ("X.Y.Z", or NULL to let the text say) and reply_code (0 to let
 * the text say), put as the one recipient of a delivery status
 * notification (RFC 3464) and run through the parser and the rules like
 * any bounce.  NULL when text is too long or status is not a status code.
 * The report (caller frees) refers to rule ids the classifier owns.
 */
struct report *classifier_reply(struct classifier *c, const char *status, int reply_code,
				const char *text);

/*
 * classifier_explain - for recipient i of a report classifier_run()
 * returned, tell fn every rule tried and what decided (--explain)
 */
void classifier_explain(struct classifier *c, const struct report *r, size_t i,
			rules_explain_fn *fn, void *ctx);

/* classifier_check - compile every rule; -1 and a "file:line" error */
int classifier_check(struct classifier *c, char **error_r);

/* classifier_error - the first rule error met while matching, or NULL */
const char *classifier_error(const struct classifier *c);

#endif
