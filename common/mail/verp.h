/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_VERP_H
#define REBOUND_VERP_H

/*
 * verp - take apart the address a bounce was sent to.
 *
 * Postfix VERP encodes the original recipient user@domain into the return
 * path as prefix<d1>user<d2>domain@origin, with delimiters d1 d2 ("+=" by
 * default).  With signed return paths the extension holds a token instead,
 * or a token followed by d1 and the VERP-encoded recipient when the sender
 * also asked for XVERP.  This module is pure: no logging, no allocation
 * failure paths other than xalloc's.
 */
struct verp_addr {
	char *prefix;		/* local part before d1 ("bounces") */
	char *extension;	/* local part after the first d1, or NULL */
	char *domain;		/* domain of the VERP address, lower case */
};

/*
 * verp_parse - split address into prefix, extension and domain, reading
 * it as Postfix does: angle brackets and a source route are removed, and
 * a quoted local part ("bounces+x"@domain) is unquoted, so that no
 * spelling of an address means one thing to Postfix and another here.
 * Returns 0, or -1 with *error_r set to a static description when address
 * is not a plausible mailbox.  Release the result with verp_addr_release().
 */
int verp_parse(const char *address, const char *delims, struct verp_addr *va,
	       const char **error_r);

void verp_addr_release(struct verp_addr *va);

/*
 * verp_recipient - decode "user<d2>domain" (the last d2 separates them)
 * into an allocated "user@domain" with the domain in lower case, or NULL
 * when text is not VERP-encoded.  Free the result with free().
 */
char *verp_recipient(const char *text, const char *delims);

/*
 * verp_encode - the VERP address for prefix@origin and recipient, as
 * Postfix's queue manager would write it; free with free().
 */
char *verp_encode(const char *prefix, const char *origin, const char *recipient,
		  const char *delims);

#endif
