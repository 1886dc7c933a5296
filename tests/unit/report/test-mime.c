/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-mime - the MIME scanner: structure, quirks, caps, decoding of
 * transfer encodings, charsets and encoded words.
 */
#include <stdlib.h>
#include <string.h>

#include "util/caps.h"
#include "report/mime.h"
#include "tap.h"

static const char nested[] =
	"From: a@example.org\n"
	"Content-Type: multipart/report; report-type=delivery-status;\n"
	"\tboundary=\"outer\"\n"
	"\n"
	"preamble\n"
	"--outer\n"
	"Content-Type: text/plain; charset=\"ISO-8859-1\"\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"caf=E9 soft=\n"
	"break\n"
	"--outer\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"Subject: returned\n"
	"Content-Type: multipart/alternative; boundary=inner\n"
	"\n"
	"--inner\n"
	"Content-Type: text/plain\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"aGVsbG8gd29ybGQ=\n"
	"--inner--\n"
	"--outer--\n";

/* The declared boundary never occurs; the body uses another one. */
static const char wrong_boundary[] =
	"Content-Type: multipart/mixed; boundary=\"declared\"\n"
	"\n"
	"--actual\n"
	"Content-Type: text/plain\n"
	"\n"
	"first\n"
	"--actual\n"
	"Content-Type: message/delivery-status\n"
	"\n"
	"Action: failed\n"
	"--actual--\n";

/* part - the entity of type/subtype, or NULL */
static const struct mime_part *
part(const struct mime *m, const char *type, const char *subtype)
{
	for (size_t i = 0; i < mime_count(m); i++) {
		const struct mime_part *p = mime_get(m, i);

		if (strcmp(p->type, type) == 0 && strcmp(p->subtype, subtype) == 0)
			return p;
	}
	return NULL;
}

/* check_structure - nesting, returned message, decoding to UTF-8 */
static void
check_structure(struct mime *m)
{
	struct buf *out = buf_create(4096);
	const struct mime_part *p;

	tap_is_int((long long)mime_scan(m, nested, strlen(nested)), 5, "five entities");
	tap_is_str(mime_get(m, 0)->subtype, "report", "entity 0 is the message");
	p = mime_get(m, 1);
	tap_is_str(p->charset, "iso-8859-1", "charset lower-cased, quotes removed");
	tap_ok(p->enc == MIME_ENC_QP && !p->returned, "first part: QP, not returned");
	mime_decode(m, p, out);
	tap_is_str(buf_str(out), "caf\xc3\xa9 softbreak", "QP decoded, Latin-1 to UTF-8");
	p = mime_get(m, 3);
	tap_ok(p->message && p->returned && p->parent == 2, "the returned message's own entity");
	p = mime_get(m, 4);
	tap_ok(p->returned && p->enc == MIME_ENC_BASE64, "its part is returned and base64");
	buf_reset(out);
	mime_decode(m, p, out);
	tap_is_str(buf_str(out), "hello world", "base64 decoded");
	tap_ok(!mime_truncated(m), "not truncated");
	buf_free(&out);
}

/* check_quirks - a wrong boundary, CRLF, no header block, depth cap */
static void
check_quirks(struct mime *m)
{
	static const char crlf[] = "Subject: x\r\n\r\nline one\r\nline two\rline three\r\n";
	size_t len = sizeof(crlf) - 1;
	char *copy;
	const char *n = mime_normalize(crlf, &len, &copy);
	struct buf *deep = buf_create(64 * 1024);

	mime_scan(m, wrong_boundary, strlen(wrong_boundary));
	tap_ok(part(m, "message", "delivery-status") != NULL, "boundary guessed from the body");
	tap_ok(copy != NULL && strcmp(n, "Subject: x\n\nline one\nline two\nline three\n") == 0,
	       "CRLF and CR normalised");
	free(copy);
	len = 12;
	n = mime_normalize("\r\r\na\rb\r\nend\r", &len, &copy);
	tap_ok(copy != NULL && len == 10 && strcmp(n, "\n\na\nb\nend\n") == 0,
	       "a CR first, before CRLF and last is a line end each");
	free(copy);
	len = 10;
	tap_ok(mime_normalize("no cr here", &len, &copy) != NULL && copy == NULL,
	       "no copy without CR");
	mime_scan(m, "just text\nno headers\n", 21);
	tap_ok(mime_count(m) == 1 && strcmp(mime_get(m, 0)->type, "text") == 0 &&
		       mime_get(m, 0)->head_len == 0,
	       "a body without a header block is text/plain");
	for (int i = 0; i < 40; i++)
		buf_printf(deep, "Content-Type: message/rfc822\n\n");
	buf_puts(deep, "Subject: bottom\n\nbody\n");
	mime_scan(m, buf_str(deep), buf_len(deep));
	tap_ok(mime_truncated(m) && mime_count(m) <= LIMIT_MIME_DEPTH + 1,
	       "nesting stops at LIMIT_MIME_DEPTH");
	buf_free(&deep);
}

/* check_headers - unfolding, lookup, encoded words */
static void
check_headers(struct mime *m)
{
	static const char head[] = "Subject: a\n b\tc\nX-Empty:\nTo: t@example.org\n";
	struct buf *out = buf_create(1024);
	static const char words[] = "=?UTF-8?B?44Gr44KD44KT?= =?ISO-8859-1?Q?caf=E9_ok?= plain";

	tap_ok(mime_header(head, strlen(head), "subject", out) && strcmp(buf_str(out), "a b c") == 0,
	       "folded value unfolded, name any case");
	tap_ok(mime_header(head, strlen(head), "X-Empty", out) && buf_len(out) == 0, "empty value");
	tap_ok(!mime_header(head, strlen(head), "Cc", out), "absent field");
	buf_reset(out);
	mime_decode_words(m, words, strlen(words), out);
	tap_is_str(buf_str(out), "\xe3\x81\xab\xe3\x82\x83\xe3\x82\x93" "caf\xc3\xa9 ok plain",
		   "encoded words decoded, space between them dropped");
	buf_reset(out);
	mime_to_utf8(m, "iso-2022-jp", "\x1b$B$K$c$s\x1b(B", 12, out);
	tap_is_str(buf_str(out), "\xe3\x81\xab\xe3\x82\x83\xe3\x82\x93", "ISO-2022-JP converted");
	buf_reset(out);
	mime_to_utf8(m, "x-no-such-charset", "abc\xff", 4, out);
	tap_is_int((long long)buf_len(out), 4, "an unknown charset is copied");
	buf_free(&out);
}

int
main(void)
{
	struct mime *m = mime_create();

	check_structure(m);
	check_quirks(m);
	check_headers(m);
	mime_free(&m);
	tap_ok(m == NULL, "mime_free clears the pointer");
	return tap_done();
}
