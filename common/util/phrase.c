/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * phrase - one pass over a text for a short list of phrases.  A table of
 * 256 bit masks says which phrases begin with each byte (both cases of a
 * letter); the walk compares further only where the mask is not empty.
 */
#include <string.h>

#include "util/phrase.h"

/* phrase_lower - c in lower case, ASCII only, whatever the locale */
static inline unsigned char
phrase_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* phrase_at - whether phrase[0..len) occurs at text[off..n), any case */
bool
phrase_at(const char *text, size_t n, size_t off, const char *phrase, size_t len)
{
	if (off > n || len > n - off)
		return false;
	for (size_t i = 0; i < len; i++)
		if (phrase_lower((unsigned char)text[off + i]) != (unsigned char)phrase[i])
			return false;
	return true;
}

/*
 * phrase_mark - set bit in the mask of byte c, and of its upper case if c
 * is a lower-case letter: the text may be in either case
 */
static void
phrase_mark(uint64_t *masks, unsigned char c, uint64_t bit)
{
	masks[c] |= bit;
	if (c >= 'a' && c <= 'z')
		masks[c - ('a' - 'A')] |= bit;
}

/*
 * phrase_here - whether the NUL-terminated lower-case phrase occurs at
 * text[off..n), any case: phrase_at() without the length, which the walk
 * need not know
 */
static bool
phrase_here(const char *text, size_t n, size_t off, const char *phrase)
{
	for (size_t i = 0; phrase[i] != '\0'; i++)
		if (off + i >= n || phrase_lower((unsigned char)text[off + i]) != (unsigned char)phrase[i])
			return false;
	return true;
}

/* phrase_each - report each occurrence of a phrase of list in text[0..n) */
void
phrase_each(const char *text, size_t n, const char *const *list, size_t count,
	    bool (*found)(void *ctx, size_t index, size_t off), void *ctx)
{
	/*
	 * The phrases that begin with a byte, and those whose second byte it
	 * is: one in four bytes of English begins some phrase, far fewer
	 * begin one with the next byte as well.
	 */
	uint64_t first[256] = { 0 }, second[256] = { 0 };
	const unsigned char *u = (const unsigned char *)text;

	if (count > PHRASE_MAX)
		count = PHRASE_MAX;
	for (size_t i = 0; i < count; i++) {
		uint64_t bit = UINT64_C(1) << i;

		/* An empty phrase has no first byte and is never found. */
		if (list[i][0] == '\0')
			continue;
		phrase_mark(first, (unsigned char)list[i][0], bit);
		if (list[i][1] != '\0')
			phrase_mark(second, (unsigned char)list[i][1], bit);
		else
			for (size_t c = 0; c < 256; c++)
				second[c] |= bit;
	}
	for (size_t off = 0; off < n; off++) {
		uint64_t m;

		/* Most bytes begin no phrase: pass them in a loop of their own. */
		while ((m = first[u[off]]) == 0)
			if (++off == n)
				return;
		/* At the last byte only a one-byte phrase fits; phrase_here() says which. */
		if (off + 1 < n)
			m &= second[u[off + 1]];
		/* Lowest bit first: for one offset, phrases come in list order. */
		for (; m != 0; m &= m - 1) {
			size_t i = (size_t)__builtin_ctzll(m);

			if (phrase_here(text, n, off, list[i]) && !found(ctx, i, off))
				return;
		}
	}
}

/* phrase_stop - a phrase_each() callback that notes a find and stops */
static bool
phrase_stop(void *ctx, size_t index, size_t off)
{
	(void)index;
	(void)off;
	*(bool *)ctx = true;
	return false;
}

/* phrase_any - whether any phrase of list occurs in text[0..n) */
bool
phrase_any(const char *text, size_t n, const char *const *list, size_t count)
{
	bool any = false;

	phrase_each(text, n, list, count, phrase_stop, &any);
	return any;
}
