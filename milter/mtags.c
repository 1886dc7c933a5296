/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mtags - parse X-Rebound-Tag header values into a small bounded map.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "mtags.h"
#include "util/xalloc.h"

struct mtags {
	size_t n;
	char key[MTAGS_MAX][MTAGS_KEY_MAX + 1];
	char value[MTAGS_MAX][MTAGS_VALUE_MAX + 1];
};

struct mtags *
mtags_create(void)
{
	return xcalloc(1, sizeof(struct mtags));
}

void
mtags_free(struct mtags **tagsp)
{
	xfree(tagsp);
}

size_t
mtags_count(const struct mtags *tags)
{
	return tags->n;
}

static bool
mtags_key_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.';
}

/* mtags_trim - the bounds of [*s, *e) without surrounding white space */
static void
mtags_trim(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/* mtags_set - set key to value in t; -1 when t is full */
static int
mtags_set(struct mtags *t, const char *k, size_t klen, const char *v, size_t vlen)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strlen(t->key[i]) == klen && memcmp(t->key[i], k, klen) == 0)
			break;
	if (i == t->n) {
		if (t->n == MTAGS_MAX)
			return -1;
		t->n++;
	}
	memcpy(t->key[i], k, klen);
	t->key[i][klen] = '\0';
	memcpy(t->value[i], v, vlen);
	t->value[i][vlen] = '\0';
	return 0;
}

int
mtags_parse(struct mtags *tags, const char *value, const char **error_r)
{
	/*
	 * Work on a copy, so that a header that fails half-way leaves the
	 * tags as they were.
	 */
	struct mtags copy = *tags;
	const char *p = value;
	size_t added = 0;

	for (;;) {
		const char *end = p + strcspn(p, ";");
		const char *eq = memchr(p, '=', (size_t)(end - p));
		const char *ks = p, *ke, *vs, *ve = end;

		if (eq == NULL) {
			ke = end;
			mtags_trim(&ks, &ke);
			if (ks != ke) {
				*error_r = "tag without '='";
				return -1;
			}
		} else {
			ke = eq;
			vs = eq + 1;
			mtags_trim(&ks, &ke);
			mtags_trim(&vs, &ve);
			if (ks == ke) {
				*error_r = "empty tag name";
				return -1;
			}
			if ((size_t)(ke - ks) > MTAGS_KEY_MAX) {
				*error_r = "tag name too long";
				return -1;
			}
			for (const char *c = ks; c < ke; c++)
				if (!mtags_key_char((unsigned char)*c)) {
					*error_r = "bad character in tag name";
					return -1;
				}
			if ((size_t)(ve - vs) > MTAGS_VALUE_MAX) {
				*error_r = "tag value too long";
				return -1;
			}
			for (const char *c = vs; c < ve; c++)
				if (*c < 0x20 || *c > 0x7e) {
					if (*c == '\t')
						continue;
					*error_r = "bad character in tag value";
					return -1;
				}
			if (mtags_set(&copy, ks, (size_t)(ke - ks), vs, (size_t)(ve - vs)) < 0) {
				*error_r = "too many tags";
				return -1;
			}
			added++;
		}
		if (*end == '\0')
			break;
		p = end + 1;
	}
	if (added == 0) {
		*error_r = "no tags";
		return -1;
	}
	*tags = copy;
	return 0;
}

/* mtags_json_string - append s as a JSON string */
static void
mtags_json_string(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, *s);
		} else if ((unsigned char)*s < 0x20) {
			buf_printf(b, "\\u%04x", (unsigned char)*s);
		} else {
			buf_putc(b, *s);
		}
	}
	buf_putc(b, '"');
}

char *
mtags_json(const struct mtags *tags)
{
	/* Worst case: every character escaped as \u00xx. */
	struct buf *b = buf_create(MTAGS_MAX * (MTAGS_KEY_MAX + MTAGS_VALUE_MAX) * 6 + 64);

	buf_putc(b, '{');
	for (size_t i = 0; i < tags->n; i++) {
		if (i > 0)
			buf_puts(b, ", ");
		mtags_json_string(b, tags->key[i]);
		buf_puts(b, ": ");
		mtags_json_string(b, tags->value[i]);
	}
	buf_putc(b, '}');
	return buf_detach(&b, NULL);
}
