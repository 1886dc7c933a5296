/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-phrase - phrase_each() finds each place where a phrase occurs, in
 * either case, as a lower-cased copy searched at every offset would: at
 * the very end of the text, a phrase that is a prefix of another, a
 * one-byte phrase, a NUL in the text.  It stops when told, and phrase_at()
 * never reads past the end.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util/phrase.h"

/* Phrases that share first bytes, prefixes and suffixes on purpose. */
static const char *const phrases[] = {
	"after ", "aft", "a", "data", "end of data", "[data]", "", "\xc3\xb3n", "ta",
};
#define NPHRASES (sizeof(phrases) / sizeof(phrases[0]))

/* A record of what phrase_each() reported, in order. */
struct seen {
	size_t index[4096], off[4096];
	size_t n, stop_after;
};

/* note - a phrase_each() callback that records; stops after stop_after */
static bool
note(void *ctx, size_t index, size_t off)
{
	struct seen *s = ctx;

	s->index[s->n] = index;
	s->off[s->n++] = off;
	return s->n < s->stop_after;
}

/* naive - what a lower-cased copy compared at every offset finds */
static void
naive(const char *text, size_t n, struct seen *s)
{
	char lower[512];

	for (size_t i = 0; i < n; i++)
		lower[i] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32 : text[i]);
	s->n = 0;
	for (size_t off = 0; off < n; off++)
		for (size_t i = 0; i < NPHRASES; i++) {
			size_t m = strlen(phrases[i]);

			if (m > 0 && m <= n - off && memcmp(lower + off, phrases[i], m) == 0) {
				s->index[s->n] = i;
				s->off[s->n++] = off;
			}
		}
}

/* against_naive - phrase_each() as the naive search, on random texts */
static void
against_naive(void)
{
	static const char alphabet[] = "aAfFtTeE DdRr[]\xc3\xb3nN\0o";
	static struct seen got, want;
	int bad = 0;

	srand(17);
	for (int round = 0; round < 2000; round++) {
		char text[512];
		size_t n = (size_t)(rand() % 64);

		for (size_t i = 0; i < n; i++)
			text[i] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
		got.n = 0;
		got.stop_after = sizeof(got.index) / sizeof(got.index[0]);
		phrase_each(text, n, phrases, NPHRASES, note, &got);
		naive(text, n, &want);
		if (got.n != want.n || memcmp(got.index, want.index, got.n * sizeof(size_t)) != 0 ||
		    memcmp(got.off, want.off, got.n * sizeof(size_t)) != 0)
			bad++;
	}
	tap_is_int(bad, 0, "phrase_each as a search at every offset, 2000 random texts");
}

int
main(void)
{
	static struct seen s;
	const char *many[PHRASE_MAX + 1];

	against_naive();
	tap_ok(phrase_any("Delivery AFTER end OF DATA", 26, phrases + 4, 1), "upper case found");
	tap_ok(phrase_any("xx [DATA]", 9, phrases + 5, 1), "a phrase at the very end");
	tap_ok(!phrase_any("xx [DATA", 8, phrases + 5, 1), "a phrase cut by the end");
	tap_ok(!phrase_any("xx [DATA]", 8, phrases + 5, 1), "n bounds the text");
	tap_ok(!phrase_any("anything", 8, phrases + 6, 1), "an empty phrase is never found");
	tap_ok(phrase_any("ab\0data", 7, phrases + 3, 1), "a NUL in the text is a byte");
	s.n = 0;
	s.stop_after = 2;
	phrase_each("data data data", 14, phrases, NPHRASES, note, &s);
	tap_is_int((long long)s.n, 2, "stops when the callback says so");
	tap_is_int((long long)(s.index[0] * 100 + s.off[0]), 300, "data at 0 first");
	tap_is_int((long long)(s.index[1] * 100 + s.off[1]), 201, "then a at 1");
	for (size_t i = 0; i < PHRASE_MAX; i++)
		many[i] = "zz";
	many[PHRASE_MAX] = "data";
	tap_ok(!phrase_any("data", 4, many, PHRASE_MAX + 1), "phrases past PHRASE_MAX ignored");
	tap_ok(phrase_at("xDATA", 5, 1, "data", 4), "phrase_at in any case");
	tap_ok(!phrase_at("xDATA", 5, 2, "data", 4), "phrase_at stops at n");
	tap_ok(!phrase_at("xDATA", 5, 6, "", 0), "phrase_at past n");
	tap_ok(phrase_at("xDATA", 5, 5, "", 0), "an empty phrase at n");
	return tap_done();
}
