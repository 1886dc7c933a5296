/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_suppress - "rebound suppress add|remove|list|export".
 *
 * Additions and removals go through the SQL functions rebound.suppress()
 * and rebound.unsuppress(), which validate the address and record the
 * history with its actor, so that the tool and a user's own SQL behave
 * alike.  A batch of addresses is one transaction: one bad address
 * changes nothing.  The export reads through a cursor, so that a list of
 * millions streams in constant memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/msg.h"
#include "util/xalloc.h"

/* Longest line read from standard input with "-"; far above any address. */
#define SUPPRESS_LINE_MAX	1024

/* Rows fetched per round trip by the export. */
#define SUPPRESS_FETCH		"5000"

struct suppress_list {
	char **items;
	size_t n, cap;
};

static void
suppress_list_add(struct suppress_list *l, const char *s, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
	}
	l->items[l->n++] = xstrndup(s, len);
}

static void
suppress_list_release(struct suppress_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* suppress_read_stdin - one address per line; blank lines and # comments skipped */
static int
suppress_read_stdin(struct suppress_list *l)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	int status = 0;

	while ((len = getline(&line, &cap, stdin)) >= 0) {
		char *s = line;

		lineno++;
		if (len > SUPPRESS_LINE_MAX) {
			msg_error("standard input, line %u: line too long", lineno);
			status = EX_DATAERR;
			break;
		}
		while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' ||
				   s[len - 1] == '\t'))
			s[--len] = '\0';
		while (*s == ' ' || *s == '\t')
			s++, len--;
		if (len > 0 && *s != '#')
			suppress_list_add(l, s, (size_t)len);
	}
	free(line);
	return status;
}

/* suppress_operands - the addresses named, with "-" read from stdin */
static int
suppress_operands(struct cli *cli, int argc, char **argv, struct suppress_list *l)
{
	int status;

	if (argc == 0)
		return cli_usage(cli->cmd, "name at least one address or domain, or - to read "
					   "them from standard input");
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-") != 0)
			suppress_list_add(l, argv[i], strlen(argv[i]));
		else if ((status = suppress_read_stdin(l)) != 0)
			return status;
	}
	return 0;
}

/* suppress_change - run sql once per address in one transaction; print the table */
static int
suppress_change(struct cli *cli, const struct suppress_list *l, const char *sql, int nparams,
		const char **values, size_t *unchanged_r)
{
	struct table *t = NULL;
	char *error = NULL, what[64];
	int status = 0;

	*unchanged_r = 0;
	if (db_exec(cli->db, "BEGIN", &error) < 0)
		return cli_db_failure(cli, "begin", error);
	for (size_t i = 0; i < l->n; i++) {
		PGresult *res;
		const char *cells[4];

		values[0] = l->items[i];
		snprintf(what, sizeof(what), "%s %s", cli->cmd->word, cli->cmd->sub);
		if ((res = cli_query(cli, what, sql, nparams, values, PGRES_TUPLES_OK, &status)) ==
		    NULL)
			goto fail;
		for (int c = 0; c < 4 && c < PQnfields(res); c++)
			cells[c] = PQgetisnull(res, 0, c) ? NULL : PQgetvalue(res, 0, c);
		if (strcmp(cells[1], "f") == 0)
			(*unchanged_r)++;
		/* The first result gives the table its columns, and its first row. */
		if (t == NULL)
			t = cli_table(res);
		else
			table_add_row(t, cells);
		PQclear(res);
	}
	if (db_commit(cli->db, &error) < 0) {
		status = cli_db_failure(cli, "commit", error);
		goto fail;
	}
	cli_print(cli, t, NULL);
	table_free(&t);
	return 0;
fail:
	db_rollback(cli->db);
	table_free(&t);
	msg_info("nothing was changed");
	return status;
}

int
cli_suppress_add(struct cli *cli, int argc, char **argv)
{
	static const char sql[] =
		/* The join sees the list as it was before this statement. */
		"SELECT x.address, x.added, coalesce(s.basis, 'manual') AS basis,"
		"       coalesce(s.reason, nullif($2, ''), 'manual') AS reason"
		"  FROM (SELECT coalesce(rebound.suppression_key($1), $1) AS address,"
		"               rebound.suppress($1, $2, $3, $4) AS added) x"
		"  LEFT JOIN rebound.suppressions s ON s.address = x.address";
	struct suppress_list l = { 0 };
	const char *values[4] = { NULL, cli->args.reason, cli_actor(cli), cli->args.note };
	size_t unchanged;
	int status;

	if ((status = suppress_operands(cli, argc, argv, &l)) == 0)
		status = suppress_change(cli, &l, sql, 4, values, &unchanged);
	suppress_list_release(&l);
	return status;
}

int
cli_suppress_remove(struct cli *cli, int argc, char **argv)
{
	static const char sql[] =
		"SELECT coalesce(rebound.suppression_key($1), lower($1)) AS address,"
		"       rebound.unsuppress($1, $2, $3) AS removed";
	struct suppress_list l = { 0 };
	const char *values[3] = { NULL, cli_actor(cli), cli->args.note };
	size_t unchanged = 0;
	int status;

	if ((status = suppress_operands(cli, argc, argv, &l)) == 0)
		status = suppress_change(cli, &l, sql, 3, values, &unchanged);
	if (status == 0 && unchanged > 0) {
		msg_warn("%zu of %zu not on the suppression list", unchanged, l.n);
		status = CLI_NOT_FOUND;
	}
	suppress_list_release(&l);
	return status;
}

int
cli_suppress_list(struct cli *cli, int argc, char **argv)
{
	static const char sql[] =
		"SELECT address, reason, basis, source, actor,"
		"       rebound.time_text(created_at, CASE WHEN $3 THEN 'utc' ELSE 'minute' END)"
		"         AS created_at,"
		"       note"
		"  FROM rebound.suppressions"
		" WHERE $1::text IS NULL OR strpos(address, lower($1)) > 0"
		" ORDER BY address LIMIT $2::int";
	char limit[16];
	const char *values[3] = { argc > 0 ? argv[0] : NULL, NULL, cli->args.json ? "t" : "f" };
	struct table *t;
	PGresult *res;
	int status = 0;

	if (argc > 1)
		return cli_usage(cli->cmd, "list takes at most one TEXT to look for");
	if (cli->args.seen & CLI_OPT_LIMIT) {
		snprintf(limit, sizeof(limit), "%u", cli->args.limit);
		values[1] = limit;
	}
	if ((res = cli_query(cli, "suppression list", sql, 3, values, PGRES_TUPLES_OK, &status)) ==
	    NULL)
		return status;
	t = cli_table(res);
	PQclear(res);
	cli_print(cli, t, argc > 0 ? "(no entry matches)" : "(the suppression list is empty)");
	table_free(&t);
	return 0;
}

/* suppress_export_rows - print one fetched batch in the chosen format */
static void
suppress_export_rows(struct cli *cli, const PGresult *res, int first)
{
	struct table *t;
	char buf[SUPPRESS_LINE_MAX + 1];

	if (!cli->args.json && !cli->args.csv) {
		/* One address per line: the form other systems import. */
		for (int r = 0; r < PQntuples(res); r++) {
			table_printable(PQgetvalue(res, r, 0), buf, sizeof(buf));
			fprintf(cli->out, "%s\n", buf);
		}
		return;
	}
	t = cli_table(res);
	if (cli->args.json)
		table_print_json_lines(t, cli->out);
	else
		table_print_csv(t, cli->out, first);
	table_free(&t);
}

int
cli_suppress_export(struct cli *cli, int argc, char **argv)
{
	static const char declare[] =
		"DECLARE export NO SCROLL CURSOR FOR"
		" SELECT address, reason, basis, source, actor, note,"
		"        rebound.time_text(created_at, 'utc') AS created_at, event_id"
		"   FROM rebound.suppressions ORDER BY address";
	char *error = NULL;
	int status = 0, first = 1;

	(void)argv;
	if (argc > 0)
		return cli_usage(cli->cmd, "export takes no operands");
	if (cli->args.json && cli->args.csv)
		return cli_usage(cli->cmd, "choose --csv or --json, not both");
	if (db_exec(cli->db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &error) < 0)
		return cli_db_failure(cli, "begin", error);
	if (db_exec(cli->db, declare, &error) < 0) {
		status = cli_db_failure(cli, "suppression list", error);
		goto out;
	}
	for (;;) {
		PGresult *res = cli_query(cli, "suppression list", "FETCH " SUPPRESS_FETCH
					  " FROM export", 0, NULL, PGRES_TUPLES_OK, &status);

		if (res == NULL)
			goto out;
		/* The CSV header comes even for an empty list. */
		if (PQntuples(res) > 0 || (first && cli->args.csv))
			suppress_export_rows(cli, res, first);
		first = 0;
		if (PQntuples(res) == 0) {
			PQclear(res);
			break;
		}
		PQclear(res);
	}
out:
	db_rollback(cli->db);
	return status;
}
