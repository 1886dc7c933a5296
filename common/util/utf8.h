/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_UTF8_H
#define REBOUND_UTF8_H

#include <stddef.h>

/*
 * utf8 - text that PostgreSQL will take.  A text column refuses bytes that
 * are not UTF-8, and addresses, headers and diagnostics are a stranger's
 * bytes; each invalid sequence becomes U+FFFD instead.
 */

/*
 * utf8_valid_at - the length of the well-formed UTF-8 sequence at s[0..n),
 * n > 0 (RFC 3629, section 4: no overlong forms, no surrogates, nothing
 * above U+10FFFF), or 0 if none starts there.  A NUL is not text.
 */
size_t utf8_valid_at(const unsigned char *s, size_t n);

/*
 * utf8_copy - a copy (freed with free()) of at most max bytes of s, made
 * valid; a character that the cut splits is replaced too.  NULL gives NULL.
 */
char *utf8_copy(const char *s, size_t max);

/* utf8_repair - replace *sp with a valid copy if it is not valid UTF-8 */
void utf8_repair(char **sp);

/*
 * utf8_strndup - a NUL-terminated copy of the len bytes at s in which each
 * NUL byte is U+FFFD: as a C string, text with a NUL would end where the
 * sender chose and hide the rest.  *len_r (if not NULL) gets its length.
 */
char *utf8_strndup(const char *s, size_t len, size_t *len_r);

#endif
