/* SPDX-License-Identifier: BSD-2-Clause */
/* test-return-path - VERP recipients and signed tokens in bounce addresses. */
#include <stdio.h>
#include <string.h>

#include "mail/return_path.h"
#include "tap.h"

static const char key[] = "0123456789abcdef0123456789abcdef";

/* check_token - a token of ours: valid, expired, forged or unverified */
static void
check_token(const struct token_keys *keys, const struct token_keys *other,
	    const struct token_info *info, const char *tok)
{
	struct return_path rp;
	char addr[256];

	snprintf(addr, sizeof(addr), "<bounces+%s@bounce.example.test>", tok);
	tap_is_int(return_path_inspect(addr, "+=", keys, 19999, 3650, &rp), 0, "token address parses");
	tap_is_str(return_path_token_name(rp.verdict), "valid", "verdict valid");
	tap_is_str(rp.token, tok, "token kept in lower case");
	tap_ok(rp.recipient == NULL, "no VERP recipient");
	tap_ok(rp.info.message == info->message && (rp.info.flags & TOKEN_SINGLE_RECIPIENT),
	       "message id and single-recipient flag decoded");
	return_path_release(&rp);

	snprintf(addr, sizeof(addr), "bounces+%s+bob=Example.ORG@bounce.example.test", tok);
	return_path_inspect(addr, "+=", keys, 19999, 3650, &rp);
	tap_is_str(return_path_token_name(rp.verdict), "valid", "token with XVERP recipient");
	tap_is_str(rp.recipient, "bob@example.org", "XVERP recipient after the token");
	return_path_release(&rp);

	return_path_inspect(addr, "+=", keys, 20001, 3650, &rp);
	tap_is_str(return_path_token_name(rp.verdict), "expired", "expired token");
	tap_ok(rp.token != NULL, "an expired token of ours still links");
	return_path_release(&rp);

	return_path_inspect(addr, "+=", other, 19999, 3650, &rp);
	tap_is_str(return_path_token_name(rp.verdict), "forged", "another key: forged");
	tap_ok(rp.token == NULL, "a forged token links nothing");
	tap_is_str(rp.recipient, "bob@example.org", "the VERP recipient is still read");
	return_path_release(&rp);

	return_path_inspect(addr, "+=", NULL, 19999, 3650, &rp);
	tap_is_str(return_path_token_name(rp.verdict), "unverified", "no keys: unverified");
	tap_ok(rp.token == NULL, "an unverified token links nothing");
	return_path_release(&rp);

	snprintf(addr, sizeof(addr), "bounces+%s@bounce.example.test", tok);
	return_path_inspect(addr, "+=", keys, 19990, 5, &rp);
	tap_is_str(return_path_token_name(rp.verdict), "expired",
		   "a token past token_lifetime from today is expired");
	return_path_release(&rp);
}

/* check_not_token - classic VERP and token-shaped local parts that are not ours */
static void
check_not_token(const struct token_keys *keys)
{
	struct return_path rp;

	return_path_inspect("bounces+bob=example.org@bounce.example.test", "+=", keys, 1, 3650, &rp);
	tap_is_str(return_path_token_name(rp.verdict), "none", "classic VERP: no token");
	tap_is_str(rp.recipient, "bob@example.org", "classic VERP recipient");
	return_path_release(&rp);

	/* A 34-character local part followed by d2 is a recipient, not a token. */
	return_path_inspect("bounces+abcdefghijklmnopqrstuvwxyzabcdefgh=example.org@b.test",
			    "+=", keys, 1, 3650, &rp);
	tap_is_str(return_path_token_name(rp.verdict), "none", "token-length user is VERP");
	return_path_release(&rp);

	/* Token-shaped (34 alphanumerics) but not base32 and no version: malformed. */
	return_path_inspect("bounces+0000000000000000000000000000000000@b.test", "+=", keys, 1,
			    3650, &rp);
	tap_is_str(return_path_token_name(rp.verdict), "malformed", "token-shaped garbage");
	tap_ok(rp.token == NULL, "malformed links nothing");
	return_path_release(&rp);
}

/* check_spellings - spellings Postfix reads as the same address meet the same check */
static void
check_spellings(const struct token_keys *keys, const struct token_keys *other, const char *tok)
{
	struct return_path rp;
	char addr[256];

	snprintf(addr, sizeof(addr), "<\"bounces+%s\"@bounce.example.test>", tok);
	tap_is_int(return_path_inspect(addr, "+=", keys, 19999, 3650, &rp), 0,
		   "quoted local part parses");
	tap_is_str(return_path_token_name(rp.verdict), "valid", "quoted token is verified");
	tap_is_str(rp.prefix, "bounces", "prefix of a quoted local part");
	tap_ok(rp.extended, "quoted local part has its extension");
	return_path_release(&rp);

	snprintf(addr, sizeof(addr), "\"bou\\nces+%s\"@bounce.example.test", tok);
	return_path_inspect(addr, "+=", other, 19999, 3650, &rp);
	tap_is_str(return_path_token_name(rp.verdict), "forged", "quoted pairs undone: forged");
	tap_is_str(rp.prefix, "bounces", "quoted pair in the prefix undone");
	return_path_release(&rp);

	snprintf(addr, sizeof(addr), "<@relay.example,@r2.example:bounces+%s@bounce.example.test>",
		 tok);
	return_path_inspect(addr, "+=", keys, 19999, 3650, &rp);
	tap_is_str(return_path_token_name(rp.verdict), "valid", "source route ignored");
	return_path_release(&rp);

	return_path_inspect("\"bounces+bob=example.org\"@bounce.example.test", "+=", keys, 1, 3650,
			    &rp);
	tap_is_str(rp.recipient, "bob@example.org", "quoted classic VERP still names its recipient");
	return_path_release(&rp);

	tap_is_int(return_path_inspect("\"a b\"@x.example", "+=", keys, 1, 3650, &rp), 0,
		   "a quoted local part with a space is an address");
	tap_is_str(rp.prefix, "a b", "and is read whole");
	tap_ok(!rp.extended, "with no extension");
	return_path_release(&rp);

	tap_is_int(return_path_inspect("\"bounces+x@b.test", "+=", keys, 1, 3650, &rp), -1,
		   "an unterminated quoted string is refused");
	tap_is_int(return_path_inspect("\"a\tb\"@b.test", "+=", keys, 1, 3650, &rp), -1,
		   "a control character inside quotes is refused");
	tap_is_int(return_path_inspect("not an address", "+=", keys, 1, 3650, &rp), -1,
		   "garbage is refused");
}

int
main(void)
{
	struct token_keys *keys = token_keys_from_memory(key, 32, NULL, 0);
	struct token_keys *other = token_keys_from_memory("another key of 32 octets, really", 32,
							  NULL, 0);
	struct token_info info = { 0xfeedfacecafebeefULL, TOKEN_SINGLE_RECIPIENT, 20000 };
	char tok[TOKEN_CHARS + 1];

	token_encode(keys, &info, tok);
	check_token(keys, other, &info, tok);
	check_not_token(keys);
	check_spellings(keys, other, tok);
	token_keys_free(&keys);
	token_keys_free(&other);
	return tap_done();
}
