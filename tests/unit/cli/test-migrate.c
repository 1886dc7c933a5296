/* SPDX-License-Identifier: BSD-2-Clause */
/* test-migrate - migration file names, scanning and ordering. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migrate.h"
#include "tap.h"

static void
touch(const char *dir, const char *name)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) != NULL) {
		fputs("SELECT 1;\n", fp);
		fclose(fp);
	}
}

static void
cleanup(const char *dir, const char *const *names, size_t n)
{
	char path[512];

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int
main(void)
{
	static const struct {
		const char *name;
		int version;
	} names[] = {
		{ "001_initial.sql", 1 },    { "004_policy.sql", 4 },  { "10_x.sql", 10 },
		{ "001_initial.sql~", -1 },  { "README", -1 },         { "_001.sql", -1 },
		{ "001.sql", -1 },           { "000_zero.sql", -1 },   { "x001_a.sql", -1 },
		{ "0000000001_a.sql", -1 },  { "003_.sql", 3 },
	};
	static const char *const files[] = { "010_c.sql", "002_b.sql", "001_a.sql", "notes.txt",
					     "002_dup.sql" };
	char tmpl[] = "/tmp/test-migrate.XXXXXX";
	struct migration_set *set = NULL;
	char *dir, *error = NULL, *text = NULL;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		tap_is_int(migrate_version(names[i].name), names[i].version, "version of %s",
			   names[i].name);

	dir = migrate_dir("/opt/x");
	tap_is_str(dir, "/opt/x", "--dir wins");
	free(dir);
	setenv("REBOUND_DATADIR", "/src/tree", 1);
	dir = migrate_dir(NULL);
	tap_is_str(dir, "/src/tree/sql/migrations", "REBOUND_DATADIR next");
	free(dir);
	unsetenv("REBOUND_DATADIR");
	dir = migrate_dir(NULL);
	tap_is_str(dir, REBOUND_DATADIR "/sql/migrations", "then the installed data directory");
	free(dir);

	tap_is_int(migrate_scan("sql/migrations", &set, &error), 0, "scan sql/migrations");
	tap_ok(set != NULL && migrate_count(set) >= 3, "the tree has its migrations");
	for (size_t i = 1; set != NULL && i < migrate_count(set); i++)
		tap_ok(migrate_at(set, i - 1)->version < migrate_at(set, i)->version,
		       "%s before %s", migrate_at(set, i - 1)->name, migrate_at(set, i)->name);
	if (set != NULL) {
		tap_is_int(migrate_read(migrate_find(set, 1), &text, &error), 0, "read 001");
		tap_ok(text != NULL && strstr(text, "INSERT INTO rebound.schema_version") != NULL,
		       "a migration records its own version");
		free(text);
	}
	migrate_set_free(&set);
	tap_ok(set == NULL, "migrate_set_free clears the pointer");

	tap_ok(mkdtemp(tmpl) != NULL, "temporary directory");
	for (size_t i = 0; i < 4; i++)
		touch(tmpl, files[i]);
	tap_is_int(migrate_scan(tmpl, &set, &error), 0, "scan a directory in disorder");
	tap_is_int(set ? (long long)migrate_count(set) : -1, 3, "only NNN_name.sql files count");
	tap_is_str(set ? migrate_at(set, 0)->name : NULL, "001_a.sql", "sorted by version (1)");
	tap_is_str(set ? migrate_at(set, 2)->name : NULL, "010_c.sql", "sorted by version (10)");
	migrate_set_free(&set);
	touch(tmpl, files[4]);
	tap_is_int(migrate_scan(tmpl, &set, &error), -1, "two files with one version");
	tap_ok(error != NULL && strstr(error, "same version") != NULL, "error says so: %s",
	       error ? error : "");
	free(error);
	error = NULL;
	cleanup(tmpl, files, 5);
	tap_is_int(migrate_scan("/nonexistent/dir", &set, &error), -1, "missing directory");
	tap_ok(error != NULL && strstr(error, "/nonexistent/dir") != NULL, "error names it");
	free(error);
	return tap_done();
}
