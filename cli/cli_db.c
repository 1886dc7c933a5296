/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_db - "rebound db migrate", "rebound db status" and "rebound db maintain".
 *
 * migrate does what "psql -f sql/rebound.sql" does, through libpq: it
 * creates the schema and rebound.schema_version if they are missing (the
 * same statements as the head of sql/rebound.sql), then runs each
 * migration file whose version is not recorded, in order, each once.
 * The files record their own versions, so either way of applying them
 * leaves the same database, and the two may be mixed.  A session advisory
 * lock (the key the files lock) keeps two migrators from racing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "migrate.h"
#include "util/msg.h"
#include "util/xalloc.h"

/* The head of sql/rebound.sql, statement for statement. */
static const char db_bootstrap[] =
	"SET client_min_messages = warning;\n"
	"CREATE SCHEMA IF NOT EXISTS rebound;\n"
	"CREATE TABLE IF NOT EXISTS rebound.schema_version (\n"
	"    version     integer PRIMARY KEY,\n"
	"    description text NOT NULL,\n"
	"    applied_at  timestamptz NOT NULL DEFAULT now()\n"
	");\n";

/* db_scan - the migration files of --dir or the data directory */
static int
db_scan(struct cli *cli, struct migration_set **set_r)
{
	char *dir = migrate_dir(cli->args.dir), *error = NULL;

	if (migrate_scan(dir, set_r, &error) < 0) {
		msg_error("%s", error);
		msg_info("hint: name the migrations directory with --dir DIR, or the data "
			 "directory with REBOUND_DATADIR (it holds sql/migrations)");
		free(error);
		free(dir);
		return EX_NOINPUT;
	}
	free(dir);
	return 0;
}

/* db_applied - whether version v is recorded */
static int
db_applied(const PGresult *res, int v)
{
	for (int r = 0; r < PQntuples(res); r++)
		if (atoi(PQgetvalue(res, r, 0)) == v)
			return 1;
	return 0;
}

/* db_apply - run one migration file and check that it recorded itself */
static int
db_apply(struct cli *cli, const struct migration *m)
{
	char *sql = NULL, *error = NULL, version[16];
	const char *values[1] = { version };
	PGresult *res;
	int status = 0;

	if (migrate_read(m, &sql, &error) < 0) {
		msg_error("%s", error);
		free(error);
		return EX_NOINPUT;
	}
	if (db_exec_script(cli->db, sql, &error) < 0) {
		free(sql);
		db_rollback(cli->db);
		return cli_db_failure(cli, m->name, error);
	}
	free(sql);
	snprintf(version, sizeof(version), "%d", m->version);
	res = cli_query(cli, m->name, "SELECT 1 FROM rebound.schema_version WHERE version = $1::int",
			1, values, PGRES_TUPLES_OK, &status);
	if (res == NULL)
		return status;
	if (PQntuples(res) != 1) {
		msg_error("%s ran but did not record version %d in rebound.schema_version",
			  m->name, m->version);
		status = EX_DATAERR;
	}
	PQclear(res);
	return status;
}

/* db_report - the outcome of migrate, for people or as JSON */
static void
db_report(struct cli *cli, const struct migration **done, size_t ndone, const PGresult *versions)
{
	if (cli->args.json) {
		fputs("{\"applied\":[", cli->out);
		for (size_t i = 0; i < ndone; i++) {
			fputs(i ? "," : "", cli->out);
			table_json_string(done[i]->name, cli->out);
		}
		fputs("],\"versions\":[", cli->out);
		for (int r = 0; r < PQntuples(versions); r++)
			fprintf(cli->out, "%s%s", r ? "," : "", PQgetvalue(versions, r, 0));
		fputs("]}\n", cli->out);
		return;
	}
	for (size_t i = 0; i < ndone; i++)
		fprintf(cli->out, "applied %s\n", done[i]->name);
	fprintf(cli->out, "%s; versions", ndone ? "the database is up to date" : "nothing to do");
	for (int r = 0; r < PQntuples(versions); r++)
		fprintf(cli->out, "%s %s", r ? "," : "", PQgetvalue(versions, r, 0));
	fputc('\n', cli->out);
}

/* db_versions - the recorded versions, in order */
static PGresult *
db_versions(struct cli *cli, int *status_r)
{
	return cli_query(cli, "schema versions",
			 "SELECT version FROM rebound.schema_version ORDER BY version", 0, NULL,
			 PGRES_TUPLES_OK, status_r);
}

/* db_migrate_locked - the work of migrate, under the advisory lock */
static int
db_migrate_locked(struct cli *cli, const struct migration_set *set)
{
	const struct migration **done = xcalloc(migrate_count(set) + 1, sizeof(*done));
	PGresult *res = NULL;
	char *error = NULL;
	size_t ndone = 0;
	int status = 0;

	if (db_exec_script(cli->db, db_bootstrap, &error) < 0) {
		status = cli_db_failure(cli, "create schema rebound", error);
		goto out;
	}
	if ((res = db_versions(cli, &status)) == NULL)
		goto out;
	for (size_t i = 0; i < migrate_count(set); i++) {
		const struct migration *m = migrate_at(set, i);

		if (db_applied(res, m->version))
			continue;
		if ((status = db_apply(cli, m)) != 0) {
			msg_info("the migrations before %s are applied; fix the problem and run "
				 "'rebound db migrate' again", m->name);
			goto out;
		}
		done[ndone++] = m;
	}
	PQclear(res);
	if ((res = db_versions(cli, &status)) == NULL)
		goto out;
	for (int r = 0; r < PQntuples(res); r++)
		if (migrate_find(set, atoi(PQgetvalue(res, r, 0))) == NULL)
			msg_warn("the database has version %s, which %s does not hold: "
				 "is this rebound older than the database?",
				 PQgetvalue(res, r, 0), cli->args.dir ? cli->args.dir : "the data directory");
	db_report(cli, done, ndone, res);
out:
	PQclear(res);
	free(done);
	return status;
}

int
cli_db_migrate(struct cli *cli, int argc, char **argv)
{
	struct migration_set *set = NULL;
	PGresult *res;
	char *error = NULL;
	int status;

	(void)argv;
	if (argc > 0)
		return cli_usage(cli->cmd, "migrate takes no operands");
	if ((status = db_scan(cli, &set)) != 0)
		return status;
	/* A migration may take long on a big database; it has no deadline. */
	if (db_exec(cli->db, "SET statement_timeout = 0", &error) < 0) {
		migrate_set_free(&set);
		return cli_db_failure(cli, "set statement_timeout", error);
	}
	res = cli_query(cli, "lock the schema", "SELECT pg_advisory_lock(hashtext('rebound.schema'))",
			0, NULL, PGRES_TUPLES_OK, &status);
	if (res != NULL) {
		PQclear(res);
		status = db_migrate_locked(cli, set);
		/* Closing the session would release the lock too; say so explicitly. */
		res = db_query(cli->db, "SELECT pg_advisory_unlock(hashtext('rebound.schema'))", 0,
			       NULL, PGRES_TUPLES_OK, &error);
		PQclear(res);
		free(error);
	}
	migrate_set_free(&set);
	return status;
}

/* db_applied_versions - schema_version's rows, or NULL in *res_r if it has none yet */
static int
db_applied_versions(struct cli *cli, PGresult **res_r)
{
	/*
	 * Not rebound.time_text(): status must work on a database that
	 * predates the migration that makes it.
	 */
	static const char sql[] =
		"SELECT v.version, to_char(v.applied_at, 'YYYY-MM-DD HH24:MI:SS')"
		"  FROM rebound.schema_version v ORDER BY v.version";
	PGresult *res;
	int status = 0, exists;

	*res_r = NULL;
	res = cli_query(cli, "schema versions",
			"SELECT to_regclass('rebound.schema_version') IS NOT NULL", 0, NULL,
			PGRES_TUPLES_OK, &status);
	if (res == NULL)
		return status;
	exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (exists && (*res_r = cli_query(cli, "schema versions", sql, 0, NULL, PGRES_TUPLES_OK,
					  &status)) == NULL)
		return status;
	return 0;
}

int
cli_db_status(struct cli *cli, int argc, char **argv)
{
	struct migration_set *set = NULL;
	struct table *t;
	PGresult *res = NULL;
	int status, nrows;

	(void)argv;
	if (argc > 0)
		return cli_usage(cli->cmd, "status takes no operands");
	if ((status = db_scan(cli, &set)) != 0)
		return status;
	if ((status = db_applied_versions(cli, &res)) != 0)
		goto out;
	nrows = res != NULL ? PQntuples(res) : 0;
	t = table_create(4);
	table_column(t, 0, "version", TABLE_NUMBER);
	table_column(t, 1, "file", TABLE_TEXT);
	table_column(t, 2, "state", TABLE_TEXT);
	table_column(t, 3, "applied_at", TABLE_TEXT);
	for (size_t i = 0; i < migrate_count(set); i++) {
		const struct migration *m = migrate_at(set, i);
		char v[16];
		const char *cells[4] = { v, m->name, "pending", NULL };

		snprintf(v, sizeof(v), "%d", m->version);
		for (int r = 0; r < nrows; r++)
			if (atoi(PQgetvalue(res, r, 0)) == m->version)
				cells[2] = "applied", cells[3] = PQgetvalue(res, r, 1);
		table_add_row(t, cells);
	}
	for (int r = 0; r < nrows; r++) {
		const char *cells[4] = { PQgetvalue(res, r, 0), NULL, "unknown to this rebound",
					 PQgetvalue(res, r, 1) };

		if (migrate_find(set, atoi(cells[0])) == NULL)
			table_add_row(t, cells);
	}
	cli_print(cli, t, NULL);
	table_free(&t);
out:
	PQclear(res);
	migrate_set_free(&set);
	return status;
}

int
cli_db_maintain(struct cli *cli, int argc, char **argv)
{
	static const char sql[] =
		"SELECT incidents_closed, raw_purged FROM rebound.maintain()";
	char *error = NULL;
	struct table *t;
	PGresult *res;
	int status = 0;

	(void)argv;
	if (argc > 0)
		return cli_usage(cli->cmd, "maintain takes no operands");
	/* A first purge of a large table may take long; it has no deadline. */
	if (db_exec(cli->db, "SET statement_timeout = 0", &error) < 0)
		return cli_db_failure(cli, "set statement_timeout", error);
	if ((res = cli_query(cli, "maintain", sql, 0, NULL, PGRES_TUPLES_OK, &status)) == NULL)
		return status;
	if (cli->args.json) {
		t = cli_table(res);
		cli_print(cli, t, NULL);
		table_free(&t);
	} else {
		fprintf(cli->out, "%s incidents closed, %s raw copies dropped\n",
			PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return 0;
}
