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
	int same = 1, valid_same = 1;

	for (int round = 0; round < 20000; round++) {
		char in[24];
		size_t n = 1 + (size_t)rand_r(&seed) % (sizeof(in) - 1);
		char *ours, *theirs, *copy;

		for (size_t i = 0; i < n; i++)
			in[i] = (char)edges[(size_t)rand_r(&seed) % sizeof(edges)];
		in[n] = '\0';
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
	against_glib();
	return tap_done();
}
