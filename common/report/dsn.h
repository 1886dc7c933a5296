/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_DSN_H
#define REBOUND_DSN_H

#include <stddef.h>

/*
 * dsn - the field syntax of RFC 3464 message/delivery-status content (and
 * of RFC 5965 message/feedback-report, which uses the same "Name: value"
 * lines): groups of header-style fields separated by blank lines.
 *
 * Folded values are unfolded (each line break and the white space around
 * it become one space); CR, CRLF and LF line ends are all accepted.
 * Counts and lengths are capped (LIMIT_RECIPIENTS groups, LIMIT_DSN_FIELDS
 * fields per group, LIMIT_FIELD_LEN per value); what is beyond a cap is
 * dropped and flagged.  Pure: no logging.
 */
struct dsn_field {
	char *name;
	char *value;
};

struct dsn_group {
	size_t nfields;
	struct dsn_field *fields;
};

struct dsn {
	size_t ngroups;
	struct dsn_group *groups;
	int truncated;		/* a cap was reached */
	int groups_cut;		/* more recipient groups than LIMIT_RECIPIENTS */
};

/* dsn_parse - parse text[0..len); never fails, may return zero groups */
struct dsn *dsn_parse(const char *text, size_t len);

/* dsn_free - release *dp and set it to NULL; accepts NULL */
void dsn_free(struct dsn **dp);

/* dsn_get - value of the first field called name (any case), or NULL */
const char *dsn_get(const struct dsn_group *g, const char *name);

/*
 * dsn_type_prefix - length of an address type written before an address
 * with '=' ("SMTP=user@example.com", as Lotus Notes and some gateways
 * write it), or 0
 */
size_t dsn_type_prefix(const char *s, size_t n);

/*
 * dsn_address - the bare address of an address field such as
 * "rfc822; <User@Example.COM>": type and angle brackets removed, the
 * domain lower-cased.  Returns an allocated string or NULL if there is no
 * plausible address.
 */
char *dsn_address(const char *value);

/*
 * dsn_typed_value - split "type; text" into an allocated lower-case type
 * (NULL if absent) and a pointer to the text inside value.
 */
const char *dsn_typed_value(const char *value, char **type_r);

#endif
