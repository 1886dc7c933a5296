/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_BOUNCE_H
#define REBOUND_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>

#include "classify/classifier.h"
#include "mail/cfg.h"
#include "report/report.h"
#include "store/evidence.h"
#include "store/store.h"

/*
 * bounce - one raw bounce made ready to store: its evidence gathered, its
 * report parsed and classified, and the rows it makes described.
 *
 * This is the one path from bytes to events.  rebound-pipe (deliver.c)
 * runs it on the bounce Postfix hands over and then stores it;
 * "rebound reclassify" runs it on a raw copy read back from
 * rebound.raw_messages and stages the result for comparison.  Both thus
 * get the same evidence, the same classification, the same recipients and
 * the same deduplication keys from the same input.  No logging and no
 * database: the caller decides what to do with the result.
 */
struct bounce_input {
	const char *queue_id;		/* of the bounce */
	const char *recipient;		/* its envelope recipient: the return path */
	bool local;			/* our own Postfix wrote it: no SMTP client */
	const char *data;		/* the message, at most max_message_size */
	size_t len;
	size_t size;			/* bytes offered in all */
	bool truncated;			/* size > len */
	unsigned day;			/* token_day() of the day it arrived */
};

struct bounce {
	struct report *report;		/* recipients with their outcome */
	struct evidence ev;
	struct store_bounce sb;		/* what store_bounce() writes */
	const char *refused;		/* why it gets no events, or NULL */
	char *identity;
	char digest[65];		/* SHA-256 of the input */
};

/*
 * bounce_prepare - fill *b from in, with clf's rules.  -1 and *error_r
 * when the token keys cannot be read (transient for rebound-pipe: it
 * defers); *b then holds nothing to release.  Otherwise 0, and
 * bounce_release() must follow.  raw_messages and raw_message_limit of
 * cfg decide sb.keep_raw and sb.raw_limit.
 */
int bounce_prepare(const struct cfg *cfg, struct classifier *clf, const struct bounce_input *in,
		   struct bounce *b, char **error_r);

/* bounce_release - free what *b holds */
void bounce_release(struct bounce *b);

#endif
