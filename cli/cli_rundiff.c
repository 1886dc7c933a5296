/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_rundiff - what a reclassify run changed, read from what it recorded
 * (rebound.reclassify_changes and rebound.reclassify_addresses) in its own
 * transaction, and printed once that transaction's fate is known: the
 * counts, the changes of kind, reason, hardness and recipient (old -> new)
 * with examples, and the addresses newly suppressed, released, held or
 * no longer held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/xalloc.h"

/* Examples shown per change of verdict. */
#define RUNDIFF_EXAMPLES	"2"

struct rundiff {
	PGresult *summary;
	struct table *changes, *examples, *addresses;
};

static const char sql_summary[] =
	"SELECT r.id AS run, r.rules_digest,"
	"       rebound.time_text(r.since, CASE WHEN $2 THEN 'utc' ELSE 'second' END) AS since,"
	"       rebound.time_text(r.until, CASE WHEN $2 THEN 'utc' ELSE 'second' END) AS until,"
	"       (r.counts->>'raw')::int AS raw, (r.counts->>'cut')::int AS cut,"
	"       (r.counts->>'unverifiable')::int AS unverifiable,"
	"       (r.counts->>'events')::int AS events, (r.counts->>'changed')::int AS changed,"
	"       (r.counts->>'inserted')::int AS inserted,"
	"       (r.counts->>'unchanged')::int AS unchanged, (r.counts->>'kept')::int AS kept,"
	"       (r.counts->>'suppressed')::int AS suppressed,"
	"       (r.counts->>'released')::int AS released"
	"  FROM rebound.reclassify_runs r WHERE r.id = $1::bigint";

static const char sql_changes[] =
	"SELECT old, new, count(*) AS events,"
	"       count(*) FILTER (WHERE action = 'update'"
	"                        AND old_recipient IS DISTINCT FROM new_recipient)"
	"           AS recipient_changed"
	"  FROM rebound.reclassify_diff($1::bigint)"
	" GROUP BY old, new ORDER BY events DESC, old, new";

static const char sql_examples[] =
	"SELECT event, old, new,"
	"       CASE WHEN action = 'update' AND old_recipient IS DISTINCT FROM new_recipient"
	"            THEN coalesce(old_recipient, '-') || ' -> ' || coalesce(new_recipient, '-')"
	"            ELSE new_recipient END AS recipient,"
	"       left(diagnostic, 120) AS diagnostic"
	"  FROM (SELECT d.*, row_number() OVER (PARTITION BY old, new ORDER BY event) AS n"
	"          FROM rebound.reclassify_diff($1::bigint) d) x"
	" WHERE n <= " RUNDIFF_EXAMPLES " ORDER BY old, new, event";

static const char sql_addresses[] =
	"WITH s AS ("
	" SELECT address,"
	"        jsonb_typeof(before->'suppression') = 'object' AS was,"
	"        jsonb_typeof(after->'suppression') = 'object' AS is_now,"
	"        (SELECT count(*) FROM jsonb_array_elements(before->'held') h"
	"          WHERE h->>'state' = 'held') AS held_before,"
	"        (SELECT count(*) FROM jsonb_array_elements(after->'held') h"
	"          WHERE h->>'state' = 'held') AS held_after,"
	"        coalesce(after->'suppression'->>'reason', before->'suppression'->>'reason') AS reason"
	"   FROM rebound.reclassify_addresses WHERE run_id = $1::bigint)"
	" SELECT address,"
	"        CASE WHEN NOT was AND is_now THEN 'suppressed'"
	"             WHEN was AND NOT is_now THEN 'released'"
	"             WHEN held_after > held_before THEN 'held'"
	"             ELSE 'no longer held' END AS change,"
	"        reason"
	"   FROM s WHERE was <> is_now OR held_before <> held_after"
	"  ORDER BY change, address";

/* rundiff_table - one query's rows as a table, or NULL with *status_r */
static struct table *
rundiff_table(struct cli *cli, const char *what, const char *sql, const char *run, int *status_r)
{
	const char *values[1] = { run };
	PGresult *res = cli_query(cli, what, sql, 1, values, PGRES_TUPLES_OK, status_r);
	struct table *t;

	if (res == NULL)
		return NULL;
	t = cli_table(res);
	PQclear(res);
	return t;
}

struct rundiff *
rundiff_fetch(struct cli *cli, const char *run, int *status_r)
{
	struct rundiff *d = xcalloc(1, sizeof(*d));
	const char *values[2] = { run, cli->args.json ? "t" : "f" };

	*status_r = 0;
	if ((d->summary = cli_query(cli, "read the run", sql_summary, 2, values, PGRES_TUPLES_OK,
				    status_r)) == NULL ||
	    (d->changes = rundiff_table(cli, "read its changes", sql_changes, run, status_r)) ==
		    NULL ||
	    (d->examples = rundiff_table(cli, "read its examples", sql_examples, run, status_r)) ==
		    NULL ||
	    (d->addresses = rundiff_table(cli, "read its addresses", sql_addresses, run,
					  status_r)) == NULL)
		rundiff_free(&d);
	return d;
}

void
rundiff_free(struct rundiff **dp)
{
	struct rundiff *d = *dp;

	if (d == NULL)
		return;
	PQclear(d->summary);
	table_free(&d->changes);
	table_free(&d->examples);
	table_free(&d->addresses);
	free(d);
	*dp = NULL;
}

/* rundiff_value - column name of the summary, "0" when NULL */
static const char *
rundiff_value(const struct rundiff *d, const char *name)
{
	int c = PQfnumber(d->summary, name);

	return c < 0 || PQgetisnull(d->summary, 0, c) ? "0" : PQgetvalue(d->summary, 0, c);
}

/* rundiff_json - the whole report as one JSON object */
static void
rundiff_json(struct cli *cli, const struct rundiff *d, bool applied, double seconds)
{
	struct table *summary = cli_table(d->summary);

	fprintf(cli->out, "{\"applied\":%s,\"seconds\":%.3f,\"summary\":", applied ? "true" : "false",
		seconds);
	table_print_json(summary, cli->out);
	fputs(",\"changes\":", cli->out);
	table_print_json(d->changes, cli->out);
	fputs(",\"examples\":", cli->out);
	table_print_json(d->examples, cli->out);
	fputs(",\"addresses\":", cli->out);
	table_print_json(d->addresses, cli->out);
	fputs("}\n", cli->out);
	table_free(&summary);
}

void
rundiff_print(struct cli *cli, const struct rundiff *d, bool applied, double seconds)
{
	const char *run = rundiff_value(d, "run");
	double raw = atof(rundiff_value(d, "raw"));

	if (cli->args.json) {
		rundiff_json(cli, d, applied, seconds);
		return;
	}
	if (applied)
		fprintf(cli->out, "reclassify run %s applied; 'rebound reclassify --undo %s' puts "
			"back what it changed\n", run, run);
	else
		fputs("reclassify, a dry run: nothing was changed; --apply makes these changes\n",
		      cli->out);
	fprintf(cli->out, "rule set %s\n", rundiff_value(d, "rules_digest"));
	fprintf(cli->out, "raw copies read: %s in %.2f s (%.0f per second); skipped: %s cut at "
		"raw_message_limit, %s whose token no key checks now\n",
		rundiff_value(d, "raw"), seconds, seconds > 0 ? raw / seconds : 0,
		rundiff_value(d, "cut"), rundiff_value(d, "unverifiable"));
	fprintf(cli->out, "events: %s, %s changed, %s new, %s unchanged, %s no longer found "
		"(left as they were)\n", rundiff_value(d, "events"), rundiff_value(d, "changed"),
		rundiff_value(d, "inserted"), rundiff_value(d, "unchanged"), rundiff_value(d, "kept"));
	fprintf(cli->out, "addresses: %s newly suppressed, %s released\n",
		rundiff_value(d, "suppressed"), rundiff_value(d, "released"));
	fputs("\nChanges of verdict, old -> new\n", cli->out);
	cli_print(cli, d->changes, "(none)");
	if (table_rows(d->examples) > 0) {
		fputs("\nExamples\n", cli->out);
		cli_print(cli, d->examples, NULL);
	}
	fputs("\nAddresses\n", cli->out);
	cli_print(cli, d->addresses, "(none changes)");
}
