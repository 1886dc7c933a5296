/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_ADDRESS_H
#define REBOUND_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * address - mail addresses as reports write them, read strictly.
 *
 * The address a report names decides whose mail may be suppressed, and a
 * report is written by a stranger.  So an address is taken whole or not
 * at all: "o'brien;drop--@x.example" is malformed, never the shorter
 * "drop--@x.example" that belongs to someone else.  A quoted local part
 * ("a b"@x.example, RFC 5321 4.1.2) is an address like any other.
 *
 * The stored form is lower case (rebound-milter records recipients that
 * way), with a quoted local part unquoted when it needs no quotes, as
 * Postfix writes addresses.  Pure: no logging.
 */

/* address_atext - whether c may stand in an unquoted local part (RFC 5322 atext or UTF-8) */
bool address_atext(unsigned char c);

/* address_domain_char - whether c may stand in a domain (IDN bytes included) */
bool address_domain_char(unsigned char c);

/*
 * address_normalize - the stored form of the address that text[0..len)
 * holds, exactly: local-part "@" domain, nothing before or after.
 * Returns an allocated string (free with free()), or NULL when text is
 * not one plausible address.
 */
char *address_normalize(const char *text, size_t len);

#endif
