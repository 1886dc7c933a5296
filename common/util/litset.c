/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * litset - many-literal search by trigram buckets, and required-literal
 * extraction from PCRE2 patterns.
 *
 * The extraction reads the pattern's source, not its compiled form.  Only
 * the top level of each alternative is read for literal runs; a group is
 * read (recursively) only when the alternative has no run of its own and
 * the group is not optional.  Escapes that stand for classes, character
 * classes, quantifiers and anchors end a run; a quantifier that allows
 * zero repetitions also removes the character it applies to.  Anything
 * unusual makes the pattern "require nothing", which is always safe.
 * litset_required_all() keeps, for each top-level alternative, its longest
 * run and every group that requires literals, all of which a match holds:
 * "message (is )?too (big|large)" needs "message " and "big" or "large",
 * where "message " alone would let the regex run on most bounces.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/litset.h"
#include "util/xalloc.h"

#define LITSET_BUCKETS 4096

struct litset {
	char *pool;		/* the literals' bytes, one after another */
	size_t pool_len, pool_cap;
	uint32_t *off;		/* where each literal starts in pool */
	unsigned char *lens;	/* its length, at most LITSET_MAX */
	uint32_t *next;		/* next literal with the same first trigram, +1 */
	uint32_t *stamp;	/* scan number in which the literal was found */
	size_t n, cap;
	size_t scanned;		/* literals the last scan, or litset_rescan(), looked for */
	uint32_t bucket[LITSET_BUCKETS];	/* first literal of a bucket, +1 */
	uint32_t scan;
};

/* litset_create - an empty literal set */
struct litset *
litset_create(void)
{
	return xcalloc(1, sizeof(struct litset));
}

/* litset_free - release *lp and set it to NULL */
void
litset_free(struct litset **lp)
{
	struct litset *l = *lp;

	if (l == NULL)
		return;
	free(l->pool);
	free(l->off);
	free(l->lens);
	free(l->next);
	free(l->stamp);
	free(l);
	*lp = NULL;
}

/* litset_hash - bucket of a trigram */
static unsigned
litset_hash(const unsigned char *s)
{
	return ((unsigned)s[0] * 31u * 31u + (unsigned)s[1] * 31u + s[2]) % LITSET_BUCKETS;
}

/* litset_add - add a lower-cased literal; its id, or -1 */
int
litset_add(struct litset *l, const char *s, size_t n)
{
	char lit[LITSET_MAX + 1];
	unsigned h;

	if (n < LITSET_MIN)
		return -1;
	if (n > LITSET_MAX)
		n = LITSET_MAX;
	for (size_t i = 0; i < n; i++)
		lit[i] = litset_lower(s[i]);
	lit[n] = '\0';
	/* A literal already there shares its bucket: no need to look further. */
	h = litset_hash((const unsigned char *)lit);
	for (uint32_t k = l->bucket[h]; k != 0; k = l->next[k - 1])
		if (l->lens[k - 1] == n && memcmp(l->pool + l->off[k - 1], lit, n) == 0)
			return (int)(k - 1);
	/*
	 * One pool for the bytes of all the literals, not an allocation for
	 * each: a process that classifies one message touches fewer pages.
	 */
	if (l->pool_len + n > l->pool_cap) {
		l->pool_cap = l->pool_cap ? l->pool_cap * 2 : 4096;
		l->pool = xrealloc(l->pool, l->pool_cap);
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->off = xrealloc(l->off, l->cap * sizeof(*l->off));
		l->lens = xrealloc(l->lens, l->cap * sizeof(*l->lens));
		l->next = xrealloc(l->next, l->cap * sizeof(*l->next));
		l->stamp = xrealloc(l->stamp, l->cap * sizeof(*l->stamp));
	}
	memcpy(l->pool + l->pool_len, lit, n);
	l->off[l->n] = (uint32_t)l->pool_len;
	l->pool_len += n;
	l->lens[l->n] = (unsigned char)n;
	l->stamp[l->n] = 0;
	l->next[l->n] = l->bucket[h];
	l->bucket[h] = (uint32_t)(l->n + 1);
	return (int)l->n++;
}

/* litset_count - number of distinct literals */
size_t
litset_count(const struct litset *l)
{
	return l->n;
}

/* litset_scan - mark the literals that occur in text */
void
litset_scan(struct litset *l, const char *text, size_t n)
{
	const unsigned char *t = (const unsigned char *)text;

	/* A new scan number forgets the previous scan without clearing. */
	if (++l->scan == 0) {
		memset(l->stamp, 0, l->n * sizeof(*l->stamp));
		l->scan = 1;
	}
	for (size_t i = 0; i + LITSET_MIN <= n; i++) {
		for (uint32_t k = l->bucket[litset_hash(t + i)]; k != 0; k = l->next[k - 1]) {
			size_t id = k - 1, m = l->lens[id];

			if (l->stamp[id] != l->scan && m <= n - i &&
			    memcmp(t + i, l->pool + l->off[id], m) == 0)
				l->stamp[id] = l->scan;
		}
	}
	l->scanned = l->n;
}

/* litset_rescan - mark the literals added since the last scan that occur in text */
void
litset_rescan(struct litset *l, const char *text, size_t n)
{
	for (size_t id = l->scanned; id < l->n; id++)
		if (memmem(text, n, l->pool + l->off[id], l->lens[id]) != NULL)
			l->stamp[id] = l->scan;
	l->scanned = l->n;
}

/* litset_marks - each literal's mark; found in the last scan when it is *scan_r */
const uint32_t *
litset_marks(const struct litset *l, uint32_t *scan_r)
{
	*scan_r = l->scan;
	return l->stamp;
}

/* litset_found - whether a literal occurred in the last scan */
bool
litset_found(const struct litset *l, int id)
{
	return id >= 0 && (size_t)id < l->n && l->stamp[id] == l->scan;
}

/* --- required literals ------------------------------------------------ */

struct litrun {
	char buf[LITSET_MAX * 4];
	size_t len;
	size_t best_len;	/* the longest run so far, in best[] */
	char best[LITSET_MAX * 4];
};

/* litrun_end - close the current run, keeping it if it is the longest */
static void
litrun_end(struct litrun *r)
{
	if (r->len > r->best_len) {
		memcpy(r->best, r->buf, r->len);
		r->best_len = r->len;
	}
	r->len = 0;
}

/* litrun_put - extend the current run */
static void
litrun_put(struct litrun *r, char c)
{
	if (r->len < sizeof(r->buf))
		r->buf[r->len++] = litset_lower(c);
}

/* lit_skip_class - index just past the character class opening at p[i] */
static size_t
lit_skip_class(const char *p, size_t n, size_t i)
{
	i++;
	if (i < n && p[i] == '^')
		i++;
	if (i < n && p[i] == ']')
		i++;
	for (; i < n && p[i] != ']'; i++)
		if (p[i] == '\\')
			i++;
	return i < n ? i + 1 : n;
}

/* lit_skip_group - index just past the group opening at p[i], or n */
static size_t
lit_skip_group(const char *p, size_t n, size_t i)
{
	int depth = 0;

	for (; i < n; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '[')
			i = lit_skip_class(p, n, i) - 1;
		else if (p[i] == '(')
			depth++;
		else if (p[i] == ')' && --depth == 0)
			return i + 1;
	}
	return n;
}

/* lit_quantifier - at p[i]: 0 none, 1 may repeat (+, {n,} n>0), 2 optional */
static inline int
lit_quantifier(const char *p, size_t n, size_t i)
{
	if (i >= n)
		return 0;
	if (p[i] == '?' || p[i] == '*')
		return 2;
	if (p[i] == '+')
		return 1;
	if (p[i] == '{' && i + 1 < n && isdigit((unsigned char)p[i + 1]))
		return p[i + 1] == '0' ? 2 : 1;
	return 0;
}

/* lit_quantifier_end - index past a quantifier at p[i] (and its ?/+) */
static size_t
lit_quantifier_end(const char *p, size_t n, size_t i)
{
	if (p[i] == '{') {
		while (i < n && p[i] != '}')
			i++;
	}
	i++;
	if (i < n && (p[i] == '?' || p[i] == '+'))
		i++;
	return i;
}

static size_t lit_pattern(const char *p, size_t n, bool caseless,
			  void (*add)(void *, const char *, size_t), void *ctx, int depth, bool all);

/* lit_group_body - the span of a group's content, past "?:" and the like */
static bool
lit_group_body(const char *p, size_t start, size_t end, size_t *b, size_t *e)
{
	size_t i = start + 1;

	if (end < start + 2)
		return false;
	*e = end - 1;
	/* A verb such as (*ACCEPT) matches no text of its own. */
	if (i < *e && p[i] == '*')
		return false;
	if (i < *e && p[i] == '?') {
		i++;
		/* Look-arounds, comments and conditionals guarantee nothing. */
		if (i < *e && strchr("=!<#(|>", p[i]) != NULL)
			return false;
		while (i < *e && (isalpha((unsigned char)p[i]) || p[i] == '-' || p[i] == '^'))
			i++;
		if (i >= *e || p[i] != ':')
			return false;
		i++;
	}
	*b = i;
	return true;
}

/*
 * lit_pieces - for a top-level alternative, every piece it requires: its
 * longest run and each of its groups that requires literals, each piece
 * closed by add(ctx, NULL, LITSET_END_PIECE).  The number of literals.
 */
static size_t
lit_pieces(const char *p, size_t (*groups)[2], size_t ngroups, const struct litrun *r,
	   bool caseless, void (*add)(void *, const char *, size_t), void *ctx)
{
	size_t total = 0, b, e, count;

	if (r->best_len >= LITSET_MIN) {
		if (add != NULL) {
			add(ctx, r->best, r->best_len);
			add(ctx, NULL, LITSET_END_PIECE);
		}
		total++;
	}
	for (size_t g = 0; g < ngroups; g++) {
		if (!lit_group_body(p, groups[g][0], groups[g][1], &b, &e))
			continue;
		count = lit_pattern(p + b, e - b, caseless, add, ctx, 1, false);
		if (count > 0 && add != NULL)
			add(ctx, NULL, LITSET_END_PIECE);
		total += count;
	}
	return total;
}

/* lit_meta - whether c is a metacharacter that ends a literal run */
static bool
lit_meta(unsigned char c)
{
	switch (c) {
	case '.': case '^': case '$': case '|': case ')': case '*': case '+': case '?': case '{':
		return true;
	default:
		return false;
	}
}

/*
 * lit_alternative - literals one of which p[0..n) (no top-level '|')
 * requires, or with all (top level only) its pieces; 0 if none.
 */
static size_t
lit_alternative(const char *p, size_t n, bool caseless,
		void (*add)(void *, const char *, size_t), void *ctx, int depth, bool all)
{
	struct litrun r = { .len = 0 };
	size_t groups[16][2], ngroups = 0;

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)p[i];
		size_t next = i + 1;
		int q;

		if (c == '\\' && i + 1 < n) {
			unsigned char e = (unsigned char)p[i + 1];

			next = i + 2;
			if (isalnum(e) || e >= 0x80) {
				litrun_end(&r);
				i = next;
				continue;
			}
			c = e;
		} else if (c == '[' || c == '(') {
			next = c == '[' ? lit_skip_class(p, n, i) : lit_skip_group(p, n, i);
			q = lit_quantifier(p, n, next);
			if (c == '(' && q != 2 && ngroups < 16) {
				groups[ngroups][0] = i;
				groups[ngroups++][1] = next;
			}
			litrun_end(&r);
			i = q ? lit_quantifier_end(p, n, next) : next;
			continue;
		} else if (lit_meta(c) || (c >= 0x80 && caseless)) {
			/* Not a literal; skip any quantifier that applies to it. */
			litrun_end(&r);
			if (c == '{' && lit_quantifier(p, n, i) != 0)
				next = lit_quantifier_end(p, n, i);
			else if (lit_quantifier(p, n, next) != 0)
				next = lit_quantifier_end(p, n, next);
			i = next;
			continue;
		}
		q = lit_quantifier(p, n, next);
		if (q == 2) {
			litrun_end(&r);
		} else {
			litrun_put(&r, (char)c);
			if (q == 1)
				litrun_end(&r);
		}
		i = q ? lit_quantifier_end(p, n, next) : next;
	}
	litrun_end(&r);
	if (depth == 0 && all)
		return lit_pieces(p, groups, ngroups, &r, caseless, add, ctx);
	if (r.best_len >= LITSET_MIN) {
		if (add != NULL)
			add(ctx, r.best, r.best_len);
		return 1;
	}
	for (size_t g = 0; g < ngroups; g++) {
		size_t b, e, count;

		if (!lit_group_body(p, groups[g][0], groups[g][1], &b, &e))
			continue;
		count = lit_pattern(p + b, e - b, caseless, add, ctx, depth + 1, false);
		if (count > 0)
			return count;
	}
	return 0;
}

/*
 * A pattern's literals wait in a litbuf until every one of its
 * alternatives is known to require some, and only then go to the caller:
 * one pass over the pattern, where a first pass that only checked and a
 * second that added did the work twice at each level of groups (and
 * loading the rules spent most of its time here).
 */
struct litbuf {
	void (*add)(void *, const char *, size_t);
	void *ctx;
	char *data;		/* entries: a flag (literal or mark), a size_t, the bytes */
	size_t len, cap;
	/* Most groups keep a few literals: no allocation for them. */
	char local[256];
};

/* litbuf_init - an empty litbuf that hands its literals to add(ctx) */
static void
litbuf_init(struct litbuf *b, void (*add)(void *, const char *, size_t), void *ctx)
{
	b->add = add;
	b->ctx = ctx;
	b->data = b->local;
	b->len = 0;
	b->cap = sizeof(b->local);
}

/* litbuf_release - free what b allocated */
static void
litbuf_release(struct litbuf *b)
{
	if (b->data != b->local)
		free(b->data);
}

/* litbuf_add - the add() callback that keeps a literal or a mark for later */
static void
litbuf_add(void *ctx, const char *s, size_t n)
{
	struct litbuf *b = ctx;
	size_t need = 1 + sizeof(n) + (s != NULL ? n : 0);

	if (b->len + need > b->cap) {
		b->cap = b->cap * 2 > b->len + need ? b->cap * 2 : b->len + need + 256;
		if (b->data == b->local) {
			b->data = xmalloc(b->cap);
			memcpy(b->data, b->local, b->len);
		} else {
			b->data = xrealloc(b->data, b->cap);
		}
	}
	b->data[b->len++] = s != NULL;
	memcpy(b->data + b->len, &n, sizeof(n));
	b->len += sizeof(n);
	if (s != NULL) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
	}
}

/* litbuf_flush - hand what b kept to its caller's add(), in order */
static void
litbuf_flush(const struct litbuf *b)
{
	for (size_t i = 0; i < b->len;) {
		bool literal = b->data[i++] != 0;
		size_t n;

		memcpy(&n, b->data + i, sizeof(n));
		i += sizeof(n);
		b->add(b->ctx, literal ? b->data + i : NULL, n);
		if (literal)
			i += n;
	}
}

/*
 * lit_pattern - literals for a pattern with top-level alternatives; with
 * all, each alternative's pieces closed by add(ctx, NULL, LITSET_END_ALT).
 * Nothing is added unless every alternative requires something.
 */
static size_t
lit_pattern(const char *p, size_t n, bool caseless, void (*add)(void *, const char *, size_t),
	    void *ctx, int depth, bool all)
{
	struct litbuf b;
	size_t start = 0, total = 0, count;
	int gdepth = 0;

	if (depth > 8)
		return 0;
	litbuf_init(&b, add, ctx);
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] == '\\') {
			i++;
			continue;
		}
		if (i < n && p[i] == '[') {
			i = lit_skip_class(p, n, i) - 1;
			continue;
		}
		if (i < n && p[i] == '(')
			gdepth++;
		else if (i < n && p[i] == ')')
			gdepth--;
		if (i < n && !(p[i] == '|' && gdepth == 0))
			continue;
		count = lit_alternative(p + start, i - start, caseless,
					add != NULL ? litbuf_add : NULL, &b, depth, all);
		if (count == 0) {
			litbuf_release(&b);
			return 0;
		}
		total += count;
		if (all && add != NULL)
			litbuf_add(&b, NULL, LITSET_END_ALT);
		start = i + 1;
	}
	if (add != NULL)
		litbuf_flush(&b);
	litbuf_release(&b);
	return total;
}

/* litset_required - the literals any match of a pattern must contain */
size_t
litset_required(const char *pattern, size_t len, bool caseless,
		void (*add)(void *ctx, const char *s, size_t n), void *ctx)
{
	return lit_pattern(pattern, len, caseless, add, ctx, 0, false);
}

/* litset_required_all - every piece of literals each alternative requires */
size_t
litset_required_all(const char *pattern, size_t len, bool caseless,
		    void (*add)(void *ctx, const char *s, size_t n), void *ctx)
{
	return lit_pattern(pattern, len, caseless, add, ctx, 0, true);
}
