/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_RETURN_PATH_H
#define REBOUND_RETURN_PATH_H

#include <stdbool.h>

#include "mail/token.h"

/*
 * return_path - what the address a bounce was sent to tells us.
 *
 * A rebound return path is prefix<d1>extension@bounce-domain, where the
 * extension is one of
 *
 *	user<d2>domain		classic Postfix VERP: the recipient;
 *	token			a signed token (token.h) naming the message;
 *	token<d1>user<d2>domain	both, when the client also asked for XVERP.
 *
 * return_path_inspect() takes such an address apart and verifies a token
 * with the keys it is given.  It neither logs nor touches the database.
 */
enum return_path_token {
	RP_TOKEN_NONE,			/* no token-shaped extension */
	RP_TOKEN_UNVERIFIED,		/* token-shaped, but no keys to check it */
	RP_TOKEN_VALID,
	RP_TOKEN_EXPIRED,		/* signed by us, past its last day */
	RP_TOKEN_FORGED,		/* token-shaped, not signed by us */
	RP_TOKEN_MALFORMED,		/* token-shaped, but not a token at all */
};

struct return_path {
	char *prefix;			/* local part before the first d1 */
	bool extended;			/* the local part has d1 and an extension */
	char *recipient;		/* VERP-encoded recipient, or NULL */
	char *token;			/* lower-case token when signed by us, or NULL */
	enum return_path_token verdict;
	struct token_info info;		/* for RP_TOKEN_VALID and RP_TOKEN_EXPIRED */
};

/*
 * return_path_inspect - fill *rp from address, read as Postfix reads it
 * (verp.h: quoted local parts, source routes).  keys may be NULL (no
 * signed return paths configured); today is token_day(time(NULL)) and
 * lifetime_days caps how long a token may stay valid (token_decode()).
 * Returns 0, or -1 when address is not a plausible mailbox (then *rp
 * holds nothing to release).
 */
int return_path_inspect(const char *address, const char *delims,
			const struct token_keys *keys, unsigned today, unsigned lifetime_days,
			struct return_path *rp);

/*
 * return_path_token_name - "none", "unverified", "valid", "expired",
 * "forged" or "malformed"
 */
const char *return_path_token_name(enum return_path_token verdict);

void return_path_release(struct return_path *rp);

#endif
