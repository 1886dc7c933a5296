/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-sha256 - SHA-256 and HMAC-SHA-256 give the published answers
 * (FIPS 180-4's examples, RFC 4231's HMAC cases), and the same digests as
 * GLib's GChecksum and GHmac, which rebound used before, on random input
 * of every length around the block boundaries, fed in random pieces: the
 * tokens signed before the change and the deduplication keys stored
 * before it must come out the same.
 */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util/sha256.h"

/* digest_hex - hex SHA-256 of n bytes at p, fed in pieces of at most step */
static void
digest_hex(const void *p, size_t n, size_t step, char hex[SHA256_HEX_SIZE])
{
	unsigned char d[SHA256_SIZE];
	struct sha256 s;

	sha256_init(&s);
	for (size_t i = 0; i < n; i += step)
		sha256_update(&s, (const unsigned char *)p + i, n - i < step ? n - i : step);
	sha256_final(&s, d);
	sha256_hex(d, hex);
}

/* hmac_hex - hex HMAC-SHA-256 */
static void
hmac_hex(const void *key, size_t klen, const void *data, size_t n, char hex[SHA256_HEX_SIZE])
{
	unsigned char mac[SHA256_SIZE];

	sha256_hmac(key, klen, data, n, mac);
	sha256_hex(mac, hex);
}

/* known_answers - FIPS 180-4 examples and RFC 4231 test cases 1, 2 and 6 */
static void
known_answers(void)
{
	char hex[SHA256_HEX_SIZE], *million = malloc(1000000);
	unsigned char key[131];

	digest_hex("", 0, 1, hex);
	tap_is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		   "SHA-256 of nothing");
	digest_hex("abc", 3, 64, hex);
	tap_is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		   "SHA-256 of \"abc\"");
	digest_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, 7, hex);
	tap_is_str(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
		   "SHA-256 of the 448-bit message, in pieces");
	memset(million, 'a', 1000000);
	digest_hex(million, 1000000, 4093, hex);
	tap_is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
		   "SHA-256 of a million 'a'");
	free(million);

	memset(key, 0x0b, 20);
	hmac_hex(key, 20, "Hi There", 8, hex);
	tap_is_str(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
		   "HMAC-SHA-256, RFC 4231 case 1");
	hmac_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
	tap_is_str(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		   "HMAC-SHA-256, RFC 4231 case 2");
	memset(key, 0xaa, sizeof(key));
	hmac_hex(key, sizeof(key), "Test Using Larger Than Block-Size Key - Hash Key First", 54,
		 hex);
	tap_is_str(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
		   "HMAC-SHA-256, RFC 4231 case 6 (a key longer than a block)");
}

/* against_glib - the same answers as GLib on random data and keys */
static void
against_glib(void)
{
	unsigned char data[300], key[150];
	char hex[SHA256_HEX_SIZE];
	int digests_ok = 1, hmacs_ok = 1;
	unsigned seed = 17;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)rand_r(&seed);
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)rand_r(&seed);
	for (size_t n = 0; n < sizeof(data); n++) {
		GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);

		g_checksum_update(c, data, (gssize)n);
		digest_hex(data, n, 1 + (size_t)rand_r(&seed) % 70, hex);
		if (strcmp(hex, g_checksum_get_string(c)) != 0) {
			tap_diag("length %zu: %s, GLib %s", n, hex, g_checksum_get_string(c));
			digests_ok = 0;
		}
		g_checksum_free(c);
	}
	tap_ok(digests_ok, "SHA-256 as GLib's, every length from 0 to %zu", sizeof(data) - 1);
	for (size_t k = 0; k < sizeof(key); k += 7) {
		size_t n = (size_t)rand_r(&seed) % sizeof(data);
		GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, key, k);

		g_hmac_update(h, data, (gssize)n);
		hmac_hex(key, k, data, n, hex);
		if (strcmp(hex, g_hmac_get_string(h)) != 0) {
			tap_diag("key %zu, data %zu: %s, GLib %s", k, n, hex, g_hmac_get_string(h));
			hmacs_ok = 0;
		}
		g_hmac_unref(h);
	}
	tap_ok(hmacs_ok, "HMAC-SHA-256 as GLib's, keys from 0 to %zu bytes", sizeof(key) - 1);
}

int
main(void)
{
	known_answers();
	against_glib();
	return tap_done();
}
