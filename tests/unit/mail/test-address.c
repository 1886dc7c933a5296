/* SPDX-License-Identifier: BSD-2-Clause */
/* test-address - addresses are read whole or not at all. */
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "tap.h"

/* norm - address_normalize on a C string; "(null)" when refused */
static char *
norm(const char *text)
{
	char *a = address_normalize(text, strlen(text));

	return a != NULL ? a : strdup("(null)");
}

int
main(void)
{
	static const struct {
		const char *in, *want, *why;
	} cases[] = {
		{ "Bob@Example.ORG", "bob@example.org", "plain address, lower case" },
		{ "o'brien@example.org", "o'brien@example.org", "an apostrophe is atext" },
		{ "a.b+tag@example.org", "a.b+tag@example.org", "dots and a plus" },
		{ "o'brien;drop--@x.example", "(null)", "a ';' makes the address malformed, not shorter" },
		{ "a b@x.example", "(null)", "an unquoted space" },
		{ "\"a b\"@x.example", "\"a b\"@x.example", "a quoted local part with a space" },
		{ "\"bob\"@X.example", "bob@x.example", "quotes dropped where none are needed" },
		{ "\"a\\\"b\"@x.example", "\"a\\\"b\"@x.example", "a quoted pair kept quoted" },
		{ "\"a b@x.example", "(null)", "an unterminated quoted string" },
		{ "\"\"@x.example", "(null)", "an empty quoted local part" },
		{ "bob@", "(null)", "no domain" },
		{ "@x.example", "(null)", "no local part" },
		{ "bob@x..example", "(null)", "an empty label" },
		{ "bob@localhost", "(null)", "a domain without a dot is not a mailbox on the Internet" },
		{ "bob@[192.0.2.1]", "bob@[192.0.2.1]", "an address literal" },
		{ "bob@[192.0.2.1", "(null)", "an unterminated address literal" },
		{ "bob@x.example>", "(null)", "trailing junk" },
		{ "\xc3\xa9milie@x.example", "\xc3\xa9milie@x.example", "UTF-8 in the local part (RFC 6532)" },
	};
	char *a;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		a = norm(cases[i].in);
		tap_is_str(a, cases[i].want, "%s", cases[i].why);
		free(a);
	}
	tap_ok(address_normalize("bob@x.example", 5) == NULL, "only len bytes are read");
	tap_ok(address_normalize("bob\0@x.example", 14) == NULL, "a NUL is refused");
	a = address_normalize("bob@x.example and more", 13);
	tap_is_str(a, "bob@x.example", "a span inside longer text");
	free(a);
	return tap_done();
}
