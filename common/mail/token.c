/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * token - signed return-path tokens; the format is described in token.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "util/sha256.h"
#include "mail/token.h"
#include "util/xalloc.h"

#define TOKEN_VERSION	1
#define TOKEN_OCTETS	21
#define TOKEN_SIGNED	11		/* octets covered by the MAC */
#define TOKEN_MAC	(TOKEN_OCTETS - TOKEN_SIGNED)

struct token_key {
	unsigned char *secret;
	size_t len;
};

struct token_keys {
	struct token_key current;
	struct token_key previous;	/* len 0 when there is none */
};

static const char base32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

/*
 * token_key_read - one key file.  The secret signs every return path, so a
 * file others can read is refused rather than trusted: anyone who could
 * read it could forge bounces for any message.
 */
static int
token_key_read(const char *path, struct token_key *key, char **error_r)
{
	unsigned char buf[TOKEN_KEY_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		*error_r = xstrdup_printf("key file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*error_r = xstrdup_printf("key file %s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
		*error_r = xstrdup_printf("key file %s: mode %03o lets others read or write it; "
				       "chmod o-rw it", path, (unsigned)(st.st_mode & 0777));
		close(fd);
		return -1;
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = xstrdup_printf("key file %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
			   buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	if (len < TOKEN_KEY_MIN || len > TOKEN_KEY_MAX) {
		*error_r = xstrdup_printf("key file %s: want %d to %d octets of secret, found %zu "
				       "(make one with: head -c 32 /dev/urandom | base64)",
				       path, TOKEN_KEY_MIN, TOKEN_KEY_MAX, len);
		memset(buf, 0, sizeof(buf));
		return -1;
	}
	key->secret = xmalloc(len);
	memcpy(key->secret, buf, len);
	key->len = len;
	memset(buf, 0, sizeof(buf));
	return 0;
}

int
token_keys_load(const char *path, const char *previous_path, struct token_keys **keys_r,
		char **error_r)
{
	struct token_keys *keys = xcalloc(1, sizeof(*keys));

	if (path == NULL || *path == '\0') {
		*error_r = xstrdup_printf("no key file configured (token_key_file)");
		token_keys_free(&keys);
		return -1;
	}
	if (token_key_read(path, &keys->current, error_r) < 0 ||
	    (previous_path != NULL && *previous_path != '\0' &&
	     token_key_read(previous_path, &keys->previous, error_r) < 0)) {
		token_keys_free(&keys);
		return -1;
	}
	*keys_r = keys;
	return 0;
}

struct token_keys *
token_keys_from_memory(const void *key, size_t len, const void *previous, size_t previous_len)
{
	struct token_keys *keys = xcalloc(1, sizeof(*keys));

	keys->current.secret = xmalloc(len > 0 ? len : 1);
	memcpy(keys->current.secret, key, len);
	keys->current.len = len;
	if (previous != NULL && previous_len > 0) {
		keys->previous.secret = xmalloc(previous_len);
		memcpy(keys->previous.secret, previous, previous_len);
		keys->previous.len = previous_len;
	}
	return keys;
}

static void
token_key_wipe(struct token_key *key)
{
	if (key->secret != NULL) {
		memset(key->secret, 0, key->len);
		free(key->secret);
	}
	key->secret = NULL;
	key->len = 0;
}

void
token_keys_free(struct token_keys **keysp)
{
	struct token_keys *keys = *keysp;

	if (keys == NULL)
		return;
	token_key_wipe(&keys->current);
	token_key_wipe(&keys->previous);
	free(keys);
	*keysp = NULL;
}

unsigned
token_day(time_t t)
{
	return t < 0 ? 0 : (unsigned)(t / 86400);
}

/* token_mac - the truncated HMAC-SHA256 of the signed octets */
static void
token_mac(const struct token_key *key, const unsigned char *octets, unsigned char mac[TOKEN_MAC])
{
	unsigned char digest[SHA256_SIZE];

	sha256_hmac(key->secret, key->len, octets, TOKEN_SIGNED, digest);
	memcpy(mac, digest, TOKEN_MAC);
}

void
token_encode(const struct token_keys *keys, const struct token_info *info,
	     char out[TOKEN_CHARS + 1])
{
	unsigned char o[TOKEN_OCTETS];
	unsigned day = info->last_day > 0xffff ? 0xffff : info->last_day;
	unsigned bits = 0, acc = 0;
	size_t i, n = 0;

	o[0] = (unsigned char)((TOKEN_VERSION << 4) | (info->flags & 0xf));
	for (i = 0; i < 8; i++)
		o[1 + i] = (unsigned char)(info->message >> (56 - 8 * i));
	o[9] = (unsigned char)(day >> 8);
	o[10] = (unsigned char)day;
	token_mac(&keys->current, o, o + TOKEN_SIGNED);
	for (i = 0; i < TOKEN_OCTETS; i++) {
		acc = (acc << 8) | o[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[n++] = base32_alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[n++] = base32_alphabet[(acc << (5 - bits)) & 31];
	out[n] = '\0';
}

/* token_base32_value - value of one base32 character, or -1 */
static int
token_base32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/* token_unpack - base32 text to octets; -1 unless exactly a token's worth */
static int
token_unpack(const char *text, size_t len, unsigned char o[TOKEN_OCTETS])
{
	unsigned bits = 0, acc = 0;
	size_t i, n = 0;
	int v;

	if (len != TOKEN_CHARS)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = token_base32_value(text[i])) < 0)
			return -1;
		acc = (acc << 5) | (unsigned)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* The padding bits of the last character must be zero: one spelling only. */
	if (n != TOKEN_OCTETS || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return 0;
}

/* token_mac_matches - compare in constant time */
static int
token_mac_matches(const struct token_key *key, const unsigned char *o)
{
	unsigned char mac[TOKEN_MAC];
	unsigned diff = 0;
	size_t i;

	if (key->len == 0)
		return 0;
	token_mac(key, o, mac);
	for (i = 0; i < TOKEN_MAC; i++)
		diff |= (unsigned)(mac[i] ^ o[TOKEN_SIGNED + i]);
	return diff == 0;
}

enum token_verdict
token_decode(const struct token_keys *keys, const char *text, size_t len, unsigned today,
	     unsigned lifetime_days, struct token_info *info_r)
{
	unsigned char o[TOKEN_OCTETS];
	uint64_t message = 0;
	size_t i;

	if (token_unpack(text, len, o) < 0 || (o[0] >> 4) != TOKEN_VERSION)
		return TOKEN_MALFORMED;
	if (!token_mac_matches(&keys->current, o) && !token_mac_matches(&keys->previous, o))
		return TOKEN_FORGED;
	for (i = 0; i < 8; i++)
		message = (message << 8) | o[1 + i];
	info_r->message = message;
	info_r->flags = o[0] & 0xf;
	info_r->last_day = ((unsigned)o[9] << 8) | o[10];
	if (today > info_r->last_day ||
	    info_r->last_day - today > lifetime_days + TOKEN_SKEW_DAYS)
		return TOKEN_EXPIRED;
	return TOKEN_VALID;
}

const char *
token_verdict_name(enum token_verdict verdict)
{
	switch (verdict) {
	case TOKEN_VALID:
		return "valid";
	case TOKEN_MALFORMED:
		return "malformed";
	case TOKEN_FORGED:
		return "forged";
	case TOKEN_EXPIRED:
		return "expired";
	}
	return "malformed";
}

void
token_message_hex(uint64_t message, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)message);
}
