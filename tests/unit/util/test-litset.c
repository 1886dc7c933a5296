/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-litset - the literals a pattern requires, and the one-pass search
 * for many literals.  A required literal must be a necessary condition: a
 * wrong one would make the rule engine skip a rule that matches.
 */
#include <stdlib.h>
#include <string.h>

#include "util/litset.h"
#include "tap.h"

static const struct {
	const char *pattern;
	const char *literals;	/* "|"-separated, "" when none is required */
} required_cases[] = {
	{ "user unknown", "user unknown" },
	{ "mailbox (is )?full", "mailbox " },
	{ "over ?quota", "quota" },
	{ "a|bb|ccc", "" },			/* too short to index */
	{ "no such user|unknown user", "no such user|unknown user" },
	{ "(?:foo|bar)baz?", "foo|bar" },
	{ "x{2}abcd", "abcd" },
	{ ".{1,40} header", " header" },
	{ "abc\\d{3,}wxyz", "wxyz" },
	{ "\\.example\\.com", ".example.com" },
	{ "[abc]defg", "defg" },
	{ "(?i)spam", "spam" },		/* an option setting is no group */
	{ "(?=ahead)behind", "behind" },
	{ "(?!notthis)x", "" },
	{ "block(ed)? list", "block" },	/* the first of two runs as long */
	{ "spamhaus|rbl\\b|dnsbl", "spamhaus|rbl|dnsbl" },
	{ "mailbox.{0,40}\\bfull\\b|over ?quota", "mailbox|quota" },
};

/* litset_required_all(): '|' within a piece, '+' between pieces, ',' between alternatives */
static const struct {
	const char *pattern;
	const char *pieces;
} all_cases[] = {
	{ "user unknown", "user unknown" },
	{ "message (file |size )?(is )?too (big|large) for", "message +big|large" },
	{ "(account|user) (is )?(suspended|disabled)", "account|user+suspended|disabled" },
	{ "no such user|unknown (user|mailbox)", "no such user,unknown +user|mailbox" },
	{ "(?:foo|bar)baz?", "foo|bar" },
	{ "spam(*ACCEPT)", "spam" },		/* a verb is no group */
	{ "a|bb|ccc", "" },
	{ "user|(?=x)y", "" },			/* one alternative requires nothing */
};

struct collected {
	char text[256];
};

/* collect - litset_required() callback: join the literals with '|' */
static void
collect(void *ctx, const char *s, size_t n)
{
	struct collected *c = ctx;
	size_t len = strlen(c->text);

	if (len > 0 && len < sizeof(c->text) - 1)
		c->text[len++] = '|';
	if (len + n < sizeof(c->text)) {
		memcpy(c->text + len, s, n);
		c->text[len + n] = '\0';
	}
}

/* collect_all - litset_required_all() callback: render pieces and alternatives */
static void
collect_all(void *ctx, const char *s, size_t n)
{
	struct collected *c = ctx;
	size_t len = strlen(c->text);

	if (s == NULL) {
		/* A piece or alternative mark; the rendering ends both lazily. */
		if (len > 0 && len < sizeof(c->text) - 1) {
			c->text[len] = n == LITSET_END_PIECE ? '+' : ',';
			c->text[len + 1] = '\0';
		}
		return;
	}
	if (len > 0 && c->text[len - 1] != '+' && c->text[len - 1] != ',' &&
	    len < sizeof(c->text) - 1)
		c->text[len++] = '|';
	if (len + n < sizeof(c->text)) {
		memcpy(c->text + len, s, n);
		c->text[len + n] = '\0';
	}
}

/* check_all - the pieces of each pattern of all_cases */
static void
check_all(void)
{
	for (size_t i = 0; i < sizeof(all_cases) / sizeof(all_cases[0]); i++) {
		struct collected got = { "" };
		const char *p = all_cases[i].pattern;
		size_t len;

		(void)litset_required_all(p, strlen(p), true, collect_all, &got);
		/* "a+b+," reads better as "a+b": drop the closing marks. */
		len = strlen(got.text);
		while (len > 0 && (got.text[len - 1] == '+' || got.text[len - 1] == ','))
			got.text[--len] = '\0';
		for (char *c = got.text; (c = strstr(c, "+,")) != NULL;)
			memmove(c, c + 1, strlen(c + 1) + 1);
		tap_is_str(got.text, all_cases[i].pieces, "pieces of /%s/", p);
	}
}

int
main(void)
{
	struct litset *l = litset_create();
	int a, b, c;

	for (size_t i = 0; i < sizeof(required_cases) / sizeof(required_cases[0]); i++) {
		struct collected got = { "" };
		const char *p = required_cases[i].pattern;

		(void)litset_required(p, strlen(p), true, collect, &got);
		tap_is_str(got.text, required_cases[i].literals, "literals of /%s/", p);
	}
	a = litset_add(l, "Mailbox Full", 12);
	b = litset_add(l, "user unknown", 12);
	c = litset_add(l, "quota", 5);
	tap_ok(a >= 0 && b >= 0 && c >= 0, "literals added");
	tap_is_int(litset_add(l, "mailbox full", 12), a, "a literal is kept once, lower-cased");
	tap_is_int(litset_add(l, "ab", 2), -1, "too short a literal is refused");
	litset_scan(l, "550 mailbox full, over quota", 28);
	tap_ok(litset_found(l, a) && litset_found(l, c) && !litset_found(l, b), "scan finds two");
	litset_scan(l, "550 user unknown", 16);
	tap_ok(!litset_found(l, a) && litset_found(l, b), "a new scan forgets the last one");
	litset_scan(l, "quot", 4);
	tap_ok(!litset_found(l, c), "a literal cut by the end of the text is not found");
	tap_ok(!litset_found(l, 999) && !litset_found(l, -1), "unknown ids are never found");
	{
		uint32_t scan;
		const uint32_t *marks = litset_marks(l, &scan);

		tap_ok((marks[a] == scan) == litset_found(l, a) &&
			       (marks[b] == scan) == litset_found(l, b) &&
			       (marks[c] == scan) == litset_found(l, c),
		       "litset_marks says what litset_found says");
	}
	{
		int d, e;

		litset_scan(l, "552 quota exceeded: mailbox full", 32);
		d = litset_add(l, "exceeded", 8);
		e = litset_add(l, "rejected", 8);
		tap_ok(!litset_found(l, d), "a literal added after a scan is not yet found");
		litset_rescan(l, "552 quota exceeded: mailbox full", 32);
		tap_ok(litset_found(l, d) && !litset_found(l, e) && litset_found(l, a) &&
			       litset_found(l, c),
		       "litset_rescan finds the new literals and keeps what the scan found");
	}
	litset_free(&l);
	tap_ok(l == NULL, "litset_free clears the pointer");
	check_all();
	return tap_done();
}
