/* SPDX-License-Identifier: BSD-2-Clause */
/* utf8 - make a stranger's text valid UTF-8 before it is stored. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"
#include "util/xalloc.h"

size_t
utf8_valid_at(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] >= 0x01 && s[0] <= 0x7f)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* The second byte's range is narrower after these four. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/*
 * utf8_fix - write s[0..len) made valid to out (if not NULL), each byte
 * that starts no character replaced by U+FFFD; the length written
 */
static size_t
utf8_fix(const unsigned char *s, size_t len, char *out)
{
	static const char replacement[] = "\xef\xbf\xbd";
	size_t n = 0;

	for (size_t i = 0; i < len;) {
		size_t k = utf8_valid_at(s + i, len - i);
		const void *from = k == 0 ? (const void *)replacement : (const void *)(s + i);
		size_t size = k == 0 ? 3 : k;

		if (out != NULL)
			memcpy(out + n, from, size);
		n += size;
		i += k == 0 ? 1 : k;
	}
	return n;
}

char *
utf8_copy(const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len, n;
	char *out;

	if (s == NULL)
		return NULL;
	len = strnlen(s, max);
	/* Measured first: text that needs no repair is copied at its size. */
	n = utf8_fix(u, len, NULL);
	out = xmalloc(n + 1);
	(void)utf8_fix(u, len, out);
	out[n] = '\0';
	return out;
}

/* utf8_valid - whether the NUL-terminated s is well-formed UTF-8 */
static bool
utf8_valid(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), k;

	for (size_t i = 0; i < len; i += k)
		if ((k = utf8_valid_at(u + i, len - i)) == 0)
			return false;
	return true;
}

void
utf8_repair(char **sp)
{
	char *valid;

	if (*sp == NULL || utf8_valid(*sp))
		return;
	valid = utf8_copy(*sp, SIZE_MAX);
	free(*sp);
	*sp = valid;
}

char *
utf8_strndup(const char *s, size_t len, size_t *len_r)
{
	static const char replacement[] = "\xef\xbf\xbd";
	const char *end = s + len, *p, *nul;
	size_t nuls = 0, n = 0;
	char *out;

	/* Texts seldom hold a NUL: count them, then copy the runs between. */
	for (p = s; (nul = memchr(p, '\0', (size_t)(end - p))) != NULL; p = nul + 1)
		nuls++;
	out = xmalloc(len + nuls * 2 + 1);
	for (p = s;; p = nul + 1) {
		size_t run;

		if ((nul = memchr(p, '\0', (size_t)(end - p))) == NULL)
			nul = end;
		run = (size_t)(nul - p);
		memcpy(out + n, p, run);
		n += run;
		if (nul == end)
			break;
		memcpy(out + n, replacement, 3);
		n += 3;
	}
	out[n] = '\0';
	if (len_r != NULL)
		*len_r = n;
	return out;
}
