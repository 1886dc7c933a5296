/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_HEX_H
#define REBOUND_HEX_H

/*
 * hex - the value of one hexadecimal digit, for the three encodings that
 * escape a byte as two of them: quoted-printable (RFC 2045), xtext (RFC
 * 3461) and the milter's spool records.  Inline, because the MIME decoder
 * calls it for every escaped byte of a body.
 */

/* hex_value - the value of the digit c, in either case, or -1 */
static inline int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

#endif
