/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mime_decode - transfer encodings, charsets and RFC 2047 encoded words.
 *
 * Everything here is tolerant: bad base64 characters are skipped, a bad
 * quoted-printable escape is kept as it is, bytes a charset converter
 * rejects are copied unchanged.  A bounce that cannot be decoded cleanly
 * must still be read as well as possible.  Output is bounded by the
 * caller's buffer.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "report/mime.h"
#include "report/mime_impl.h"
#include "util/hex.h"

/* Decoded bytes are gathered in chunks of this size before an append. */
#define MIME_CHUNK 1024

static const signed char b64_value[256] = {
	['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,
	['G'] = 7,  ['H'] = 8,  ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
	['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
	['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
	['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
	['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
	['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
	['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

/* mime_base64 - append the base64 decoding of s[0..len) to out */
static int
mime_base64(const char *s, size_t len, struct buf *out)
{
	char chunk[MIME_CHUNK];
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0, ret = 0;

	for (size_t i = 0; i < len; i++) {
		int v = b64_value[(unsigned char)s[i]];

		if (s[i] == '=')
			break;
		if (v == 0)
			continue;
		acc = (acc << 6) | (unsigned)(v - 1);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			chunk[n++] = (char)((acc >> bits) & 0xff);
			if (n == sizeof(chunk)) {
				if (buf_append_partial(out, chunk, n) < n)
					return -1;
				n = 0;
			}
		}
	}
	if (buf_append_partial(out, chunk, n) < n)
		ret = -1;
	return ret;
}

/* mime_qp_special - the first byte of s[0..len) that decoding changes, or len */
static size_t
mime_qp_special(const char *s, size_t len, bool header)
{
	const char *eq;
	size_t i = 0;

	if (!header)
		return (eq = memchr(s, '=', len)) != NULL ? (size_t)(eq - s) : len;
	while (i < len && s[i] != '=' && s[i] != '_')
		i++;
	return i;
}

/*
 * mime_qp - append the quoted-printable decoding of s[0..len) to out.
 * The text between escapes, most of it, is copied a run at a time.
 */
static int
mime_qp(const char *s, size_t len, bool header, struct buf *out)
{
	char chunk[MIME_CHUNK];
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		size_t run = mime_qp_special(s + i, len - i, header);
		int hi, lo;

		while (run > 0) {
			size_t m = run < sizeof(chunk) - n ? run : sizeof(chunk) - n;

			memcpy(chunk + n, s + i, m);
			n += m;
			i += m;
			run -= m;
			if (n == sizeof(chunk)) {
				if (buf_append_partial(out, chunk, n) < n)
					return -1;
				n = 0;
			}
		}
		if (i == len)
			break;
		if (header && s[i] == '_') {
			chunk[n++] = ' ';
		} else if (i + 1 < len && s[i + 1] == '\n') {
			i++;	/* a soft line break */
		} else if (i + 2 < len && (hi = hex_value((unsigned char)s[i + 1])) >= 0 &&
			   (lo = hex_value((unsigned char)s[i + 2])) >= 0) {
			chunk[n++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			chunk[n++] = '=';
		}
		if (n == sizeof(chunk)) {
			if (buf_append_partial(out, chunk, n) < n)
				return -1;
			n = 0;
		}
	}
	return buf_append_partial(out, chunk, n) < n ? -1 : 0;
}

/* mime_plain_charset - whether text in this charset is copied unchanged */
static bool
mime_plain_charset(const char *cs)
{
	static const char *const plain[] = { "", "us-ascii", "ascii", "utf-8", "utf8",
					     "x-unknown", "unknown-8bit", "unknown" };

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (strcasecmp(cs, plain[i]) == 0)
			return true;
	return false;
}

/* mime_ascii - whether s[0..len) is 7-bit without escape sequences */
static bool
mime_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80 || s[i] == 0x1b)
			return false;
	return true;
}

/* mime_latin1 - ISO-8859-1 to UTF-8 without a converter */
static void
mime_latin1(const char *s, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80) {
			buf_putc(out, c);
		} else {
			buf_putc(out, 0xc0 | (c >> 6));
			buf_putc(out, 0x80 | (c & 0x3f));
		}
	}
}

/* mime_converter - the cached converter from charset, or (iconv_t)-1 */
static iconv_t
mime_converter(struct mime *m, const char *charset)
{
	if (m->cd != (iconv_t)-1 && strcmp(m->cd_charset, charset) == 0) {
		iconv(m->cd, NULL, NULL, NULL, NULL);
		return m->cd;
	}
	if (m->cd != (iconv_t)-1)
		iconv_close(m->cd);
	m->cd_charset[0] = '\0';
	m->cd = iconv_open("UTF-8", charset);
	if (m->cd != (iconv_t)-1 && strlen(charset) < sizeof(m->cd_charset))
		strcpy(m->cd_charset, charset);
	return m->cd;
}

/* mime_to_utf8 - append text in a charset as UTF-8 */
void
mime_to_utf8(struct mime *m, const char *charset, const char *s, size_t len, struct buf *out)
{
	iconv_t cd;
	char chunk[MIME_CHUNK];

	if (mime_plain_charset(charset) || mime_ascii(s, len)) {
		buf_append_partial(out, s, len);
		return;
	}
	if (strcasecmp(charset, "iso-8859-1") == 0 || strcasecmp(charset, "latin1") == 0) {
		mime_latin1(s, len, out);
		return;
	}
	if ((cd = mime_converter(m, charset)) == (iconv_t)-1) {
		buf_append_partial(out, s, len);
		return;
	}
	while (len > 0) {
		char *in = (char *)(uintptr_t)s, *o = chunk;
		size_t inleft = len, outleft = sizeof(chunk);
		size_t r = iconv(cd, &in, &inleft, &o, &outleft);
		int err = errno;

		if (buf_append_partial(out, chunk, sizeof(chunk) - outleft) <
		    sizeof(chunk) - outleft)
			return;
		s = in;
		len = inleft;
		if (r == (size_t)-1 && err != E2BIG && len > 0) {
			/* Copy the byte the converter rejects and go on. */
			buf_putc(out, (unsigned char)*s);
			s++;
			len--;
			iconv(cd, NULL, NULL, NULL, NULL);
		}
	}
}

/* mime_decode - append the decoded content of a part */
int
mime_decode(struct mime *m, const struct mime_part *p, struct buf *out)
{
	struct buf *raw = m->scratch;
	bool text = strcmp(p->type, "text") == 0 && p->charset[0] != '\0';
	int ret = 0;

	if (p->enc == MIME_ENC_IDENTITY && !text)
		return buf_append_partial(out, p->body, p->body_len) < p->body_len ? -1 : 0;
	buf_reset(raw);
	if (p->enc == MIME_ENC_BASE64)
		ret = mime_base64(p->body, p->body_len, raw);
	else if (p->enc == MIME_ENC_QP)
		ret = mime_qp(p->body, p->body_len, false, raw);
	else if (buf_append_partial(raw, p->body, p->body_len) < p->body_len)
		ret = -1;
	if (text)
		mime_to_utf8(m, p->charset, buf_str(raw), buf_len(raw), out);
	else if (buf_append_partial(out, buf_str(raw), buf_len(raw)) < buf_len(raw))
		ret = -1;
	return ret;
}

/*
 * mime_word - decode one encoded word "=?cs?e?text?=" at s[0..len); on
 * success append it to out and return its length, else return 0.
 */
static size_t
mime_word(struct mime *m, const char *s, size_t len, struct buf *out)
{
	const char *cs = s + 2, *q1, *q2, *end, *star;
	char charset[40];
	size_t cslen;
	int enc;

	if (len < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	if ((q1 = memchr(cs, '?', len - 2)) == NULL || q1 + 3 >= s + len || q1[2] != '?')
		return 0;
	enc = toupper((unsigned char)q1[1]);
	q2 = q1 + 3;
	end = q2;
	while (end + 1 < s + len && !(end[0] == '?' && end[1] == '='))
		end++;
	if (end + 1 >= s + len || (enc != 'B' && enc != 'Q'))
		return 0;
	cslen = (size_t)(q1 - cs);
	/* RFC 2231 adds "*language" to the charset. */
	if ((star = memchr(cs, '*', cslen)) != NULL)
		cslen = (size_t)(star - cs);
	if (cslen == 0 || cslen >= sizeof(charset))
		return 0;
	for (size_t i = 0; i < cslen; i++)
		charset[i] = (char)tolower((unsigned char)cs[i]);
	charset[cslen] = '\0';
	buf_reset(m->scratch);
	if (enc == 'B')
		(void)mime_base64(q2, (size_t)(end - q2), m->scratch);
	else
		(void)mime_qp(q2, (size_t)(end - q2), true, m->scratch);
	mime_to_utf8(m, charset, buf_str(m->scratch), buf_len(m->scratch), out);
	return (size_t)(end + 2 - s);
}

/* mime_decode_words - append a header value with encoded words decoded */
void
mime_decode_words(struct mime *m, const char *s, size_t len, struct buf *out)
{
	size_t i = 0, pending = 0;	/* white space seen after an encoded word */
	bool after_word = false;

	while (i < len) {
		size_t n;

		if (s[i] == '=' && i + 1 < len && s[i + 1] == '?' &&
		    (n = mime_word(m, s + i, len - i, out)) > 0) {
			i += n;
			pending = 0;
			after_word = true;
			continue;
		}
		if (after_word && (s[i] == ' ' || s[i] == '\t')) {
			pending++;
			i++;
			continue;
		}
		/* White space not followed by another encoded word is kept. */
		for (; pending > 0; pending--)
			buf_putc(out, ' ');
		after_word = false;
		buf_putc(out, (unsigned char)s[i++]);
	}
}
