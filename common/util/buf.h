/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_BUF_H
#define REBOUND_BUF_H

#include <stddef.h>

#include "util/msg.h"

/*
 * buf - a growable byte string with a hard maximum length.  The content is
 * always NUL-terminated, so text can be read with buf_str().  Appends that
 * would pass the maximum store nothing and return -1: callers decide
 * whether truncation is an error.  The data pointer may move on append; do
 * not keep it across one.
 */
struct buf;

/* buf_create - new empty buffer holding at most max bytes */
struct buf *buf_create(size_t max);

/* buf_free - release *bp and set it to NULL; accepts NULL */
void buf_free(struct buf **bp);

int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, int c);
int buf_printf(struct buf *b, const char *fmt, ...) MSG_PRINTF(2, 3);

/* buf_append_partial - append as much of data as fits; returns bytes taken */
size_t buf_append_partial(struct buf *b, const void *data, size_t len);

const char *buf_str(const struct buf *b);
size_t buf_len(const struct buf *b);
size_t buf_max(const struct buf *b);
void buf_reset(struct buf *b);
void buf_truncate(struct buf *b, size_t len);

/* buf_detach - return the content (caller frees it) and free the buffer */
char *buf_detach(struct buf **bp, size_t *len_r);

#endif
