/* SPDX-License-Identifier: BSD-2-Clause */
/* test-verp - VERP address parsing and recipient decoding. */
#include <stdlib.h>

#include "tap.h"
#include "mail/verp.h"

static const struct {
	const char *address;
	const char *delims;
	int ok;
	const char *prefix, *extension, *domain, *recipient;
} cases[] = {
	{ "bounces+bob=bad.example@bounce.example.test", "+=", 0,
	  "bounces", "bob=bad.example", "bounce.example.test", "bob@bad.example" },
	{ "<bounces+Bob=BAD.Example@Bounce.Example.TEST>", "+=", 0,
	  "bounces", "Bob=BAD.Example", "bounce.example.test", "Bob@bad.example" },
	/* '=' inside the local part: the last '=' separates the domain. */
	{ "b+a=b=c.example@x.test", "+=", 0, "b", "a=b=c.example", "x.test", "a=b@c.example" },
	/* The recipient's own '+' stays in its local part. */
	{ "list+user+tag=example.org@l.test", "+=", 0, "list", "user+tag=example.org",
	  "l.test", "user+tag@example.org" },
	{ "list-user#example.org@l.test", "-#", 0, "list", "user#example.org", "l.test",
	  "user@example.org" },
	{ "bounces@bounce.example.test", "+=", 0, "bounces", NULL, "bounce.example.test", NULL },
	{ "bounces+token@bounce.example.test", "+=", 0, "bounces", "token",
	  "bounce.example.test", NULL },
	{ "bounces+x=@bounce.example.test", "+=", 0, "bounces", "x=", "bounce.example.test",
	  NULL },
	{ "bounces+=d.example@b.test", "+=", 0, "bounces", "=d.example", "b.test", NULL },
	{ "", "+=", -1, NULL, NULL, NULL, NULL },
	{ "no-at-sign", "+=", -1, NULL, NULL, NULL, NULL },
	{ "@domain.only", "+=", -1, NULL, NULL, NULL, NULL },
	{ "a b@c.test", "+=", -1, NULL, NULL, NULL, NULL },
	{ "a@bad..domain.", "+=", -1, NULL, NULL, NULL, NULL },
	{ "a@do;main", "+=", -1, NULL, NULL, NULL, NULL },
};

int
main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct verp_addr va;
		const char *error = NULL;
		int ret = verp_parse(cases[i].address, cases[i].delims, &va, &error);
		char *rcpt;

		tap_is_int(ret, cases[i].ok, "parse \"%s\"", cases[i].address);
		if (ret < 0) {
			tap_ok(error != NULL, "error given for \"%s\": %s", cases[i].address,
			       error ? error : "");
			continue;
		}
		tap_is_str(va.prefix, cases[i].prefix, "prefix of %s", cases[i].address);
		tap_is_str(va.extension, cases[i].extension, "extension of %s", cases[i].address);
		tap_is_str(va.domain, cases[i].domain, "domain of %s", cases[i].address);
		rcpt = va.extension ? verp_recipient(va.extension, cases[i].delims) : NULL;
		tap_is_str(rcpt, cases[i].recipient, "recipient of %s", cases[i].address);
		free(rcpt);
		verp_addr_release(&va);
	}

	/* A 300-byte address exceeds RFC 5321's path limit. */
	{
		char longaddr[301];
		struct verp_addr va;
		const char *error;

		for (int i = 0; i < 300; i++)
			longaddr[i] = 'a';
		longaddr[290] = '@';
		longaddr[300] = '\0';
		tap_is_int(verp_parse(longaddr, "+=", &va, &error), -1, "overlong address refused");
	}

	/* Encoding is the inverse of decoding. */
	{
		char *enc = verp_encode("bounces", "bounce.example.test", "bob@bad.example", "+=");
		struct verp_addr va;
		const char *error;
		char *back;

		tap_is_str(enc, "bounces+bob=bad.example@bounce.example.test", "encode");
		verp_parse(enc, "+=", &va, &error);
		back = verp_recipient(va.extension, "+=");
		tap_is_str(back, "bob@bad.example", "round trip");
		free(back);
		free(enc);
		verp_addr_release(&va);
	}
	return tap_done();
}
