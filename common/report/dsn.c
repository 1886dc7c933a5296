/* SPDX-License-Identifier: BSD-2-Clause */
/* dsn - RFC 3464 field groups. */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/address.h"
#include "util/buf.h"
#include "report/dsn.h"
#include "util/caps.h"
#include "util/utf8.h"
#include "util/xalloc.h"

/* dsn_line - length of the line at p; *next is set past its line end */
static size_t
dsn_line(const char *p, const char *end, const char **next)
{
	const char *q = memchr(p, '\n', (size_t)(end - p)), *cr;
	size_t n;

	/* The line ends at the first LF or CR: memchr(3) finds both faster than a loop. */
	if (q == NULL)
		q = end;
	if ((cr = memchr(p, '\r', (size_t)(q - p))) != NULL)
		q = cr;
	n = (size_t)(q - p);
	if (q < end && *q == '\r')
		q++;
	if (q < end && *q == '\n')
		q++;
	*next = q;
	return n;
}

static int
dsn_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)p[i]))
			return 0;
	return 1;
}

/*
 * Arrays grow by doubling, so their capacity is the next power of two of
 * their length: an array of n elements is full when n is 0 or a power of
 * two, and then gets room for twice as many.
 */
static bool
dsn_full(size_t n)
{
	return (n & (n - 1)) == 0;
}

static size_t
dsn_room(size_t n)
{
	return n == 0 ? 1 : n * 2;
}

/*
 * dsn_add_field - start a new field in group g from "Name: value"; its
 * value is collected in val (reused from field to field).  Returns whether
 * a field was started.
 */
static bool
dsn_add_field(struct dsn *d, struct dsn_group *g, const char *line, size_t n, struct buf *val)
{
	const char *colon = memchr(line, ':', n);
	size_t name_len;

	if (colon == NULL)
		return false;
	name_len = (size_t)(colon - line);
	while (name_len > 0 && isspace((unsigned char)line[name_len - 1]))
		name_len--;
	if (name_len == 0 || name_len > 64 || memchr(line, ' ', name_len) != NULL)
		return false;
	if (g->nfields == LIMIT_DSN_FIELDS) {
		d->truncated = 1;
		return false;
	}
	if (dsn_full(g->nfields))
		g->fields = xrealloc(g->fields, dsn_room(g->nfields) * sizeof(*g->fields));
	g->fields[g->nfields].name = xstrndup(line, name_len);
	g->fields[g->nfields].value = NULL;
	g->nfields++;
	buf_reset(val);
	colon++;
	n -= (size_t)(colon - line);
	while (n > 0 && isspace((unsigned char)*colon))
		colon++, n--;
	if (n > LIMIT_FIELD_LEN)
		d->truncated = 1;
	buf_append_partial(val, colon, n);
	return true;
}

/* dsn_close_field - store the value being collected, if a field is open */
static void
dsn_close_field(struct dsn_group *g, struct buf *val, bool *open)
{
	size_t len = buf_len(val);
	const char *s = buf_str(val);

	if (!*open)
		return;
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	/* A NUL must not end the value where the sender chose. */
	g->fields[g->nfields - 1].value = utf8_strndup(s, len, NULL);
	*open = false;
}

static struct dsn_group *
dsn_new_group(struct dsn *d)
{
	struct dsn_group *g;

	if (d->ngroups == LIMIT_RECIPIENTS + 1) {
		d->truncated = 1;
		d->groups_cut = 1;
		return NULL;
	}
	if (dsn_full(d->ngroups))
		d->groups = xrealloc(d->groups, dsn_room(d->ngroups) * sizeof(*d->groups));
	g = &d->groups[d->ngroups++];
	g->nfields = 0;
	g->fields = NULL;
	return g;
}

struct dsn *
dsn_parse(const char *text, size_t len)
{
	struct dsn *d = xcalloc(1, sizeof(*d));
	const char *p = text, *end = text + len;
	struct dsn_group *g = NULL;
	struct buf *val = buf_create(LIMIT_FIELD_LEN);
	bool open = false;
	int dropping = 0;

	while (p < end) {
		const char *next;
		size_t n = dsn_line(p, end, &next);
		const char *line = p;

		p = next;
		if (dsn_blank(line, n)) {
			dsn_close_field(g, val, &open);
			g = NULL;
			dropping = 0;
			continue;
		}
		if (isspace((unsigned char)*line)) {
			/* A continuation line: one space replaces the fold. */
			while (n > 0 && isspace((unsigned char)*line))
				line++, n--;
			if (open && (buf_putc(val, ' ') < 0 || buf_append_partial(val, line, n) < n))
				d->truncated = 1;
			continue;
		}
		dsn_close_field(g, val, &open);
		if (dropping)
			continue;
		/* A second Final-Recipient without a blank line starts a new group. */
		if (g != NULL && n > 16 && strncasecmp(line, "Final-Recipient:", 16) == 0 &&
		    dsn_get(g, "Final-Recipient") != NULL)
			g = NULL;
		if (g == NULL && (g = dsn_new_group(d)) == NULL) {
			dropping = 1;
			continue;
		}
		open = dsn_add_field(d, g, line, n, val);
	}
	dsn_close_field(g, val, &open);
	buf_free(&val);
	/* Drop groups that held no field at all. */
	for (size_t i = 0; i < d->ngroups;) {
		if (d->groups[i].nfields == 0) {
			free(d->groups[i].fields);
			memmove(&d->groups[i], &d->groups[i + 1],
				(d->ngroups - i - 1) * sizeof(*d->groups));
			d->ngroups--;
		} else {
			i++;
		}
	}
	return d;
}

void
dsn_free(struct dsn **dp)
{
	struct dsn *d = *dp;

	if (d == NULL)
		return;
	for (size_t i = 0; i < d->ngroups; i++) {
		for (size_t j = 0; j < d->groups[i].nfields; j++) {
			free(d->groups[i].fields[j].name);
			free(d->groups[i].fields[j].value);
		}
		free(d->groups[i].fields);
	}
	free(d->groups);
	free(d);
	*dp = NULL;
}

const char *
dsn_get(const struct dsn_group *g, const char *name)
{
	/*
	 * Names equal in any case have first bytes equal but for bit 0x20:
	 * the cheap test spares strcasecmp() most fields of a group.
	 */
	for (size_t i = 0; i < g->nfields; i++)
		if ((g->fields[i].name[0] | 0x20) == (name[0] | 0x20) &&
		    strcasecmp(g->fields[i].name, name) == 0)
			return g->fields[i].value;
	return NULL;
}

const char *
dsn_typed_value(const char *value, char **type_r)
{
	const char *semi = strchr(value, ';');
	size_t tlen;

	*type_r = NULL;
	if (semi == NULL)
		return value;
	tlen = (size_t)(semi - value);
	while (tlen > 0 && isspace((unsigned char)value[tlen - 1]))
		tlen--;
	/* A type is a short atom such as rfc822, smtp, x-postfix, utf-8. */
	if (tlen == 0 || tlen > 32)
		return value;
	for (size_t i = 0; i < tlen; i++)
		if (!(isalnum((unsigned char)value[i]) || value[i] == '-' || value[i] == '_'))
			return value;
	*type_r = xstrndup(value, tlen);
	for (char *t = *type_r; *t != '\0'; t++)
		*t = (char)tolower((unsigned char)*t);
	for (semi++; isspace((unsigned char)*semi); semi++)
		;
	return semi;
}

/*
 * dsn_type_prefix - length of an address type written before an address
 * with '=' ("SMTP=", "RFC822="), as Lotus Notes and some gateways do, or 0
 */
size_t
dsn_type_prefix(const char *s, size_t n)
{
	static const char *const types[] = { "smtp=", "rfc822=" };

	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		size_t m = strlen(types[k]);

		if (n > m && strncasecmp(s, types[k], m) == 0)
			return m;
	}
	return 0;
}

/* dsn_address_type_ok - an address type (RFC 3464 2.3.2): rfc822, utf-8 or x-... */
static bool
dsn_address_type_ok(const char *type)
{
	return type == NULL || strcmp(type, "rfc822") == 0 || strcmp(type, "utf-8") == 0 ||
	       strncmp(type, "x-", 2) == 0 || strcmp(type, "unknown") == 0;
}

/*
 * dsn_address_span - where the address of a field value is: inside <...>
 * when there are brackets, else the first word (a quoted local part may
 * hold spaces), without the quotes or punctuation some MTAs put around it
 */
static void
dsn_address_span(const char *s, const char **start_r, size_t *len_r)
{
	const char *start, *stop;

	if ((start = strchr(s, '<')) != NULL && (stop = strchr(start, '>')) != NULL) {
		*start_r = start + 1;
		*len_r = (size_t)(stop - start - 1);
		return;
	}
	while (isspace((unsigned char)*s))
		s++;
	start = s;
	if (*s == '"') {
		for (s++; *s != '\0' && *s != '"'; s++)
			if (*s == '\\' && s[1] != '\0')
				s++;
		if (*s == '"')
			s++;
	}
	stop = s + strcspn(s, " \t\r\n");
	/* 'user@example.com' and user@example.com, as prose writes them */
	if (stop - start >= 2 && *start == '\'' && stop[-1] == '\'')
		start++, stop--;
	while (stop > start && strchr(",;.", stop[-1]) != NULL)
		stop--;
	*start_r = start;
	*len_r = (size_t)(stop - start);
}

char *
dsn_address(const char *value)
{
	char *type = NULL;
	const char *s = dsn_typed_value(value, &type);
	const char *start;
	size_t len, prefix;
	bool type_ok = dsn_address_type_ok(type);

	free(type);
	/*
	 * "obrien;drop--@x.example" is no address of type "obrien": taken as
	 * one, its tail would name someone else.
	 */
	if (!type_ok)
		return NULL;
	dsn_address_span(s, &start, &len);
	/* "rfc822; SMTP=user@example.com" (Lotus Notes): the type again. */
	prefix = dsn_type_prefix(start, len);
	return address_normalize(start + prefix, len - prefix);
}
