/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_MTAGS_H
#define REBOUND_MTAGS_H

#include <stddef.h>

/*
 * mtags - the tags a sender attaches to outbound mail with
 *
 *	X-Rebound-Tag: campaign=spring; list=news
 *
 * rebound-milter stores them with the message (rebound.messages.tags) and
 * removes the header.  A key is 1 to MTAGS_KEY_MAX characters of letters,
 * digits, '_', '-' and '.'; a value is up to MTAGS_VALUE_MAX printable
 * ASCII characters without ';' (surrounding white space is dropped).  A
 * message holds at most MTAGS_MAX tags; a later value for a key replaces
 * the earlier one.  A header with bad syntax is ignored as a whole, so that
 * a typo never half-applies.
 *
 * The module is pure: it does not log.
 */
#define MTAGS_MAX	16
#define MTAGS_KEY_MAX	64
#define MTAGS_VALUE_MAX	256

struct mtags;

struct mtags *mtags_create(void);
void mtags_free(struct mtags **tagsp);

/*
 * mtags_parse - add the tags of one header value.  Returns 0, or -1 with
 * *error_r a static description when the header is malformed or would
 * exceed MTAGS_MAX; the tags are then unchanged.
 */
int mtags_parse(struct mtags *tags, const char *value, const char **error_r);

/* mtags_count - number of tags */
size_t mtags_count(const struct mtags *tags);

/* mtags_json - the tags as an allocated JSON object, "{}" when none */
char *mtags_json(const struct mtags *tags);

#endif
