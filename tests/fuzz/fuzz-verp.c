/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz-verp - a return path through verp_parse() and verp_recipient(), as
 * rebound-pipe reads its -r argument, and its local part through
 * token_decode() with a fixed key, as a signed return path is checked.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util/msg.h"
#include "mail/token.h"
#include "mail/verp.h"
#include "util/xalloc.h"

static struct token_keys *keys;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char key[] = "fuzz-key-0123456789abcdef";
	static const char old[] = "fuzz-previous-key-0123456789";

	(void)argc;
	(void)argv;
	msg_open("fuzz-verp", 0, MSG_TO_STDERR);
	keys = token_keys_from_memory(key, sizeof(key) - 1, old, sizeof(old) - 1);
	return 0;
}

/* fuzz_verp - parse text with one pair of delimiters */
static void
fuzz_verp(const char *text, const char *delims)
{
	struct verp_addr va = { 0 };
	const char *error = NULL;
	char *rcpt;

	if (verp_parse(text, delims, &va, &error) == 0 && va.extension != NULL) {
		rcpt = verp_recipient(va.extension, delims);
		free(rcpt);
	}
	verp_addr_release(&va);
	free(verp_recipient(text, delims));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	const char *at = strchr(text, '@');
	size_t local = at != NULL ? (size_t)(at - text) : strlen(text);
	struct token_info info;
	char again[TOKEN_CHARS + 1];

	fuzz_verp(text, "+=");
	fuzz_verp(text, "-=");
	/* The raw bytes, NULs included, and the local part of the address. */
	(void)token_decode(keys, (const char *)data, size, 20000, 30, &info);
	if (token_decode(keys, text, local, 20000, 30, &info) == TOKEN_VALID) {
		/* A token that verifies must encode back to a token that verifies. */
		token_encode(keys, &info, again);
		if (token_decode(keys, again, strlen(again), 20000, 30, &info) != TOKEN_VALID)
			abort();
	}
	free(text);
	return 0;
}
