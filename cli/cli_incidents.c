/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_incidents - "rebound incidents list|show|close".
 *
 * An incident is a burst of failures the database noticed (migration
 * 007): one provider, one reply template, many recipients, a short time.
 * While it is open, the suppressions its failures would make are held,
 * not enforced.  Closing it goes through rebound.incident_close(), the
 * same function the automatic close uses: --real applies what it holds
 * (the policy looks at its failures again), --sender-side releases it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/msg.h"

/* incidents_id - the ID operand, a positive whole number; 0 if it is not one */
static unsigned long long
incidents_id(const char *s)
{
	char *end;
	unsigned long long id;

	if (s == NULL || *s < '1' || *s > '9')
		return 0;
	id = strtoull(s, &end, 10);
	return *end == '\0' && id < (1ULL << 62) ? id : 0;
}

/* incidents_rows - print the rows of sql ($1: id or limit, $2: --json) */
static int
incidents_rows(struct cli *cli, const char *what, const char *sql, const char *arg,
	       const char *if_empty)
{
	const char *values[2] = { arg, cli->args.json ? "t" : "f" };
	struct table *t;
	PGresult *res;
	int status = 0;

	if ((res = cli_query(cli, what, sql, 2, values, PGRES_TUPLES_OK, &status)) == NULL)
		return status;
	t = cli_table(res);
	PQclear(res);
	cli_print(cli, t, if_empty);
	table_free(&t);
	return 0;
}

int
cli_incidents_list(struct cli *cli, int argc, char **argv)
{
	static const char sql[] =
		"SELECT id, status, provider_key AS provider, recipients, held, applied, released,"
		"       rebound.time_text(first_at, CASE WHEN $2 THEN 'utc' ELSE 'minute' END)"
		"           AS first_failure,"
		"       rebound.time_text(last_at, CASE WHEN $2 THEN 'utc' ELSE 'minute' END)"
		"           AS last_failure,"
		"       CASE WHEN $2 THEN reply_template ELSE left(reply_template, 72) END AS template"
		"  FROM rebound.incident_summary"
		" ORDER BY status = 'open' DESC, id DESC LIMIT $1::int";
	char limit[16];

	(void)argv;
	if (argc > 0)
		return cli_usage(cli->cmd, "list takes no operands");
	snprintf(limit, sizeof(limit), "%u", cli->args.seen & CLI_OPT_LIMIT ? cli->args.limit : 20);
	return incidents_rows(cli, "incidents", sql, limit, "(no incidents)");
}

int
cli_incidents_show(struct cli *cli, int argc, char **argv)
{
	static const char sql_incident[] =
		"SELECT id, status, provider_key AS provider, reply_template AS template,"
		"       events, recipients, sent_at_open AS sent_to_their_domains, held, applied,"
		"       released,"
		"       rebound.time_text(opened_at, CASE WHEN $2 THEN 'utc' ELSE 'second' END)"
		"           AS opened,"
		"       rebound.time_text(first_at, CASE WHEN $2 THEN 'utc' ELSE 'second' END)"
		"           AS first_failure,"
		"       rebound.time_text(last_at, CASE WHEN $2 THEN 'utc' ELSE 'second' END)"
		"           AS last_failure,"
		"       rebound.time_text(closed_at, CASE WHEN $2 THEN 'utc' ELSE 'second' END)"
		"           AS closed, closed_by, close_note, example"
		"  FROM rebound.incident_summary WHERE id = $1::bigint";
	static const char sql_held[] =
		"SELECT address, reason, basis, state, event_id AS event,"
		"       rebound.time_text(resolved_at, CASE WHEN $2 THEN 'utc' ELSE 'minute' END)"
		"           AS resolved"
		"  FROM rebound.provisional_suppressions WHERE incident_id = $1::bigint"
		" ORDER BY address";
	const char *values[2] = { argc > 0 ? argv[0] : NULL, cli->args.json ? "t" : "f" };
	PGresult *res;
	struct table *t;
	int status = 0;

	if (argc != 1 || incidents_id(argv[0]) == 0)
		return cli_usage(cli->cmd, "name one incident by its number");
	if ((res = cli_query(cli, "incident", sql_incident, 2, values, PGRES_TUPLES_OK, &status)) ==
	    NULL)
		return status;
	if (PQntuples(res) == 0) {
		PQclear(res);
		msg_error("there is no incident %s", argv[0]);
		msg_info("hint: 'rebound incidents list' shows them");
		return EX_DATAERR;
	}
	t = cli_table(res);
	PQclear(res);
	if (cli->args.json) {
		fputs("{\"incident\":", cli->out);
		table_print_json(t, cli->out);
		fputs(",\"suppressions\":", cli->out);
	} else {
		table_print_record(t, cli->out);
		fputs("\nSuppressions it held\n", cli->out);
	}
	table_free(&t);
	if ((res = cli_query(cli, "incident", sql_held, 2, values, PGRES_TUPLES_OK, &status)) ==
	    NULL)
		return status;
	t = cli_table(res);
	PQclear(res);
	if (cli->args.json) {
		table_print_json(t, cli->out);
		fputs("}\n", cli->out);
	} else {
		cli_print(cli, t, "(none)");
	}
	table_free(&t);
	return 0;
}

int
cli_incidents_close(struct cli *cli, int argc, char **argv)
{
	static const char sql[] =
		"SELECT rebound.incident_close($1::bigint, $2, $3, $4) AS resolved";
	const char *values[4] = { argc > 0 ? argv[0] : NULL,
				  cli->args.real ? "real" : "sender_side", cli_actor(cli),
				  cli->args.note };
	PGresult *res;
	int status = 0;

	if (argc != 1 || incidents_id(argv[0]) == 0)
		return cli_usage(cli->cmd, "name one incident by its number");
	if (cli->args.real == cli->args.sender_side)
		return cli_usage(cli->cmd, "say how it ends: --real or --sender-side");
	if ((res = cli_query_committed(cli, "close the incident", sql, 4, values, &status)) == NULL)
		return status;
	if (cli->args.json)
		fprintf(cli->out, "{\"id\":%s,\"status\":\"%s\",\"resolved\":%s}\n", argv[0],
			values[1], PQgetvalue(res, 0, 0));
	else if (cli->args.real)
		fprintf(cli->out, "incident %s closed as real: %s held suppressions applied\n",
			argv[0], PQgetvalue(res, 0, 0));
	else
		fprintf(cli->out, "incident %s closed as sender-side: %s held suppressions "
			"released\n", argv[0], PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}
