/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_PHRASE_H
#define REBOUND_PHRASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * phrase - where a few fixed phrases occur in a text, ASCII case ignored,
 * in one pass and without a lower-cased copy.
 *
 * The report readers ask many small questions of the same short text ("does
 * any of these 18 delay phrases occur?").  One memmem() per phrase walks the
 * text once per phrase and pays memmem's set-up every time; most of the text
 * is then read a dozen times.  Here each byte is read once, and only a byte
 * that begins some phrase is compared further.  Phrases are lower case and
 * at most PHRASE_MAX in one list; those beyond are not looked for.  No
 * allocation, no state: safe in any thread.
 */
#define PHRASE_MAX 64

/*
 * phrase_at - whether lower-case phrase[0..len) occurs at text[off..n),
 * ASCII case ignored; false when it would run past n
 */
bool phrase_at(const char *text, size_t n, size_t off, const char *phrase, size_t len);

/*
 * phrase_each - call found(ctx, index, off) for each place where list[index]
 * occurs in text[0..n): in order of off, and for one off in list order.
 * Stops early when found() returns false.
 */
void phrase_each(const char *text, size_t n, const char *const *list, size_t count,
		 bool (*found)(void *ctx, size_t index, size_t off), void *ctx);

/* phrase_any - whether any phrase of list occurs in text[0..n) */
bool phrase_any(const char *text, size_t n, const char *const *list, size_t count);

#endif
