/* SPDX-License-Identifier: BSD-2-Clause */
/* migrate - find and read the schema migration files. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "migrate.h"
#include "util/xalloc.h"

#ifndef REBOUND_DATADIR
#define REBOUND_DATADIR "/usr/local/share/rebound"
#endif

/* A migration file larger than this is a mistake, not a schema change. */
#define MIGRATE_FILE_MAX	(4 * 1024 * 1024)

/* More migration files than this in one directory is a mistake too. */
#define MIGRATE_FILES_MAX	10000

struct migration_set {
	struct migration *items;
	size_t n;
};

char *
migrate_dir(const char *option)
{
	const char *datadir = getenv("REBOUND_DATADIR");
	char *dir;
	size_t len;

	if (option != NULL && *option != '\0')
		return xstrdup(option);
	if (datadir == NULL || *datadir == '\0')
		datadir = REBOUND_DATADIR;
	len = strlen(datadir) + sizeof("/sql/migrations");
	dir = xmalloc(len);
	snprintf(dir, len, "%s/sql/migrations", datadir);
	return dir;
}

int
migrate_version(const char *name)
{
	size_t digits = strspn(name, "0123456789");
	size_t len = strlen(name);
	long v;

	if (digits == 0 || digits > 9 || name[digits] != '_' || len < digits + 5 ||
	    strcmp(name + len - 4, ".sql") != 0)
		return -1;
	v = strtol(name, NULL, 10);
	return v > 0 ? (int)v : -1;
}

static int
migrate_compare(const void *a, const void *b)
{
	const struct migration *ma = a, *mb = b;

	return (ma->version > mb->version) - (ma->version < mb->version);
}

/* migrate_error - an allocated "what: detail" message */
static char *
migrate_error(const char *what, const char *name, const char *detail)
{
	size_t len = strlen(what) + strlen(name) + strlen(detail) + 8;
	char *text = xmalloc(len);

	snprintf(text, len, "%s %s: %s", what, name, detail);
	return text;
}

int
migrate_scan(const char *dir, struct migration_set **set_r, char **error_r)
{
	struct migration_set *set;
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		*error_r = migrate_error("open directory", dir, strerror(errno));
		return -1;
	}
	set = xcalloc(1, sizeof(*set));
	while ((de = readdir(d)) != NULL) {
		int version = migrate_version(de->d_name);
		size_t len;

		if (version < 0)
			continue;
		if (set->n == MIGRATE_FILES_MAX) {
			*error_r = migrate_error("directory", dir, "too many migration files");
			goto fail;
		}
		if (set->n == cap) {
			cap = cap ? cap * 2 : 16;
			set->items = xrealloc(set->items, cap * sizeof(*set->items));
		}
		set->items[set->n].version = version;
		set->items[set->n].name = xstrdup(de->d_name);
		len = strlen(dir) + strlen(de->d_name) + 2;
		set->items[set->n].path = xmalloc(len);
		snprintf(set->items[set->n].path, len, "%s/%s", dir, de->d_name);
		set->n++;
	}
	closedir(d);
	d = NULL;
	if (set->n > 0)
		qsort(set->items, set->n, sizeof(*set->items), migrate_compare);
	for (size_t i = 1; i < set->n; i++) {
		if (set->items[i].version == set->items[i - 1].version) {
			*error_r = migrate_error("migrations", set->items[i - 1].name,
						 "another file has the same version");
			goto fail;
		}
	}
	*set_r = set;
	return 0;
fail:
	if (d != NULL)
		closedir(d);
	migrate_set_free(&set);
	return -1;
}

void
migrate_set_free(struct migration_set **setp)
{
	struct migration_set *set = *setp;

	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++) {
		free(set->items[i].name);
		free(set->items[i].path);
	}
	free(set->items);
	free(set);
	*setp = NULL;
}

size_t
migrate_count(const struct migration_set *set)
{
	return set->n;
}

const struct migration *
migrate_at(const struct migration_set *set, size_t i)
{
	return i < set->n ? &set->items[i] : NULL;
}

const struct migration *
migrate_find(const struct migration_set *set, int version)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->items[i].version == version)
			return &set->items[i];
	return NULL;
}

int
migrate_read(const struct migration *m, char **text_r, char **error_r)
{
	struct buf *text;
	char chunk[8192];
	size_t n;
	FILE *fp;

	if ((fp = fopen(m->path, "r")) == NULL) {
		*error_r = migrate_error("open", m->path, strerror(errno));
		return -1;
	}
	text = buf_create(MIGRATE_FILE_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (buf_append(text, chunk, n) < 0 || memchr(chunk, '\0', n) != NULL) {
			*error_r = migrate_error("read", m->path, "too large, or not text");
			goto fail;
		}
	}
	if (ferror(fp)) {
		*error_r = migrate_error("read", m->path, strerror(errno));
		goto fail;
	}
	fclose(fp);
	*text_r = buf_detach(&text, NULL);
	return 0;
fail:
	fclose(fp);
	buf_free(&text);
	return -1;
}
