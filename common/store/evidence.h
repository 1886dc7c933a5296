/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_EVIDENCE_H
#define REBOUND_EVIDENCE_H

#include <stdbool.h>

#include "mail/cfg.h"
#include "mail/return_path.h"
#include "report/report.h"

/*
 * evidence - what a bounce offers as evidence of where it belongs.
 *
 * Only what we signed counts: the token of the return path the report
 * came to, or else one the returned message carries (its X-Rebound-Token
 * or its Return-Path), each checked with our keys.  Classic VERP names a
 * recipient but proves nothing; the suppression policy decides how far
 * to trust it (rebound(7), "Trust").  The database then corroborates the
 * token against what rebound-milter recorded (migration 006).
 *
 * Tokens are judged on the day the bounce arrived (day, token_day()):
 * rebound-pipe passes today, "rebound reclassify" the day the raw copy
 * was received, so that a bounce read again a month later is judged as
 * it was then.  No logging; errors come back as allocated strings.
 */
struct evidence {
	struct return_path rp;		/* the envelope recipient, taken apart */
	struct token_keys *keys;	/* loaded when something needs checking */
	char *token;			/* a token of ours, valid or expired, or NULL */
	bool token_valid;
	bool single_recipient;		/* the token's message had one recipient */
	const char *verp_recipient;	/* classic VERP recipient, or NULL */
};

/*
 * evidence_envelope - what the return path address says, judged on day.
 * Keys are read only when it holds a token, so plain VERP costs nothing.
 * -1 and *error_r when the configured keys cannot be read: a
 * configuration error, which must defer rather than store events that
 * should have been verified.
 */
int evidence_envelope(const struct cfg *cfg, const char *address, unsigned day,
		      struct evidence *ev, char **error_r);

/*
 * evidence_returned - a report that came to no token of ours (a complaint
 * sent to the feedback address, an NDR to a plain bounce address) may
 * carry one in the returned message; -1 and *error_r as above.
 */
int evidence_returned(const struct cfg *cfg, const struct report *r, unsigned day,
		      struct evidence *ev, char **error_r);

/* evidence_refusal - why a report gets no events at all, or NULL if it gets them */
const char *evidence_refusal(const struct evidence *ev, const struct report *r);

/* evidence_release - free what *ev holds; it may be used again after memset */
void evidence_release(struct evidence *ev);

#endif
