/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mint-token - print a token signed with KEYFILE whose last valid day is
 * today + DAYS (negative: already expired).  For the milter tests only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util/msg.h"
#include "mail/token.h"

int
main(int argc, char **argv)
{
	struct token_keys *keys;
	struct token_info info = { .message = 0x0123456789abcdefULL, .flags = 0 };
	char token[TOKEN_CHARS + 1], *error;

	msg_open("mint-token", 0, MSG_TO_STDERR);
	if (argc != 3) {
		fprintf(stderr, "usage: mint-token KEYFILE DAYS\n");
		return 2;
	}
	if (token_keys_load(argv[1], NULL, &keys, &error) < 0)
		msg_fatal("%s", error);
	info.last_day = (unsigned)((long)token_day(time(NULL)) + atol(argv[2]));
	token_encode(keys, &info, token);
	puts(token);
	token_keys_free(&keys);
	return 0;
}
