/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_XALLOC_H
#define REBOUND_XALLOC_H

#include <stddef.h>

/*
 * xalloc - allocation that succeeds or does not return.  On failure it
 * calls msg_fatal("out of memory"), whose exit status each program sets:
 * rebound-pipe makes it EX_TEMPFAIL so that Postfix retries the bounce.
 * Every result is freed with free().
 */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t len);

/*
 * xstrdup_printf - a new string formatted as printf(3) would.  For error
 * messages, whose every part is already length-bounded: the result is as
 * long as the format makes it.
 */
char *xstrdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* xfree - free *ptr and set it to NULL */
#define xfree(pp) do { free(*(pp)); *(pp) = NULL; } while (0)

#endif
