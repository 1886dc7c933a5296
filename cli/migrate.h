/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_MIGRATE_H
#define REBOUND_MIGRATE_H

#include <stddef.h>

/*
 * migrate - the schema migration files, as "rebound db migrate" finds them.
 *
 * A migration is a plain SQL file named NNN_description.sql in the
 * migrations directory; NNN is its version.  Each file wraps itself in a
 * transaction and inserts its own row into rebound.schema_version, so
 * applying it with this module or with psql and sql/rebound.sql records
 * the same thing.  This module only finds and reads the files; it is pure
 * apart from reading the directory it is given, and never logs.
 */
struct migration {
	int version;
	char *name;		/* "004_policy.sql" */
	char *path;		/* directory/name */
};

struct migration_set;

/*
 * migrate_dir - the migrations directory: option when given, else
 * $REBOUND_DATADIR/sql/migrations, else the installed
 * REBOUND_DATADIR/sql/migrations.  Free the result with free().
 */
char *migrate_dir(const char *option);

/* migrate_version - the version a file name declares, or -1 if it is no migration */
int migrate_version(const char *name);

/*
 * migrate_scan - the migrations in dir, sorted by version.  Two files
 * with one version are an error.  -1 and *error_r (free it) on error.
 */
int migrate_scan(const char *dir, struct migration_set **set_r, char **error_r);

/* migrate_set_free - release *setp and set it to NULL; accepts NULL */
void migrate_set_free(struct migration_set **setp);

size_t migrate_count(const struct migration_set *set);
const struct migration *migrate_at(const struct migration_set *set, size_t i);

/* migrate_find - the migration of a version, or NULL */
const struct migration *migrate_find(const struct migration_set *set, int version);

/* migrate_read - the text of a migration file (free it); -1 and *error_r */
int migrate_read(const struct migration *m, char **text_r, char **error_r);

#endif
