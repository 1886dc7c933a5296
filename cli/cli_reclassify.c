/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_reclassify - "rebound reclassify": read the stored raw bounces again
 * with the installed rules or a candidate set, and show what changes
 * (--dry-run, the default), make the change (--apply), or undo a run
 * (--undo RUN).
 *
 * Each raw copy goes through the path rebound-pipe took with it
 * (common/store/bounce.c): the same evidence, judged on the day it came,
 * the same classifier and the same rows, staged with store_stage() as
 * rebound.event_draft() makes them.  The database then revises the events
 * that changed (rebound.reclassify_apply(), migration 007), through the
 * corroboration and the policy that act on a new event, and keeps what it
 * changed.  A dry run is that same transaction rolled back, so it shows
 * exactly what --apply would do at that moment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify/classifier.h"
#include "cli.h"
#include "mail/token.h"
#include "store/bounce.h"
#include "store/store.h"
#include "util/msg.h"

/* Raw copies fetched per round trip: each may be up to raw_message_limit. */
#define RECLASSIFY_BATCH	"25"

struct reclassify {
	struct cli *cli;
	struct classifier *clf;
	char run[24];
	unsigned long read, cut, unverifiable;
	double seconds;
};

static const char sql_batch[] =
	"SELECT r.id, r.queue_id, r.envelope_recipient, r.local_origin, r.size,"
	"       extract(epoch FROM r.received_at)::bigint,"
	"       octet_length(r.content) >= least(r.size, $4::bigint), r.content"
	"  FROM rebound.raw_messages r"
	" WHERE r.id > $1::bigint"
	"   AND ($2::timestamptz IS NULL OR r.received_at >= $2::timestamptz)"
	"   AND ($3::timestamptz IS NULL OR r.received_at < $3::timestamptz)"
	"   AND EXISTS (SELECT 1 FROM rebound.events e"
	"                WHERE e.raw_message_id = r.id AND e.source = 'pipe')"
	" ORDER BY r.id LIMIT " RECLASSIFY_BATCH;

/* reclassify_classifier - the candidate rules first, then the configured ones */
static int
reclassify_classifier(struct reclassify *rc)
{
	const struct cfg *cfg = rc->cli->cfg;
	const char *dirs[3] = { rc->cli->args.rules, cfg->rules_directory,
				cfg->builtin_rules_directory };
	char *error = NULL;

	if (classifier_create_dirs(dirs, 3, &rc->clf, &error) < 0 ||
	    classifier_check(rc->clf, &error) < 0) {
		msg_error("%s", error);
		msg_info("hint: fix the rule file, or name another directory with --rules DIR");
		free(error);
		return EX_CONFIG;
	}
	return 0;
}

/* reclassify_one - stage what one raw copy (row r of res) makes now */
static int
reclassify_one(struct reclassify *rc, const PGresult *res, int r)
{
	struct bounce_input in = { 0 };
	struct bounce b;
	size_t len = 0;
	unsigned char *data;
	char *error = NULL;
	int status = 0;

	rc->read++;
	if (strcmp(PQgetvalue(res, r, 6), "t") != 0) {
		/* Cut at raw_message_limit: not what rebound-pipe read. */
		rc->cut++;
		return 0;
	}
	data = PQunescapeBytea((const unsigned char *)PQgetvalue(res, r, 7), &len);
	if (data == NULL)
		msg_fatal("out of memory");
	in.queue_id = PQgetisnull(res, r, 1) ? NULL : PQgetvalue(res, r, 1);
	in.recipient = PQgetisnull(res, r, 2) ? "" : PQgetvalue(res, r, 2);
	in.local = strcmp(PQgetvalue(res, r, 3), "t") == 0;
	in.size = strtoul(PQgetvalue(res, r, 4), NULL, 10);
	in.data = (const char *)data;
	in.len = len;
	in.truncated = in.size > len;
	in.day = token_day((time_t)strtoll(PQgetvalue(res, r, 5), NULL, 10));
	if (bounce_prepare(rc->cli->cfg, rc->clf, &in, &b, &error) < 0) {
		msg_error("cannot check tokens: %s", error);
		msg_info("hint: the user running rebound must read token_key_file");
		free(error);
		PQfreemem(data);
		return EX_CONFIG;
	}
	if (b.refused != NULL) {
		/* It had events when it came: its token was good with the keys of then. */
		rc->unverifiable++;
	} else if (store_stage(rc->cli->db, &b.sb, b.report, PQgetvalue(res, r, 0), &error) < 0) {
		status = cli_db_failure(rc->cli, "stage", error);
	}
	bounce_release(&b);
	PQfreemem(data);
	return status;
}

/* reclassify_read - stage every raw copy of the window, a batch at a time */
static int
reclassify_read(struct reclassify *rc)
{
	struct cli *cli = rc->cli;
	char last[24] = "0", max[24];
	const char *values[4] = { last, cli->args.since, cli->args.until, max };
	int status = 0;

	snprintf(max, sizeof(max), "%zu", cli->cfg->max_message_size);
	for (;;) {
		PGresult *res = cli_query(cli, "read raw copies", sql_batch, 4, values,
					  PGRES_TUPLES_OK, &status);
		int n;

		if (res == NULL)
			return status;
		n = PQntuples(res);
		for (int r = 0; r < n && status == 0; r++)
			status = reclassify_one(rc, res, r);
		if (n > 0)
			snprintf(last, sizeof(last), "%s", PQgetvalue(res, n - 1, 0));
		PQclear(res);
		if (status != 0 || n == 0)
			return status;
	}
}

/* reclassify_counts - what was read and skipped, as JSON for the run */
static void
reclassify_counts(const struct reclassify *rc, char *buf, size_t size)
{
	snprintf(buf, size, "{\"raw\":%lu,\"cut\":%lu,\"unverifiable\":%lu}", rc->read, rc->cut,
		 rc->unverifiable);
}

/* reclassify_run - stage, apply and report, in the caller's transaction */
static int
reclassify_run(struct reclassify *rc)
{
	struct cli *cli = rc->cli;
	const char *values[4] = { cli_actor(cli), classifier_digest(rc->clf), cli->args.since,
				  cli->args.until };
	char counts[160];
	const char *apply_values[2] = { rc->run, counts };
	struct timespec t0, t1;
	PGresult *res;
	int status = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	res = cli_query(cli, "begin the run",
			"SELECT rebound.reclassify_begin($1, $2, $3::timestamptz, $4::timestamptz)",
			4, values, PGRES_TUPLES_OK, &status);
	if (res == NULL)
		return status;
	snprintf(rc->run, sizeof(rc->run), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if ((status = reclassify_read(rc)) != 0)
		return status;
	reclassify_counts(rc, counts, sizeof(counts));
	res = cli_query(cli, "apply the run", "SELECT rebound.reclassify_apply($1::bigint, $2::jsonb)",
			2, apply_values, PGRES_TUPLES_OK, &status);
	if (res == NULL)
		return status;
	PQclear(res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rc->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return 0;
}

/* reclassify_undo - put back what run --undo changed */
static int
reclassify_undo(struct cli *cli)
{
	static const char sql[] =
		"SELECT x->>'run' AS run, (x->>'events')::int AS events,"
		"       (x->>'addresses')::int AS addresses, (x->>'left')::int AS left_as_they_are"
		"  FROM (SELECT rebound.reclassify_undo($1::bigint, $2) AS x) s";
	char run[24];
	const char *values[2] = { run, cli_actor(cli) };
	struct table *t;
	PGresult *res;
	int status = 0;

	if (cli->args.seen & (CLI_OPT_SINCE | CLI_OPT_UNTIL | CLI_OPT_RULES | CLI_OPT_APPLY |
			      CLI_OPT_DRY_RUN))
		return cli_usage(cli->cmd, "--undo RUN takes no other option");
	snprintf(run, sizeof(run), "%u", cli->args.undo);
	if ((res = cli_query_committed(cli, "undo", sql, 2, values, &status)) == NULL)
		return status;
	t = cli_table(res);
	if (!cli->args.json)
		fprintf(cli->out, "reclassify run %s undone: %s events and %s addresses as they "
			"were before it, %s addresses left as they are (changed since)\n",
			PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
			PQgetvalue(res, 0, 3));
	else
		cli_print(cli, t, NULL);
	table_free(&t);
	PQclear(res);
	return 0;
}

int
cli_reclassify(struct cli *cli, int argc, char **argv)
{
	struct reclassify rc = { .cli = cli };
	struct rundiff *report = NULL;
	char *error = NULL;
	int status;

	(void)argv;
	if (argc > 0)
		return cli_usage(cli->cmd, "reclassify takes no operands");
	if (cli->args.seen & CLI_OPT_UNDO)
		return reclassify_undo(cli);
	if (cli->args.dry_run && cli->args.apply)
		return cli_usage(cli->cmd, "choose --dry-run or --apply, not both");
	if ((status = reclassify_classifier(&rc)) != 0)
		return status;
	/* A run over many bounces may take longer than one statement should. */
	if (db_exec(cli->db, "BEGIN", &error) < 0 ||
	    db_exec(cli->db, "SET LOCAL statement_timeout = 0", &error) < 0) {
		classifier_free(&rc.clf);
		return cli_db_failure(cli, "begin", error);
	}
	if ((status = reclassify_run(&rc)) == 0)
		report = rundiff_fetch(cli, rc.run, &status);
	if (status == 0 && cli->args.apply && db_commit(cli->db, &error) < 0)
		status = cli_db_failure(cli, "commit", error);
	if (status != 0 || !cli->args.apply)
		db_rollback(cli->db);
	/* Printed once it is true: after the commit of --apply. */
	if (status == 0)
		rundiff_print(cli, report, cli->args.apply, rc.seconds);
	rundiff_free(&report);
	classifier_free(&rc.clf);
	return status;
}
