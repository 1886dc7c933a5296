/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-utf8 - the text rebound stores is valid UTF-8: invalid bytes become
 * U+FFFD, a cut never leaves half a character, valid text is kept as it
 * is, and NULL stays NULL.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#define FFFD "\xef\xbf\xbd"

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
	}
	return tap_done();
}
