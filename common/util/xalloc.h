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

/* xfree - free *ptr and set it to NULL */
#define xfree(pp) do { free(*(pp)); *(pp) = NULL; } while (0)

#endif
