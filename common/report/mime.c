/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mime - split a message into entities without copying it.
 *
 * The scanner reads only what bounce parsing needs: header blocks,
 * Content-Type with its boundary and charset, Content-Transfer-Encoding,
 * multipart delimiters and encapsulated messages.  It tolerates the
 * quirks real MTAs produce: parts without headers, header blocks that end
 * without an empty line, a boundary parameter that does not match the
 * delimiters in the body (the first delimiter-like line is then taken),
 * and a missing closing delimiter.  Decoding lives in mime_decode.c.
 */
#include <ctype.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/caps.h"
#include "report/mime.h"
#include "report/mime_impl.h"
#include "util/xalloc.h"

/* mime_create - an empty scanner */
struct mime *
mime_create(void)
{
	struct mime *m = xcalloc(1, sizeof(*m));

	m->cd = (iconv_t)-1;
	m->scratch = buf_create(LIMIT_TEXT_SCAN);
	m->value = buf_create(LIMIT_FIELD_LEN);
	return m;
}

/* mime_free - release *mp and set it to NULL */
void
mime_free(struct mime **mp)
{
	struct mime *m = *mp;

	if (m == NULL)
		return;
	if (m->cd != (iconv_t)-1)
		iconv_close(m->cd);
	buf_free(&m->scratch);
	buf_free(&m->value);
	free(m->parts);
	free(m);
	*mp = NULL;
}

/* mime_count - entities found by the last scan */
size_t
mime_count(const struct mime *m)
{
	return m->nparts;
}

/* mime_get - entity i of the last scan */
const struct mime_part *
mime_get(const struct mime *m, size_t i)
{
	return i < m->nparts ? &m->parts[i] : NULL;
}

/* mime_truncated - whether the last scan hit a cap */
bool
mime_truncated(const struct mime *m)
{
	return m->truncated;
}

/* mime_normalize - data with LF line ends, copied only when needed */
const char *
mime_normalize(const char *data, size_t *len, char **copy_r)
{
	const char *cr = memchr(data, '\r', *len);
	char *out;
	size_t n = 0, i = 0;

	*copy_r = NULL;
	if (cr == NULL)
		return data;
	out = xmalloc(*len + 1);
	/* The text between CRs is copied a run at a time. */
	while (cr != NULL) {
		size_t run = (size_t)(cr - (data + i));

		memcpy(out + n, data + i, run);
		n += run;
		i += run + 1;
		/* CRLF and a lone CR both end a line. */
		out[n++] = '\n';
		if (i < *len && data[i] == '\n')
			i++;
		cr = i < *len ? memchr(data + i, '\r', *len - i) : NULL;
	}
	memcpy(out + n, data + i, *len - i);
	n += *len - i;
	out[n] = '\0';
	*len = n;
	*copy_r = out;
	return out;
}

/* mime_line_end - offset just past the line that starts at off */
static size_t
mime_line_end(const char *s, size_t len, size_t off)
{
	const char *nl = memchr(s + off, '\n', len - off);

	return nl != NULL ? (size_t)(nl - s) + 1 : len;
}

/* mime_field_name - length of the field name the line s[0..n) starts with, or 0 */
static size_t
mime_field_name(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, max = n < 77 ? n : 77;

	/* A field name is 1-76 printable characters other than ':' and space. */
	while (i < max && (unsigned)(u[i] - 0x21) < 0x5e && u[i] != ':')
		i++;
	return i > 0 && i < n && s[i] == ':' ? i : 0;
}

/* mime_is_field - whether the line at s[0..n) starts a header field */
static bool
mime_is_field(const char *s, size_t n)
{
	return mime_field_name(s, n) > 0;
}

/*
 * mime_field_value - the value of the field whose line starts at
 * head[off] with a name of nlen bytes: from past the colon to the end of
 * its last continuation line.
 */
static void
mime_field_value(const char *head, size_t len, size_t off, size_t nlen, const char **value_r,
		 size_t *value_len_r)
{
	size_t end = mime_line_end(head, len, off);

	while (end < len && (head[end] == ' ' || head[end] == '\t'))
		end = mime_line_end(head, len, end);
	*value_r = head + off + nlen + 1;
	*value_len_r = (size_t)(head + end - *value_r);
}

/* mime_header_next - the next field of a header block */
bool
mime_header_next(const char *head, size_t len, size_t *pos, const char **name_r,
		 size_t *name_len_r, const char **value_r, size_t *value_len_r)
{
	size_t off = *pos;

	while (off < len) {
		size_t end = mime_line_end(head, len, off);
		const char *colon;

		if (head[off] == ' ' || head[off] == '\t' ||
		    !mime_is_field(head + off, end - off)) {
			off = end;
			continue;
		}
		colon = memchr(head + off, ':', end - off);
		*name_r = head + off;
		*name_len_r = (size_t)(colon - (head + off));
		*value_r = colon + 1;
		/* The value runs on over continuation lines. */
		while (end < len && (head[end] == ' ' || head[end] == '\t'))
			end = mime_line_end(head, len, end);
		*value_len_r = (size_t)(head + end - (colon + 1));
		*pos = end;
		return true;
	}
	*pos = len;
	return false;
}

/* The bytes mime_unfold() takes for blank: one test a byte. */
static const bool mime_blank[256] = { [' '] = true, ['\t'] = true, ['\n'] = true, ['\r'] = true };

/* mime_unfold - append a folded value to out as one line, trimmed */
void
mime_unfold(const char *v, size_t n, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)v;
	size_t start = buf_len(out), i = 0;

	/* Copy runs of non-blank bytes; each blank run becomes one space. */
	while (i < n) {
		size_t j = i;

		while (j < n && !mime_blank[u[j]])
			j++;
		if (j > i) {
			if (buf_len(out) > start)
				buf_putc(out, ' ');
			buf_append_partial(out, v + i, j - i);
		}
		while (j < n && mime_blank[u[j]])
			j++;
		i = j;
	}
}

/* mime_header - the unfolded value of a header field */
bool
mime_header(const char *head, size_t len, const char *name, struct buf *out)
{
	size_t pos = 0, nlen = strlen(name), flen, vlen;
	const char *field, *value;

	buf_reset(out);
	while (mime_header_next(head, len, &pos, &field, &flen, &value, &vlen)) {
		if (flen == nlen && strncasecmp(field, name, nlen) == 0) {
			mime_unfold(value, vlen, out);
			return true;
		}
	}
	return false;
}

/* mime_lower_copy - copy s[0..n) lower-cased into dst of size size */
static void
mime_lower_copy(char *dst, size_t size, const char *s, size_t n)
{
	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)tolower((unsigned char)s[i]);
	dst[n] = '\0';
}

/*
 * mime_param - the value of parameter name in a Content-Type value, copied
 * into out (size bytes); quotes removed.  Returns false when absent.
 */
static bool
mime_param(const char *v, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name);
	const char *p = strchr(v, ';');

	while (p != NULL) {
		const char *q, *end;

		for (p++; *p == ' ' || *p == '\t'; p++)
			;
		if (strncasecmp(p, name, nlen) == 0) {
			for (q = p + nlen; *q == ' ' || *q == '\t'; q++)
				;
			if (*q == '=') {
				for (q++; *q == ' ' || *q == '\t'; q++)
					;
				if (*q == '"') {
					end = strchr(++q, '"');
					if (end == NULL)
						end = q + strlen(q);
				} else {
					end = q + strcspn(q, "; \t");
				}
				if ((size_t)(end - q) >= size || end == q)
					return false;
				memcpy(out, q, (size_t)(end - q));
				out[end - q] = '\0';
				return true;
			}
		}
		/* Skip to the next ';' outside quotes. */
		for (bool quoted = false; *p != '\0'; p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (*p == ';' && !quoted)
				break;
		}
		p = *p == ';' ? p : NULL;
	}
	return false;
}

/* mime_content_type - fill type, subtype, charset and *boundary of p from v */
static void
mime_content_type(struct mime_part *p, const char *v, char *boundary, size_t bsize)
{
	const char *slash;
	size_t n;

	n = strcspn(v, ";");
	slash = memchr(v, '/', n);
	if (slash != NULL && slash > v) {
		size_t tl = (size_t)(slash - v), sl = strcspn(slash + 1, "; \t");

		while (tl > 0 && (v[tl - 1] == ' ' || v[tl - 1] == '\t'))
			tl--;
		mime_lower_copy(p->type, sizeof(p->type), v, tl);
		mime_lower_copy(p->subtype, sizeof(p->subtype), slash + 1, sl);
	}
	if (mime_param(v, "charset", p->charset, sizeof(p->charset)))
		mime_lower_copy(p->charset, sizeof(p->charset), p->charset, strlen(p->charset));
	(void)mime_param(v, "boundary", boundary, bsize);
}

/* mime_encoding - the transfer encoding named by v */
static enum mime_enc
mime_encoding(const char *v)
{
	if (strncasecmp(v, "base64", 6) == 0)
		return MIME_ENC_BASE64;
	if (strncasecmp(v, "quoted-printable", 16) == 0)
		return MIME_ENC_QP;
	return MIME_ENC_IDENTITY;
}

/*
 * Where mime_split_head() saw the first Content-Type and
 * Content-Transfer-Encoding fields of a header block: offset of the line
 * and length of the name; off is MIME_NO_FIELD when there is none.
 */
#define MIME_NO_FIELD ((size_t)-1)

struct mime_seen {
	size_t off, nlen;
};

/*
 * mime_fields - read Content-Type and Content-Transfer-Encoding of p, at
 * the lines mime_split_head() found them on: the header block is not read
 * again.
 */
static void
mime_fields(struct mime *m, struct mime_part *p, const struct mime_seen *type,
	    const struct mime_seen *enc, char *boundary, size_t bsize)
{
	const char *value;
	size_t vlen;

	strcpy(p->type, "text");
	strcpy(p->subtype, "plain");
	p->charset[0] = '\0';
	p->enc = MIME_ENC_IDENTITY;
	boundary[0] = '\0';
	if (type->off != MIME_NO_FIELD) {
		mime_field_value(p->head, p->head_len, type->off, type->nlen, &value, &vlen);
		buf_reset(m->value);
		mime_unfold(value, vlen, m->value);
		mime_content_type(p, buf_str(m->value), boundary, bsize);
	}
	if (enc->off != MIME_NO_FIELD) {
		mime_field_value(p->head, p->head_len, enc->off, enc->nlen, &value, &vlen);
		buf_reset(m->value);
		mime_unfold(value, vlen, m->value);
		p->enc = mime_encoding(buf_str(m->value));
	}
}

/* mime_note_field - remember the first Content-Type or -Transfer-Encoding line */
static void
mime_note_field(const char *line, size_t off, size_t nlen, struct mime_seen *type,
		struct mime_seen *enc)
{
	struct mime_seen *seen;

	if (nlen == 12 && strncasecmp(line, "Content-Type", 12) == 0)
		seen = type;
	else if (nlen == 25 && strncasecmp(line, "Content-Transfer-Encoding", 25) == 0)
		seen = enc;
	else
		return;
	if (seen->off == MIME_NO_FIELD) {
		seen->off = off;
		seen->nlen = nlen;
	}
}

/*
 * mime_split_head - find where the header block of an entity ends.  The
 * block is the run of field and continuation lines at the start; an empty
 * line after it is consumed, any other line starts the body.  On the way
 * it notes the fields mime_fields() wants.
 */
static void
mime_split_head(const char *s, size_t len, struct mime_part *p, struct mime_seen *type,
		struct mime_seen *enc)
{
	size_t off = 0;

	type->off = enc->off = MIME_NO_FIELD;
	while (off < len && s[off] != '\n') {
		size_t end = mime_line_end(s, len, off), nlen;
		bool cont = off > 0 && (s[off] == ' ' || s[off] == '\t');

		if (!cont) {
			if ((nlen = mime_field_name(s + off, end - off)) == 0)
				break;
			mime_note_field(s + off, off, nlen, type, enc);
		}
		off = end;
	}
	p->head = s;
	p->head_len = off;
	if (off < len && s[off] == '\n')
		off++;
	p->body = s + off;
	p->body_len = len - off;
}

/* mime_delimiter - whether s[off..) is a delimiter line of boundary b */
static int
mime_delimiter(const char *s, size_t len, size_t off, const char *b, size_t blen)
{
	size_t i = off + 2 + blen;

	if (off + 2 + blen > len || s[off] != '-' || s[off + 1] != '-' ||
	    memcmp(s + off + 2, b, blen) != 0 || (off > 0 && s[off - 1] != '\n'))
		return 0;
	if (i + 1 < len && s[i] == '-' && s[i + 1] == '-')
		return 2;	/* the closing delimiter */
	/* Only white space may follow the boundary on its line. */
	for (; i < len && s[i] != '\n'; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

/* mime_find_delimiter - offset of the next delimiter line at or after off */
static size_t
mime_find_delimiter(const char *s, size_t len, size_t off, const char *b, size_t blen,
		    int *kind)
{
	while (off + 2 + blen <= len) {
		const char *q = memmem(s + off, len - off, b, blen);

		if (q == NULL)
			break;
		off = (size_t)(q - s);
		if (off >= 2 && (*kind = mime_delimiter(s, len, off - 2, b, blen)) != 0)
			return off - 2;
		off++;
	}
	*kind = 0;
	return len;
}

/*
 * mime_guess_boundary - when the declared boundary never occurs, take the
 * first "--token" line that is followed by a header field line.
 */
static bool
mime_guess_boundary(const char *s, size_t len, char *b, size_t bsize)
{
	for (size_t off = 0; off < len; off = mime_line_end(s, len, off)) {
		size_t end = mime_line_end(s, len, off), n = end - off, next;

		while (n > 0 && (s[off + n - 1] == '\n' || s[off + n - 1] == ' '))
			n--;
		if (n < 4 || n - 2 >= bsize || s[off] != '-' || s[off + 1] != '-' ||
		    memchr(s + off, ' ', n) != NULL)
			continue;
		next = mime_line_end(s, len, end);
		if (end < len && mime_is_field(s + end, next - end)) {
			memcpy(b, s + off + 2, n - 2);
			b[n - 2] = '\0';
			return true;
		}
	}
	return false;
}

static void mime_entity(struct mime *m, const char *s, size_t len, unsigned depth, int parent,
			bool returned, bool message);

/* mime_children - scan the parts of a multipart body; false if none found */
static bool
mime_children(struct mime *m, const struct mime_part *p, const char *boundary, int self)
{
	const char *s = p->body;
	size_t len = p->body_len, blen = strlen(boundary), start;
	unsigned depth = p->depth;
	bool returned = p->returned;
	int kind;

	if (blen == 0)
		return false;
	start = mime_find_delimiter(s, len, 0, boundary, blen, &kind);
	if (kind == 0)
		return false;
	while (kind == 1) {
		size_t from = mime_line_end(s, len, start), next, end;

		next = mime_find_delimiter(s, len, from, boundary, blen, &kind);
		/* The line end before a delimiter belongs to the delimiter. */
		end = next > from && s[next - 1] == '\n' ? next - 1 : next;
		mime_entity(m, s + from, end - from, depth + 1, self, returned, false);
		start = next;
	}
	return true;
}

/* mime_append - room for one more entity, or NULL at the cap */
static struct mime_part *
mime_append(struct mime *m)
{
	if (m->nparts >= LIMIT_MIME_PARTS) {
		m->truncated = true;
		return NULL;
	}
	if (m->nparts == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->parts = xrealloc(m->parts, m->cap * sizeof(*m->parts));
	}
	return &m->parts[m->nparts++];
}

/* mime_entity - add the entity s[0..len) and, recursively, its children */
static void
mime_entity(struct mime *m, const char *s, size_t len, unsigned depth, int parent,
	    bool returned, bool message)
{
	struct mime_part *p;
	struct mime_seen type, enc;
	char boundary[80];
	int self;

	if (depth > LIMIT_MIME_DEPTH) {
		m->truncated = true;
		return;
	}
	if ((p = mime_append(m)) == NULL)
		return;
	self = (int)(m->nparts - 1);
	memset(p, 0, sizeof(*p));
	p->depth = depth;
	p->parent = parent;
	p->returned = returned;
	p->message = message;
	mime_split_head(s, len, p, &type, &enc);
	mime_fields(m, p, &type, &enc, boundary, sizeof(boundary));
	if (strcmp(p->type, "multipart") == 0) {
		struct mime_part copy = *p;	/* p may move as entities are added */

		if (mime_children(m, &copy, boundary, self))
			return;
		if (mime_guess_boundary(copy.body, copy.body_len, boundary, sizeof(boundary)) &&
		    mime_children(m, &copy, boundary, self))
			return;
		/* No delimiter at all: read the body as text. */
		p = &m->parts[self];
		strcpy(p->type, "text");
		strcpy(p->subtype, "plain");
	} else if (strcmp(p->type, "message") == 0 &&
		   (strcmp(p->subtype, "rfc822") == 0 || strcmp(p->subtype, "global") == 0) &&
		   p->enc == MIME_ENC_IDENTITY) {
		mime_entity(m, p->body, p->body_len, depth + 1, self, true, true);
	}
}

/* mime_scan - split a message into entities */
size_t
mime_scan(struct mime *m, const char *data, size_t len)
{
	m->nparts = 0;
	m->truncated = false;
	mime_entity(m, data, len, 0, -1, false, true);
	return m->nparts;
}
