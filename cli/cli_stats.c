/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_stats - "rebound stats": the state of things in a few tables.
 *
 * Each section is one query over the views of schema rebound, run in one
 * read-only snapshot so that the numbers agree with each other.  People
 * get titled aligned tables; --json gets one object with a member per
 * section, each an array of rows.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

struct stats_section {
	const char *key;	/* JSON member */
	const char *title;	/* %s: the number of days */
	const char *sql;	/* $1: days, $2: row limit */
};

static const struct stats_section stats_sections[] = {
	{ "events", "Events in the last %s days",
	  "SELECT k.kind, count(e.id) AS events, count(DISTINCT e.recipient) AS addresses"
	  "  FROM unnest(ARRAY['rejected', 'expired', 'bounced', 'complaint', 'delayed',"
	  "                    'auto_reply', 'delivered', 'unknown']) WITH ORDINALITY k (kind, n)"
	  "  LEFT JOIN rebound.events e ON e.kind = k.kind"
	  "   AND e.received_at > now() - make_interval(days => $1::int)"
	  " WHERE $2::int IS NOT NULL"
	  " GROUP BY k.kind, k.n ORDER BY k.n" },
	{ "suppressions", "Suppression list (new: in the last %s days)",
	  "SELECT coalesce(b.basis, 'total') AS basis, count(s.address) AS entries,"
	  "       count(s.address) FILTER (WHERE s.created_at > now() - make_interval(days => $1::int))"
	  "           AS new"
	  "  FROM unnest(ARRAY['hard', 'complaint', 'soft', 'unknown_domain', 'manual'])"
	  "       WITH ORDINALITY b (basis, n)"
	  "  LEFT JOIN rebound.suppressions s ON s.basis = b.basis"
	  " WHERE $2::int IS NOT NULL"
	  " GROUP BY ROLLUP ((b.basis, b.n)) ORDER BY b.n NULLS LAST" },
	{ "domains", "Top failing domains, last %s days",
	  "SELECT f.domain, count(*) AS failures, count(*) FILTER (WHERE f.hard) AS hard,"
	  "       count(*) FILTER (WHERE NOT f.hard) AS soft,"
	  "       count(DISTINCT f.recipient) AS addresses,"
	  "       EXISTS (SELECT 1 FROM rebound.suppressions s WHERE s.address = f.domain)"
	  "           AS suppressed"
	  "  FROM rebound.failures f"
	  " WHERE f.domain IS NOT NULL AND f.received_at > now() - make_interval(days => $1::int)"
	  " GROUP BY f.domain ORDER BY failures DESC, f.domain LIMIT $2::int" },
	{ "reasons", "Failures by reason, last %s days",
	  "SELECT reason, category, count(*) AS failures, count(*) FILTER (WHERE hard) AS hard,"
	  "       count(DISTINCT recipient) AS addresses"
	  "  FROM rebound.failures"
	  " WHERE received_at > now() - make_interval(days => $1::int)"
	  " GROUP BY reason, category ORDER BY failures DESC, reason LIMIT $2::int" },
	{ "campaigns", "Campaign tags, latest sent first (all time)",
	  "SELECT tag, value, messages, recipients, bounced, bounce_rate, complaints,"
	  "       complaint_rate, rebound.time_text(last_sent, 'minute') AS last_sent"
	  "  FROM rebound.campaign_rates"
	  " WHERE $1::int IS NOT NULL"
	  " ORDER BY campaign_rates.last_sent DESC, tag, value LIMIT $2::int" },
	{ "incidents", "Incidents: bursts that hold suppressions (all time)",
	  "SELECT s.status, count(i.id) AS incidents, coalesce(sum(i.held), 0) AS held,"
	  "       coalesce(sum(i.applied), 0) AS applied, coalesce(sum(i.released), 0) AS released"
	  "  FROM unnest(ARRAY['open', 'real', 'sender_side']) WITH ORDINALITY s (status, n)"
	  "  LEFT JOIN rebound.incident_summary i ON i.status = s.status"
	  " WHERE $1::int IS NOT NULL AND $2::int IS NOT NULL"
	  " GROUP BY s.status, s.n ORDER BY s.n" },
	{ "review", "Awaiting review (all time)",
	  "SELECT problem, count(*) AS events, rebound.time_text(min(received_at), 'minute')"
	  "       AS oldest"
	  "  FROM rebound.awaiting_review WHERE $1::int IS NOT NULL AND $2::int IS NOT NULL"
	  " GROUP BY problem"
	  " UNION ALL "
	  "SELECT 'policy_error', count(*), rebound.time_text(min(at), 'minute')"
	  "  FROM rebound.policy_errors HAVING count(*) > 0"
	  " ORDER BY 1" },
};

#define STATS_NSECTIONS (sizeof(stats_sections) / sizeof(stats_sections[0]))

/* stats_days - the --days value, or the report_days setting */
static int
stats_days(struct cli *cli, char days[16])
{
	PGresult *res;
	int status = 0;

	if (cli->args.seen & CLI_OPT_DAYS) {
		if (cli->args.days == 0)
			return cli_usage(cli->cmd, "--days wants at least 1");
		snprintf(days, 16, "%u", cli->args.days);
		return 0;
	}
	res = cli_query(cli, "read setting report_days",
			"SELECT rebound.setting_int('report_days')", 0, NULL, PGRES_TUPLES_OK,
			&status);
	if (res == NULL)
		return status;
	snprintf(days, 16, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* stats_print - one section, titled, for people or in the JSON object */
static void
stats_print(struct cli *cli, const struct stats_section *s, const char *days,
	    const struct table *t, size_t i)
{
	if (cli->args.json) {
		fprintf(cli->out, ",\"%s\":", s->key);
		table_print_json(t, cli->out);
		return;
	}
	if (i > 0)
		fputc('\n', cli->out);
	fprintf(cli->out, s->title, days);
	fputc('\n', cli->out);
	cli_print(cli, t, "(none)");
}

int
cli_stats(struct cli *cli, int argc, char **argv)
{
	char days[16], limit[16];
	const char *values[2] = { days, limit };
	char *error = NULL;
	int status;

	(void)argv;
	if (argc > 0)
		return cli_usage(cli->cmd, "stats takes no operands");
	snprintf(limit, sizeof(limit), "%u", cli->args.seen & CLI_OPT_LIMIT ? cli->args.limit : 10);
	/* One snapshot: the sections add up. */
	if (db_exec(cli->db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &error) < 0)
		return cli_db_failure(cli, "begin", error);
	if ((status = stats_days(cli, days)) != 0)
		goto out;
	if (cli->args.json)
		fprintf(cli->out, "{\"days\":%s", days);
	for (size_t i = 0; i < STATS_NSECTIONS; i++) {
		PGresult *res = cli_query(cli, stats_sections[i].key, stats_sections[i].sql, 2,
					  values, PGRES_TUPLES_OK, &status);
		struct table *t;

		if (res == NULL)
			goto out;
		t = cli_table(res);
		PQclear(res);
		stats_print(cli, &stats_sections[i], days, t, i);
		table_free(&t);
	}
	if (cli->args.json)
		fputs("}\n", cli->out);
out:
	db_rollback(cli->db);
	return status;
}
