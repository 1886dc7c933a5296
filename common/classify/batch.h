/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_BATCH_H
#define REBOUND_BATCH_H

#include <stdio.h>

#include "mail/cfg.h"
#include "classify/classifier.h"
#include "report/report.h"

/*
 * batch - rebound-pipe --classify: classify files without a database.
 *
 * Each argument is a file or a directory; a directory's regular files are
 * read in name order, and its subdirectories likewise (dot files are
 * skipped, LIMIT_BATCH_DEPTH levels at most).  Every message is read up
 * to max_size bytes and classified exactly as the delivery path would;
 * one JSON object per (file, recipient) is written to out, with the fields
 * file, recipient, kind, reason, category, hard, status, replycode,
 * action, diagnostic and rule.  A file in which no report is recognised
 * produces no line.  Nothing is written to the database.
 *
 * Problems with a file (unreadable, not a regular file) are reported on
 * err and make the result non-zero; the other files are still done.
 *
 * With BATCH_EXPLAIN the output is text for people instead (--explain):
 * for each recipient, what the report says of it, every rule tried in
 * order and how it fared, and one line "decided by RULE at FILE:LINE"
 * naming the phrase that matched and the text it matched.
 */
enum batch_flags {
	BATCH_EXPLAIN = (1 << 0),
};

/*
 * batch_run - classify paths[0..n) (flags: enum batch_flags); 0 if every
 * file could be read, else 1
 */
int batch_run(struct classifier *c, char *const *paths, size_t n, size_t max_size,
	      unsigned flags, FILE *out, FILE *err);

/*
 * batch_classify - create the classifier cfg describes and classify
 * paths[0..n) to out.  Returns an exit status: EX_OK, EX_NOINPUT (a file
 * could not be read; the others were done), EX_IOERR (out failed) or
 * EX_CONFIG (a rule file is wrong; reported on err).
 */
int batch_classify(const struct cfg *cfg, char *const *paths, size_t n, unsigned flags,
		   FILE *out, FILE *err);

/*
 * batch_explain_report - for people: what the report says of each
 * recipient, every rule tried in order, and what decided (BATCH_EXPLAIN's
 * output for one message called name)
 */
void batch_explain_report(struct classifier *c, const char *name, const struct report *r,
			  FILE *out);

/* batch_print - write the JSON lines of one classified report */
void batch_print(FILE *out, const char *file, const struct report *r);

#endif
