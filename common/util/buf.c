/* SPDX-License-Identifier: BSD-2-Clause */
/* buf - bounded growable byte strings. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/xalloc.h"

struct buf {
	char *data;
	size_t len;
	size_t size;	/* allocated, including the terminator */
	size_t max;	/* hard limit on len */
};

struct buf *
buf_create(size_t max)
{
	struct buf *b = xcalloc(1, sizeof(*b));

	b->size = max < 64 ? max + 1 : 64;
	b->data = xmalloc(b->size);
	b->data[0] = '\0';
	b->max = max;
	return b;
}

void
buf_free(struct buf **bp)
{
	if (*bp == NULL)
		return;
	free((*bp)->data);
	free(*bp);
	*bp = NULL;
}

/* buf_reserve - make room for len more bytes, within the maximum */
static int
buf_reserve(struct buf *b, size_t len)
{
	size_t need;

	if (len > b->max - b->len)
		return -1;
	need = b->len + len + 1;
	if (need > b->size) {
		size_t size = b->size;

		while (size < need)
			size = size > b->max / 2 ? b->max + 1 : size * 2;
		b->data = xrealloc(b->data, size);
		b->size = size;
	}
	return 0;
}

int
buf_append(struct buf *b, const void *data, size_t len)
{
	/* An empty append may come with a NULL pointer (an empty GByteArray). */
	if (len == 0)
		return 0;
	if (buf_reserve(b, len) < 0)
		return -1;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

size_t
buf_append_partial(struct buf *b, const void *data, size_t len)
{
	size_t room = b->max - b->len;

	if (len > room)
		len = room;
	(void)buf_append(b, data, len);
	return len;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_putc(struct buf *b, int c)
{
	char ch = (char)c;

	/*
	 * Parsers append byte by byte; when the byte and its terminator fit
	 * already, store them without buf_append()'s general path.
	 */
	if (b->len < b->max && b->size - b->len >= 2) {
		b->data[b->len++] = ch;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_append(b, &ch, 1);
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0 || buf_reserve(b, (size_t)len) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)len + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)len;
	return 0;
}

const char *
buf_str(const struct buf *b)
{
	return b->data;
}

size_t
buf_len(const struct buf *b)
{
	return b->len;
}

size_t
buf_max(const struct buf *b)
{
	return b->max;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->data[0] = '\0';
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

char *
buf_detach(struct buf **bp, size_t *len_r)
{
	char *data = (*bp)->data;

	if (len_r != NULL)
		*len_r = (*bp)->len;
	free(*bp);
	*bp = NULL;
	return data;
}
