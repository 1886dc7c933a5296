/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_TOKEN_H
#define REBOUND_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * token - the signed part of a rebound return path.
 *
 * rebound-milter rewrites the envelope sender of outbound mail to
 * <prefix>+<token>@<bounce-domain>.  The token is 34 characters of
 * lower-case RFC 4648 base32 (a-z, 2-7: nothing an MTA folds, quotes or
 * treats as a delimiter) over 21 octets:
 *
 *	octet 0		version (high nibble, 1) and flags (low nibble)
 *	octets 1-8	the message's 64-bit id, big-endian
 *	octets 9-10	last valid day, days since 1970-01-01, big-endian
 *	octets 11-20	the first 80 bits of HMAC-SHA256(key, octets 0-10)
 *
 * Flag TOKEN_SINGLE_RECIPIENT says the transaction had exactly one
 * recipient, so a bounce to the token names that recipient even when its
 * text does not.  Verification tries the current key, then the previous
 * one, so a key can be rotated without orphaning mail in flight.
 *
 * The module is pure: it does not log and reports errors by return value.
 */

#define TOKEN_CHARS	34		/* length of an encoded token */
#define TOKEN_KEY_MIN	16		/* octets of key material at least */
#define TOKEN_KEY_MAX	1024

#define TOKEN_SINGLE_RECIPIENT 0x1

struct token_keys;

struct token_info {
	uint64_t message;		/* message id, random, never 0 */
	unsigned flags;			/* TOKEN_SINGLE_RECIPIENT */
	unsigned last_day;		/* token_day() of the last valid day */
};

enum token_verdict {
	TOKEN_VALID,
	TOKEN_MALFORMED,		/* not a token at all */
	TOKEN_FORGED,			/* well formed, no key signed it */
	TOKEN_EXPIRED,			/* signed, but past its last day */
};

/*
 * token_keys_load - read the current key file and, when previous_path is
 * neither NULL nor empty, the previous one.  A key file holds at least
 * TOKEN_KEY_MIN octets of secret (trailing white space is ignored), must
 * be a regular file and must not be readable or writable by others.
 * Returns 0, or -1 with *error_r an allocated message naming the file.
 */
int token_keys_load(const char *path, const char *previous_path,
		    struct token_keys **keys_r, char **error_r);

/* token_keys_from_memory - keys from memory, for tests and fuzzers */
struct token_keys *token_keys_from_memory(const void *key, size_t len,
					  const void *previous, size_t previous_len);

void token_keys_free(struct token_keys **keysp);

/* token_day - days since 1970-01-01 UTC of t */
unsigned token_day(time_t t);

/*
 * token_encode - sign info with the current key into out (NUL-terminated,
 * TOKEN_CHARS characters).  last_day is clamped to what 16 bits can hold.
 */
void token_encode(const struct token_keys *keys, const struct token_info *info,
		  char out[TOKEN_CHARS + 1]);

/*
 * Days a token may claim beyond today's date plus token_lifetime: clocks
 * of several hosts differ, and the milter rounds its last day up.
 */
#define TOKEN_SKEW_DAYS	1

/*
 * token_decode - verify the len characters at text (case-insensitive) on
 * day today.  A token is never valid for more than lifetime_days (plus
 * TOKEN_SKEW_DAYS) from today, whatever last day it claims: we never sign
 * a longer one, so a token that claims more was made with our key by
 * something else, and is taken for expired.  *info_r is filled for
 * TOKEN_VALID and TOKEN_EXPIRED.
 */
enum token_verdict token_decode(const struct token_keys *keys, const char *text,
				size_t len, unsigned today, unsigned lifetime_days,
				struct token_info *info_r);

/* token_verdict_name - "valid", "malformed", "forged" or "expired" */
const char *token_verdict_name(enum token_verdict verdict);

/* token_message_hex - the message id as 16 lower-case hex digits */
void token_message_hex(uint64_t message, char out[17]);

#endif
