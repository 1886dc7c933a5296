/* SPDX-License-Identifier: BSD-2-Clause */
/* test-token - signed return-path tokens: round trip, tampering, expiry,
 * key rotation, length and alphabet, key file checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "mail/token.h"

static const char key_a[] = "0123456789abcdef0123456789abcdef";
static const char key_b[] = "fedcba9876543210fedcba9876543210";

/* A lifetime cap that no test token reaches, where the cap is not the point. */
#define ANY_LIFETIME 65535

static void
test_round_trip(void)
{
	struct token_keys *keys = token_keys_from_memory(key_a, 32, NULL, 0);
	struct token_info in = { 0x0123456789abcdefULL, TOKEN_SINGLE_RECIPIENT, 20500 }, out;
	char tok[TOKEN_CHARS + 1];
	size_t i;
	int alphabet_ok = 1;

	token_encode(keys, &in, tok);
	tap_is_int((long long)strlen(tok), TOKEN_CHARS, "token is %d characters", TOKEN_CHARS);
	for (i = 0; tok[i] != '\0'; i++)
		if (!((tok[i] >= 'a' && tok[i] <= 'z') || (tok[i] >= '2' && tok[i] <= '7')))
			alphabet_ok = 0;
	tap_ok(alphabet_ok, "token uses lower-case base32 only: %s", tok);
	tap_ok(strlen("bounces+") + strlen(tok) <= 64, "local part fits in 64 octets");
	tap_is_int(token_decode(keys, tok, strlen(tok), 20400, ANY_LIFETIME, &out), TOKEN_VALID, "valid");
	tap_ok(out.message == in.message, "message id survives");
	tap_is_int(out.flags, TOKEN_SINGLE_RECIPIENT, "flags survive");
	tap_is_int(out.last_day, 20500, "last day survives");
	tap_is_int(token_decode(keys, tok, strlen(tok), 20500, ANY_LIFETIME, &out), TOKEN_VALID,
		   "valid on its last day");
	tap_is_int(token_decode(keys, tok, strlen(tok), 20501, ANY_LIFETIME, &out), TOKEN_EXPIRED,
		   "expired the day after");

	/* Upper case: some MTAs fold the local part. */
	{
		char up[TOKEN_CHARS + 1];

		for (i = 0; i <= TOKEN_CHARS; i++)
			up[i] = (char)(tok[i] >= 'a' && tok[i] <= 'z' ? tok[i] - 32 : tok[i]);
		tap_is_int(token_decode(keys, up, TOKEN_CHARS, 20400, ANY_LIFETIME, &out), TOKEN_VALID,
			   "upper-cased token still verifies");
	}

	/* Every single-character change is detected. */
	{
		int all_detected = 1;
		char t[TOKEN_CHARS + 1];

		for (i = 0; i < TOKEN_CHARS; i++) {
			memcpy(t, tok, sizeof(t));
			t[i] = t[i] == 'a' ? 'b' : 'a';
			if (token_decode(keys, t, TOKEN_CHARS, 20400, ANY_LIFETIME, &out) == TOKEN_VALID)
				all_detected = 0;
		}
		tap_ok(all_detected, "every one-character change is refused");
	}
	tap_is_int(token_decode(keys, tok, TOKEN_CHARS - 1, 20400, ANY_LIFETIME, &out), TOKEN_MALFORMED,
		   "short token is malformed");
	tap_is_int(token_decode(keys, "bob=example.org", 15, 20400, ANY_LIFETIME, &out), TOKEN_MALFORMED,
		   "classic VERP extension is malformed, not forged");
	{
		char t[TOKEN_CHARS + 1];

		memcpy(t, tok, sizeof(t));
		t[5] = '1';
		tap_is_int(token_decode(keys, t, TOKEN_CHARS, 20400, ANY_LIFETIME, &out), TOKEN_MALFORMED,
			   "character outside the alphabet is malformed");
	}
	token_keys_free(&keys);
	tap_ok(keys == NULL, "token_keys_free clears the pointer");
}

/*
 * The lifetime cap: a token of ours that claims to stay valid longer than
 * token_lifetime (plus a day of clock skew) is treated as expired.
 */
static void
test_lifetime_cap(void)
{
	struct token_keys *keys = token_keys_from_memory(key_a, 32, NULL, 0);
	struct token_info in = { 7, 0, 0 }, out;
	char tok[TOKEN_CHARS + 1];
	const unsigned today = 20400;

	in.last_day = today + 30;
	token_encode(keys, &in, tok);
	tap_is_int(token_decode(keys, tok, TOKEN_CHARS, today, 30, &out), TOKEN_VALID,
		   "a token that lives token_lifetime is valid");
	in.last_day = today + 31;
	token_encode(keys, &in, tok);
	tap_is_int(token_decode(keys, tok, TOKEN_CHARS, today, 30, &out), TOKEN_VALID,
		   "one day more is clock skew");
	in.last_day = today + 32;
	token_encode(keys, &in, tok);
	tap_is_int(token_decode(keys, tok, TOKEN_CHARS, today, 30, &out), TOKEN_EXPIRED,
		   "two days more than token_lifetime: expired");
	in.last_day = today + 4000;
	token_encode(keys, &in, tok);
	tap_is_int(token_decode(keys, tok, TOKEN_CHARS, today, 30, &out), TOKEN_EXPIRED,
		   "a token that claims 4000 days is expired, whatever it says");
	tap_is_int(token_decode(keys, tok, TOKEN_CHARS, today, 3650, &out), TOKEN_EXPIRED,
		   "and still past the longest token_lifetime");
	token_keys_free(&keys);
}

static void
test_rotation(void)
{
	struct token_keys *old = token_keys_from_memory(key_a, 32, NULL, 0);
	struct token_keys *rotated = token_keys_from_memory(key_b, 32, key_a, 32);
	struct token_keys *other = token_keys_from_memory(key_b, 32, NULL, 0);
	struct token_info in = { 42, 0, 30000 }, out;
	char tok[TOKEN_CHARS + 1], tok2[TOKEN_CHARS + 1];

	token_encode(old, &in, tok);
	tap_is_int(token_decode(rotated, tok, TOKEN_CHARS, 20000, ANY_LIFETIME, &out), TOKEN_VALID,
		   "previous key still verifies after rotation");
	tap_is_int(token_decode(other, tok, TOKEN_CHARS, 20000, ANY_LIFETIME, &out), TOKEN_FORGED,
		   "a key that never signed it calls it forged");
	token_encode(rotated, &in, tok2);
	tap_ok(strcmp(tok, tok2) != 0, "new tokens are signed with the new key");
	tap_is_int(token_decode(old, tok2, TOKEN_CHARS, 20000, ANY_LIFETIME, &out), TOKEN_FORGED,
		   "old key alone does not verify the new key's tokens");
	token_keys_free(&old);
	token_keys_free(&rotated);
	token_keys_free(&other);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
}

static void
test_key_files(void)
{
	char dir[] = "/tmp/test-token.XXXXXX", path[256], path2[256];
	struct token_keys *keys = NULL;
	char *error = NULL;

	if (mkdtemp(dir) == NULL) {
		tap_ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/key", dir);
	snprintf(path2, sizeof(path2), "%s/key.old", dir);
	write_file(path, "c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0\n", 0640);
	write_file(path2, "b2xkIHNlY3JldCBvbGQgc2VjcmV0IG9sZA==\n", 0600);
	tap_is_int(token_keys_load(path, path2, &keys, &error), 0, "mode 0640 key loads");
	token_keys_free(&keys);
	chmod(path, 0644);
	tap_is_int(token_keys_load(path, NULL, &keys, &error), -1, "world-readable key refused");
	tap_ok(error != NULL && strstr(error, path) != NULL && strstr(error, "others") != NULL,
	       "error names the file and the problem: %s", error ? error : "");
	free(error);
	error = NULL;
	write_file(path, "short\n", 0600);
	tap_is_int(token_keys_load(path, NULL, &keys, &error), -1, "short key refused");
	free(error);
	error = NULL;
	tap_is_int(token_keys_load("/nonexistent/key", NULL, &keys, &error), -1,
		   "missing key file refused");
	free(error);
	unlink(path);
	unlink(path2);
	rmdir(dir);
}

int
main(void)
{
	test_round_trip();
	test_lifetime_cap();
	test_rotation();
	test_key_files();
	return tap_done();
}
