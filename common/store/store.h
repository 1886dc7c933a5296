/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_STORE_H
#define REBOUND_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/db.h"
#include "report/report.h"

/*
 * store - write one bounce and its events in one transaction.
 *
 * Each event carries a dedup key; a report delivered again (Postfix retry
 * after a lost exit status, a remote that sends twice) inserts nothing.
 * Events are linked to the outbound message by token or by the returned
 * Message-ID, and to its recipient row, when those are known.
 *
 * Each event carries its provenance (migration 006): "verp" when the
 * report came to a classic VERP address that encodes the recipient it
 * names, else "unverified"; the database makes it "verified" when a valid
 * token and the milter's record of the message bear the recipient out.
 */
struct store_bounce {
	const char *queue_id;		/* Postfix queue id of the bounce */
	const char *bounce_address;	/* envelope recipient (return path) */
	bool local;			/* from Postfix itself, with no SMTP client */
	const char *rules_digest;	/* of the rule set that classified it */
	const char *token;		/* our token, HMAC-checked (valid or expired), or NULL */
	bool token_valid;		/* and not expired */
	bool single_recipient;		/* the token's message had one recipient */
	const char *verp_recipient;	/* classic VERP recipient of the address, or NULL */
	size_t report_recipients;	/* how many recipients the report named */
	const char *identity;		/* what makes this report unique */
	const char *data;		/* the bounce as received (maybe cut) */
	size_t data_len;
	size_t size;			/* bytes received in all */
	bool truncated;
	bool keep_raw;			/* store data in raw_messages */
	size_t raw_limit;		/* at most this much of it */
	const char *digest;		/* SHA-256 hex of data */
	const char *parse_error;	/* why it was not understood, or NULL */
};

/*
 * store_bounce - insert the raw copy (when asked) and one event per
 * recipient, then commit.  *new_r counts events that were new.  On error
 * the transaction is rolled back and -1 returned with *error_r set.
 */
int store_bounce(struct db *db, const struct store_bounce *b, const struct report *r,
		 size_t *new_r, char **error_r);

/*
 * store_stage - for "rebound reclassify": the events store_bounce() would
 * insert for r, each as rebound.event_draft() makes it, into the caller's
 * temporary table pg_temp.reclassify_draft (raw_id, ordinal, draft), the
 * recipient's index as ordinal, raw_id as their raw copy.  No transaction
 * of its own.  -1 and *error_r on error.
 */
int store_stage(struct db *db, const struct store_bounce *b, const struct report *r,
		const char *raw_id, char **error_r);

/*
 * store_dedup_key - SHA-256 hex (65 bytes with NUL) of identity and the
 * recipient's outcome.
 */
void store_dedup_key(const char *identity, const struct report_rcpt *rc, char out[65]);

#endif
