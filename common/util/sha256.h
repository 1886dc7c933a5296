/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_SHA256_H
#define REBOUND_SHA256_H

#include <stddef.h>
#include <stdint.h>

/*
 * sha256 - SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104).
 *
 * rebound-pipe hashes every bounce it stores (the identity of a report,
 * the deduplication key of an event) and checks the HMAC of signed return
 * paths.  GLib's GChecksum and GHmac did this before; linking GLib, with
 * libm and its constructors, cost every exec of rebound-pipe more than
 * reading the bounce does, for some hundred lines of arithmetic.
 * tests/unit/util/test-sha256.c holds the published test vectors and
 * compares every function with GLib's on random input.
 */

#define SHA256_SIZE 32		/* bytes of a digest */
#define SHA256_HEX_SIZE 65	/* a digest in lower-case hex, with its NUL */

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;		/* hashed so far */
	unsigned char block[64];
	size_t used;		/* bytes waiting in block */
};

/* sha256_init - start a digest */
void sha256_init(struct sha256 *s);

/* sha256_update - hash n more bytes */
void sha256_update(struct sha256 *s, const void *data, size_t n);

/* sha256_final - the digest of everything hashed; s must be started again */
void sha256_final(struct sha256 *s, unsigned char digest[SHA256_SIZE]);

/* sha256_hex - a digest in lower-case hex */
void sha256_hex(const unsigned char digest[SHA256_SIZE], char hex[SHA256_HEX_SIZE]);

/* sha256_hmac - HMAC-SHA-256 of data under key */
void sha256_hmac(const void *key, size_t key_len, const void *data, size_t n,
		 unsigned char mac[SHA256_SIZE]);

#endif
