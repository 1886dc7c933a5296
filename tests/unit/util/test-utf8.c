/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-utf8 - the text rebound stores is valid UTF-8: invalid bytes become
 * U+FFFD, a cut never leaves half a character, valid text is kept as it
 * is, and NULL stays NULL.  GLib's g_utf8_make_valid() did the repair
 * before; on random bytes, biased towards the edges of the UTF-8 ranges,
 * the repair must come out as GLib's did, so that stored text keeps its
 * form.
 */
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#define FFFD "\xef\xbf\xbd"

/* glib_valid_at - utf8_valid_at as GLib decides it: a character, not NUL */
static size_t
glib_valid_at(const char *s, size_t n)
{
	gunichar c = g_utf8_get_char_validated(s, (gssize)n);

	if (c == 0 || c == (gunichar)-1 || c == (gunichar)-2)
		return 0;
	return (size_t)g_unichar_to_utf8(c, NULL);
}

/* against_glib - utf8_copy and utf8_repair as GLib on random bytes */
static void
against_glib(void)
{
	/* Bytes around every boundary of RFC 3629's table, and plain ASCII. */
	static const unsigned char edges[] = {
		'a', 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf,
		0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff,
	};
	unsigned seed = 3464;
	int same = 1, valid_same = 1, first_same = 1;

	for (int round = 0; round < 20000; round++) {
		char in[24];
		size_t n = 1 + (size_t)rand_r(&seed) % (sizeof(in) - 1);
		char *ours, *theirs, *copy;

		for (size_t i = 0; i < n; i++)
			in[i] = (char)edges[(size_t)rand_r(&seed) % sizeof(edges)];
		in[n] = '\0';
		if (utf8_valid_at((const unsigned char *)in, n) != glib_valid_at(in, n) &&
		    first_same) {
			tap_diag("round %d: utf8_valid_at differs from GLib", round);
			first_same = 0;
		}
		ours = utf8_copy(in, SIZE_MAX);
		theirs = g_utf8_make_valid(in, (gssize)n);
		if (strcmp(ours, theirs) != 0 && same) {
			tap_diag("round %d: differs from GLib", round);
			same = 0;
		}
		copy = xstrdup(in);
		utf8_repair(&copy);
		if ((copy == NULL || strcmp(copy, theirs) != 0) && valid_same) {
			tap_diag("round %d: utf8_repair differs from GLib", round);
			valid_same = 0;
		}
		free(copy);
		free(ours);
		g_free(theirs);
	}
	tap_ok(same, "utf8_copy: the same repair as GLib on 20000 random strings");
	tap_ok(valid_same, "utf8_repair: the same as GLib on the same strings");
	tap_ok(first_same, "utf8_valid_at: the same first character as GLib on them");
}

/* check_valid_at - utf8_valid_at on the first n bytes of s */
static void
check_valid_at(const char *s, size_t n, size_t want, const char *what)
{
	tap_is_int((long long)utf8_valid_at((const unsigned char *)s, n), (long long)want,
		   "utf8_valid_at: %s", what);
}

static void
check_copy(const char *in, size_t max, const char *want, const char *what)
{
	char *got = utf8_copy(in, max);

	tap_is_str(got, want, "utf8_copy: %s", what);
	free(got);
}

static void
check_repair(const char *in, const char *want, bool same, const char *what)
{
	char *s = xstrdup(in);
	char *before = s;

	utf8_repair(&s);
	tap_is_str(s, want, "utf8_repair: %s", what);
	tap_ok((s == before) == same, "utf8_repair: %s %s", what,
	       same ? "keeps the string" : "replaces the string");
	free(s);
}

int
main(void)
{
	char *none = NULL;

	check_copy("caf\xc3\xa9", SIZE_MAX, "caf\xc3\xa9", "valid text unchanged");
	check_copy("a\xff" "b", SIZE_MAX, "a" FFFD "b", "a stray byte replaced");
	check_copy("abcdef", 3, "abc", "cut at max bytes");
	check_copy("ab\xc3\xa9", 3, "ab" FFFD, "a split character replaced");
	check_copy("", 10, "", "empty text");
	tap_ok(utf8_copy(NULL, 10) == NULL, "utf8_copy: NULL stays NULL");

	check_repair("user@example.com", "user@example.com", true, "valid address");
	check_repair("\xc0\xafuser", FFFD FFFD "user", false, "an overlong form");
	check_repair("\xed\xa0\x80x", FFFD FFFD FFFD "x", false, "a surrogate");
	utf8_repair(&none);
	tap_ok(none == NULL, "utf8_repair: NULL stays NULL");

	{
		size_t len = 0;
		char *s = utf8_strndup("first\0 hidden", 13, &len);

		tap_is_str(s, "first" FFFD " hidden", "utf8_strndup: a NUL does not end the text");
		tap_is_int((long long)len, 15, "utf8_strndup: and the length says so");
		free(s);
		s = utf8_strndup("plain", 5, NULL);
		tap_is_str(s, "plain", "utf8_strndup: text without NUL is copied as it is");
		free(s);
		s = utf8_strndup("\0\0ab\0", 5, &len);
		tap_ok(len == 11 && memcmp(s, FFFD FFFD "ab" FFFD, 12) == 0,
		       "utf8_strndup: NULs first, side by side and last are each replaced");
		free(s);
		s = utf8_strndup("", 0, &len);
		tap_ok(len == 0 && s[0] == '\0', "utf8_strndup: an empty text stays empty");
		free(s);
	}
	check_valid_at("\x7f", 1, 1, "the last ASCII byte");
	check_valid_at("", 1, 0, "a NUL is not text");
	check_valid_at("\xc1\xbf", 2, 0, "an overlong two-byte form");
	check_valid_at("\xc2\x80", 2, 2, "the first two-byte character");
	check_valid_at("\xc2\x80", 1, 0, "a character cut short");
	check_valid_at("\xe0\x9f\xbf", 3, 0, "an overlong three-byte form");
	check_valid_at("\xe0\xa0\x80", 3, 3, "the first three-byte character");
	check_valid_at("\xed\x9f\xbf", 3, 3, "the last character before the surrogates");
	check_valid_at("\xed\xa0\x80", 3, 0, "a surrogate");
	check_valid_at("\xe2\x82\x41", 3, 0, "a third byte that continues nothing");
	check_valid_at("\xf0\x8f\xbf\xbf", 4, 0, "an overlong four-byte form");
	check_valid_at("\xf0\x90\x80\x80", 4, 4, "the first four-byte character");
	check_valid_at("\xf4\x8f\xbf\xbf", 4, 4, "U+10FFFF");
	check_valid_at("\xf4\x90\x80\x80", 4, 0, "above U+10FFFF");
	check_valid_at("\xf5\x80\x80\x80", 4, 0, "a byte that starts nothing");
	against_glib();
	return tap_done();
}
