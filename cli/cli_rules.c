/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_rules - "rebound rules test" and "rebound review": what the rules
 * make of a reply, and which replies they do not understand.
 *
 * rules test puts the reply text in a delivery status notification and
 * runs it through the classifier rebound-pipe uses (classifier_reply()),
 * so that the answer is what a bounce with that reply would become.
 * review reads rebound.unexplained_replies (migration 007): the reply
 * templates of events whose reason no rule gave (undefined, onhold).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify/batch.h"
#include "classify/classifier.h"
#include "cli.h"
#include "util/msg.h"

/* rules_decided - print the step that decided (a rules_explain_fn) */
static void
rules_decided(void *ctx, const struct rule_step *step)
{
	FILE *out = ctx;

	if (step->outcome != RULE_DECIDED && step->file[0] != '\0')
		return;
	if (step->file[0] == '\0') {
		fprintf(out, "decided by %s (built in): %s\n", step->id, step->detail);
		return;
	}
	fprintf(out, "decided by %s at %s:%d", step->id, step->file, step->line);
	if (step->phrase_file != NULL)
		fprintf(out, ", phrase %s:%d", step->phrase_file, step->phrase_line);
	fprintf(out, "%s%s%s\n", step->detail[0] ? ", on \"" : ", on its conditions", step->detail,
		step->detail[0] ? "\"" : "");
}

/* rules_summary - the verdict of the one recipient, for people */
static void
rules_summary(struct classifier *c, const struct report *r, FILE *out)
{
	const struct report_rcpt *rc = &r->rcpt[0];

	fprintf(out, "kind %s, reason %s (%s), %s\n", kind_name(rc->kind), reason_name(rc->reason),
		reason_category(rc->reason),
		kind_is_failure(rc->kind) ? (rc->hard ? "hard" : "soft") : "not a failure");
	fprintf(out, "status %s, reply code %d, command %s\n", rc->status[0] ? rc->status : "none",
		rc->reply_code, rc->command == CMD_NONE ? "none" : smtp_cmd_name(rc->command));
	classifier_explain(c, r, 0, rules_decided, out);
}

int
cli_rules_test(struct cli *cli, int argc, char **argv)
{
	struct classifier *clf = NULL;
	struct report *r;
	char *error = NULL;
	int status;

	if (argc != 1)
		return cli_usage(cli->cmd, "give the reply text as one argument (quote it)");
	if ((cli->args.seen & CLI_OPT_CODE) && (cli->args.code < 200 || cli->args.code > 599))
		return cli_usage(cli->cmd, "--code wants a reply code from 200 to 599");
	if ((status = cli_config(cli)) != 0)
		return status;
	if (classifier_create(cli->cfg, &clf, &error) < 0) {
		msg_error("%s", error);
		free(error);
		return EX_CONFIG;
	}
	r = classifier_reply(clf, cli->args.status, (int)cli->args.code, argv[0]);
	if (r == NULL) {
		classifier_free(&clf);
		return cli_usage(cli->cmd, cli->args.status != NULL
					       ? "--status wants an enhanced status code such as 5.1.1"
					       : "the text is longer than a diagnostic may be");
	}
	if (r->nrcpt != 1) {
		msg_error("the reply did not make one recipient's report");
		status = EX_SOFTWARE;
	} else if (cli->args.json) {
		batch_print(cli->out, "(reply)", r);
	} else {
		rules_summary(clf, r, cli->out);
	}
	if (classifier_error(clf) != NULL)
		msg_warn("%s", classifier_error(clf));
	report_free(&r);
	classifier_free(&clf);
	return status;
}

int
cli_review(struct cli *cli, int argc, char **argv)
{
	static const char sql[] =
		"SELECT CASE WHEN $3 THEN template ELSE left(template, 80) END AS template,"
		"       events, addresses, providers,"
		"       rebound.time_text(last_at, CASE WHEN $3 THEN 'utc' ELSE 'minute' END)"
		"           AS last_seen,"
		"       rebound.time_text(first_at, CASE WHEN $3 THEN 'utc' ELSE 'minute' END)"
		"           AS first_seen,"
		"       example_event"
		"  FROM rebound.unexplained_replies"
		" WHERE $2::int IS NULL OR last_at > now() - make_interval(days => $2::int)"
		" ORDER BY last_at DESC, events DESC LIMIT $1::int";
	char limit[16], days[16];
	const char *values[3] = { limit, NULL, cli->args.json ? "t" : "f" };
	struct table *t;
	PGresult *res;
	int status = 0;

	(void)argv;
	if (argc > 0)
		return cli_usage(cli->cmd, "review takes no operands");
	snprintf(limit, sizeof(limit), "%u", cli->args.seen & CLI_OPT_LIMIT ? cli->args.limit : 20);
	if (cli->args.seen & CLI_OPT_DAYS) {
		if (cli->args.days == 0)
			return cli_usage(cli->cmd, "--days wants at least 1");
		snprintf(days, sizeof(days), "%u", cli->args.days);
		values[1] = days;
	}
	if ((res = cli_query(cli, "unexplained replies", sql, 3, values, PGRES_TUPLES_OK,
			     &status)) == NULL)
		return status;
	t = cli_table(res);
	PQclear(res);
	cli_print(cli, t, "(every reply was understood by a rule)");
	table_free(&t);
	return 0;
}
