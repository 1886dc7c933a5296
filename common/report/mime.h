/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_MIME_H
#define REBOUND_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/*
 * mime - a bounded MIME scanner for bounces.
 *
 * mime_scan() splits a message into a flat list of entities without
 * copying: each entity points into the caller's buffer, which must have
 * LF line ends (see mime_normalize()) and must outlive the scan.  Entity 0
 * is the message itself; a multipart's children follow it; the content of
 * a message/rfc822 part is one more entity flagged "returned".  The walk
 * stops at LIMIT_MIME_DEPTH levels and LIMIT_MIME_PARTS entities and
 * flags the truncation.  Malformed input never fails: a multipart without
 * a usable boundary is treated as text, a missing Content-Type as
 * text/plain.
 *
 * A struct mime is reusable: scanning again reuses its entity array, so a
 * batch run allocates nothing per message once the array has grown.
 * Pure: no logging, no global state.
 */
enum mime_enc {
	MIME_ENC_IDENTITY,	/* 7bit, 8bit, binary or unknown */
	MIME_ENC_BASE64,
	MIME_ENC_QP,
};

struct mime_part {
	const char *head;	/* header block, without the empty line */
	size_t head_len;
	const char *body;	/* raw, still encoded content */
	size_t body_len;
	char type[24];		/* lower case; "text" when absent */
	char subtype[48];	/* lower case; "plain" when absent */
	char charset[40];	/* lower case; empty when absent */
	enum mime_enc enc;
	unsigned depth;		/* 0 for the message itself */
	int parent;		/* index of the enclosing entity, -1 for the message */
	bool returned;		/* inside a returned (message/rfc822) message */
	bool message;		/* the head is a message's header, not a part's */
};

struct mime;

/* mime_create - an empty scanner */
struct mime *mime_create(void);

/* mime_free - release *mp and set it to NULL; accepts NULL */
void mime_free(struct mime **mp);

/* mime_scan - split data[0..len) into entities; returns their number (>= 1) */
size_t mime_scan(struct mime *m, const char *data, size_t len);

/* mime_count - entities found by the last scan */
size_t mime_count(const struct mime *m);

/* mime_get - entity i of the last scan */
const struct mime_part *mime_get(const struct mime *m, size_t i);

/* mime_truncated - whether the last scan hit a cap */
bool mime_truncated(const struct mime *m);

/*
 * mime_normalize - data with every CRLF and lone CR turned into LF.  When
 * data has no CR, returns data itself and leaves *copy_r NULL; otherwise
 * returns an allocated copy, also stored in *copy_r for the caller to free.
 */
const char *mime_normalize(const char *data, size_t *len, char **copy_r);

/*
 * mime_header - the unfolded value of the first header field called name
 * (any case) in head[0..len), appended to out (which is reset first).
 * Returns false when there is no such field.
 */
bool mime_header(const char *head, size_t len, const char *name, struct buf *out);

/*
 * mime_header_next - iterate the fields of a header block: from offset
 * *pos, find the next field and set its name and raw (still folded) value.
 * Returns false at the end.
 */
bool mime_header_next(const char *head, size_t len, size_t *pos, const char **name_r,
		      size_t *name_len_r, const char **value_r, size_t *value_len_r);

/*
 * mime_unfold - append a folded header value to out as one line: line
 * breaks and runs of white space become one space, both ends trimmed.
 */
void mime_unfold(const char *v, size_t n, struct buf *out);

/*
 * mime_decode - append the decoded content of p to out: transfer encoding
 * undone and, for text, converted from its charset to UTF-8 when the
 * charset is known.  Output beyond the buffer's maximum is dropped and
 * flagged by the return value: 0, or -1 when something was cut.
 */
int mime_decode(struct mime *m, const struct mime_part *p, struct buf *out);

/*
 * mime_decode_words - append s[0..len) to out with RFC 2047 encoded words
 * decoded to UTF-8 (white space between adjacent encoded words dropped).
 */
void mime_decode_words(struct mime *m, const char *s, size_t len, struct buf *out);

/*
 * mime_to_utf8 - append text in charset to out as UTF-8; bytes that do not
 * convert are copied as they are.  An empty or unknown charset copies.
 */
void mime_to_utf8(struct mime *m, const char *charset, const char *s, size_t len,
		  struct buf *out);

#endif
