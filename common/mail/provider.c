/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * provider - domain suffixes of the providers whose replies need their
 * own reading, as the @provider lines of the rule files list them.  The
 * table is small (about a hundred suffixes): a linear scan whose first
 * test is the suffix's last character costs less than hashing the host.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/caps.h"
#include "mail/provider.h"
#include "util/xalloc.h"

struct provider_suffix {
	char *suffix;		/* lower case, no trailing dot */
	size_t len;
	char *name;
};

struct provider_table {
	struct provider_suffix *v;
	size_t n, cap;
};

/* provider_table_create - an empty table */
struct provider_table *
provider_table_create(void)
{
	return xcalloc(1, sizeof(struct provider_table));
}

/* provider_table_free - release *tp and set it to NULL */
void
provider_table_free(struct provider_table **tp)
{
	struct provider_table *t = *tp;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].suffix);
		free(t->v[i].name);
	}
	free(t->v);
	free(t);
	*tp = NULL;
}

/* provider_word - whether s is a well-formed name or domain suffix */
static bool
provider_word(const char *s, bool domain)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '-' && !(domain && c == '.') && !(!domain && c == '_'))
			return false;
	}
	return true;
}

/* provider_add - add one domain suffix of a provider */
bool
provider_add(struct provider_table *t, const char *name, const char *suffix)
{
	struct provider_suffix *p;

	if (!provider_word(name, false) || !provider_word(suffix, true) ||
	    t->n >= LIMIT_PROVIDER_SUFFIXES)
		return false;
	for (const char *c = name; *c != '\0'; c++)
		if (isupper((unsigned char)*c))
			return false;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	p = &t->v[t->n++];
	p->suffix = xstrdup(suffix);
	for (char *c = p->suffix; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	p->len = strlen(suffix);
	p->name = xstrdup(name);
	return true;
}

/* provider_of - the provider of a host or domain */
const char *
provider_of(const struct provider_table *t, const char *host)
{
	size_t n;

	if (t == NULL || host == NULL)
		return NULL;
	n = strlen(host);
	while (n > 0 && host[n - 1] == '.')
		n--;
	for (size_t i = 0; i < t->n; i++) {
		const struct provider_suffix *p = &t->v[i];
		size_t m = p->len;

		/* The last character rules most suffixes out cheaply. */
		if (n < m || tolower((unsigned char)host[n - 1]) != p->suffix[m - 1])
			continue;
		if (strncasecmp(host + n - m, p->suffix, m) == 0 &&
		    (n == m || host[n - m - 1] == '.'))
			return p->name;
	}
	return NULL;
}

/* provider_valid - whether a name is a provider name */
bool
provider_valid(const struct provider_table *t, const char *name)
{
	for (size_t i = 0; t != NULL && i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return true;
	return false;
}

/* provider_count - suffixes in the table */
size_t
provider_count(const struct provider_table *t)
{
	return t != NULL ? t->n : 0;
}
