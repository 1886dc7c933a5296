/* SPDX-License-Identifier: BSD-2-Clause */
/* return_path - VERP recipient and signed token of a bounce's address. */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mail/return_path.h"
#include "mail/verp.h"
#include "util/xalloc.h"

/* return_path_token_len - length of the token at the start of extension, or 0 */
static size_t
return_path_token_len(const char *extension, const char *delims)
{
	size_t len = strcspn(extension, delims);

	if (len != TOKEN_CHARS)
		return 0;
	/* A token is followed by nothing or by d1 and a VERP recipient, never by d2. */
	if (extension[len] != '\0' && extension[len] != delims[0])
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)extension[i]))
			return 0;
	return len;
}

int
return_path_inspect(const char *address, const char *delims, const struct token_keys *keys,
		    unsigned today, unsigned lifetime_days, struct return_path *rp)
{
	struct verp_addr va = { 0 };
	const char *error = NULL;
	const char *rest;
	size_t len;

	memset(rp, 0, sizeof(*rp));
	if (verp_parse(address, delims, &va, &error) < 0)
		return -1;
	rp->prefix = va.prefix;
	va.prefix = NULL;
	if (va.extension == NULL) {
		verp_addr_release(&va);
		return 0;
	}
	rp->extended = true;
	if ((len = return_path_token_len(va.extension, delims)) == 0) {
		rp->recipient = verp_recipient(va.extension, delims);
		verp_addr_release(&va);
		return 0;
	}
	rest = va.extension + len;
	if (*rest != '\0')
		rp->recipient = verp_recipient(rest + 1, delims);
	if (keys == NULL) {
		rp->verdict = RP_TOKEN_UNVERIFIED;
	} else {
		switch (token_decode(keys, va.extension, len, today, lifetime_days, &rp->info)) {
		case TOKEN_VALID:
			rp->verdict = RP_TOKEN_VALID;
			break;
		case TOKEN_EXPIRED:
			rp->verdict = RP_TOKEN_EXPIRED;
			break;
		case TOKEN_FORGED:
			rp->verdict = RP_TOKEN_FORGED;
			break;
		case TOKEN_MALFORMED:
			rp->verdict = RP_TOKEN_MALFORMED;
			break;
		}
	}
	if (rp->verdict == RP_TOKEN_VALID || rp->verdict == RP_TOKEN_EXPIRED) {
		rp->token = xstrndup(va.extension, len);
		for (char *p = rp->token; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	verp_addr_release(&va);
	return 0;
}

const char *
return_path_token_name(enum return_path_token verdict)
{
	static const char *const names[] = { "none", "unverified", "valid", "expired", "forged",
					     "malformed" };

	return (unsigned)verdict < sizeof(names) / sizeof(names[0]) ? names[verdict] : "none";
}

void
return_path_release(struct return_path *rp)
{
	free(rp->prefix);
	free(rp->recipient);
	free(rp->token);
	rp->prefix = NULL;
	rp->recipient = NULL;
	rp->token = NULL;
}
