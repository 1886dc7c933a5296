/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_LITSET_H
#define REBOUND_LITSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * litset - which of many short literals occur in a text, in one pass.
 *
 * The rule engine uses it as a pre-check: a rule whose regular expression
 * requires a literal ("mailbox full") need not be compiled, let alone run,
 * when the literal is absent.  Literals are kept lower case and indexed by
 * their first three bytes; litset_scan() walks the lower-cased text once
 * and marks every literal found.  Literals shorter than LITSET_MIN are
 * refused: they would match almost everywhere.
 *
 * litset_required() derives the literals from a PCRE2 pattern: a set of
 * strings one of which every match must contain, or nothing when the
 * pattern guarantees none.  It errs on the side of "nothing".
 */
#define LITSET_MIN 3
#define LITSET_MAX 32

/*
 * litset_lower - c in lower case, ASCII only, whatever the locale: the
 * literals and the texts they are looked for in must agree on it.
 */
static inline char
litset_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

struct litset;

/* litset_create - an empty set */
struct litset *litset_create(void);

/* litset_free - release *lp and set it to NULL; accepts NULL */
void litset_free(struct litset **lp);

/* litset_add - add a literal (lower-cased, cut to LITSET_MAX); its id, or -1 */
int litset_add(struct litset *l, const char *s, size_t n);

/* litset_count - number of distinct literals */
size_t litset_count(const struct litset *l);

/* litset_scan - mark the literals that occur in lower-case text[0..n) */
void litset_scan(struct litset *l, const char *text, size_t n);

/*
 * litset_rescan - the same text as the last scan, for the literals added
 * since: marks those that occur in lower-case text[0..n), as a new
 * litset_scan() would, without walking the text for the others
 */
void litset_rescan(struct litset *l, const char *text, size_t n);

/*
 * litset_marks - for a caller that tests many ids in a row: literal id
 * (from litset_add()) occurred in the last scan when marks[id] == *scan_r.
 * Valid until the next litset_add(), litset_scan() or litset_rescan().
 */
const uint32_t *litset_marks(const struct litset *l, uint32_t *scan_r);

/* litset_found - whether literal id occurred in the last scan */
bool litset_found(const struct litset *l, int id);

/*
 * litset_required - literals one of which any match of pattern must
 * contain; calls add(ctx, s, n) for each and returns their number, or 0
 * when the pattern requires none (then no literal was passed).
 */
size_t litset_required(const char *pattern, size_t len, bool caseless,
		       void (*add)(void *ctx, const char *s, size_t n), void *ctx);

/*
 * litset_required_all - a finer litset_required(): for each top-level
 * alternative, every piece of it that requires literals (its longest
 * literal run, and each group that requires one of its literals).  Calls
 * add(ctx, s, n) for each literal, add(ctx, NULL, LITSET_END_PIECE) after
 * the literals of a piece, one of which a match of the alternative holds,
 * and add(ctx, NULL, LITSET_END_ALT) after the pieces of an alternative,
 * all of which it holds.  Returns the number of literals, or 0 when some
 * alternative requires none (then add was not called).
 */
#define LITSET_END_PIECE 1
#define LITSET_END_ALT 2

size_t litset_required_all(const char *pattern, size_t len, bool caseless,
			   void (*add)(void *ctx, const char *s, size_t n), void *ctx);

#endif
