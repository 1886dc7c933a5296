/* SPDX-License-Identifier: BSD-2-Clause */
/* test-cli - option parsing, the command table, and rebound(1) agreeing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tap.h"

/* parse - parse a space-separated command line; operands joined by '|' */
static int
parse(const char *line, unsigned accept, bool stop, struct cli_args *args, char *ops,
      size_t opsize, char **error_r)
{
	char *copy = strdup(line), *argv[32], *tok, *save = NULL;
	int argc = 0, n = 0, ret;

	for (tok = strtok_r(copy, " ", &save); tok && argc < 32; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	memset(args, 0, sizeof(*args));
	*error_r = NULL;
	ret = cli_args_parse(argc, argv, accept, stop, args, &n, error_r);
	ops[0] = '\0';
	for (int i = 0; ret == 0 && i < n; i++) {
		strncat(ops, argv[i], opsize - strlen(ops) - 2);
		if (i + 1 < n)
			strcat(ops, "|");
	}
	/* Strings in args point into copy: compare before it goes. */
	if (args->reason != NULL)
		snprintf(ops + strlen(ops), opsize - strlen(ops), " reason=%s", args->reason);
	free(copy);
	args->reason = NULL;
	args->config = args->database = args->note = args->actor = args->dir = NULL;
	return ret;
}

static void
test_args(void)
{
	struct cli_args a;
	char ops[256], *err;

	tap_is_int(parse("--json a@x -c /etc/x.conf --reason=spam b@y -- -c", CLI_OPT_REASON, false,
			 &a, ops, sizeof(ops), &err), 0, "mixed options and operands");
	tap_is_str(ops, "a@x|b@y|-c reason=spam", "operands in order, -- ends options");
	tap_ok(a.json && (a.seen & CLI_OPT_CONFIG), "global options accepted everywhere");

	tap_is_int(parse("-n 5 --days 7 - x", CLI_OPT_LIMIT | CLI_OPT_DAYS, false, &a, ops,
			 sizeof(ops), &err), 0, "numbers");
	tap_ok(a.limit == 5 && a.days == 7, "-n 5 --days 7");
	tap_is_str(ops, "-|x", "- alone is an operand");

	tap_is_int(parse("--since 2026-11-01 --apply --undo 7 --real --code 550", CLI_OPT_SINCE |
			 CLI_OPT_APPLY | CLI_OPT_UNDO | CLI_OPT_REAL | CLI_OPT_CODE, false, &a, ops,
			 sizeof(ops), &err), 0, "the options of reclassify, incidents and rules test");
	tap_ok(a.apply && a.undo == 7 && a.real && a.code == 550 && !a.dry_run && !a.sender_side &&
		       (a.seen & CLI_OPT_SINCE), "--apply --undo 7 --real --code 550 --since");

	tap_is_int(parse("-c f stats --days 3", 0, true, &a, ops, sizeof(ops), &err), 0,
		   "global pass stops at the command");
	tap_is_str(ops, "stats|--days|3", "the rest is left for the command");

	static const struct {
		const char *line;
		unsigned accept;
		const char *error;
	} bad[] = {
		{ "--bogus", 0, "unknown option \"--bogus\"" },
		{ "-x", 0, "unknown option \"-x\"" },
		{ "-cfoo", 0, "one letter per option" },
		{ "--days 3", 0, "--days does not apply here" },
		{ "--days", CLI_OPT_DAYS, "--days needs a value" },
		{ "--days x", CLI_OPT_DAYS, "--days wants a whole number" },
		{ "--days -1", CLI_OPT_DAYS, "--days wants a whole number" },
		{ "--days 99999999999", CLI_OPT_DAYS, "--days wants a whole number" },
		{ "--json=yes", 0, "--json takes no value" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = parse(bad[i].line, bad[i].accept, false, &a, ops, sizeof(ops), &err);

		tap_ok(ret < 0 && err != NULL && strstr(err, bad[i].error) != NULL,
		       "\"%s\": error \"%s\" contains \"%s\"", bad[i].line, err ? err : "(none)",
		       bad[i].error);
		free(err);
	}
}

/*
 * test_manual - every command in the table is documented in rebound(1)
 * as ".It Cm word sub", and the page documents no command that is not.
 */
static void
test_manual(const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[512];
	int documented[64] = { 0 }, stray = 0;

	if (!tap_ok(fp != NULL, "read %s (run from the top of the tree)", path))
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char word[64] = "", sub[64] = "";
		size_t i;

		if (strncmp(line, ".It Cm ", 7) != 0 || sscanf(line + 7, "%63s %63s", word, sub) < 1)
			continue;
		/* Only the command list uses ".It Cm command"; options use Fl. */
		for (i = 0; cli_command_at(i) != NULL; i++) {
			const struct cli_command *c = cli_command_at(i);

			if (strcmp(c->word, word) == 0 && (c->sub == NULL || strcmp(c->sub, sub) == 0))
				break;
		}
		if (cli_command_at(i) == NULL || i >= 64) {
			tap_diag("documented but unknown: %s %s", word, sub);
			stray++;
		} else {
			documented[i] = 1;
		}
	}
	fclose(fp);
	for (size_t i = 0; cli_command_at(i) != NULL && i < 64; i++)
		tap_ok(documented[i], "\"%s%s%s\" documented in %s", cli_command_at(i)->word,
		       cli_command_at(i)->sub ? " " : "",
		       cli_command_at(i)->sub ? cli_command_at(i)->sub : "", path);
	tap_is_int(stray, 0, "no documented command that does not exist");
}

static void
test_table(void)
{
	int dup = 0;

	for (size_t i = 0; cli_command_at(i) != NULL; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(cli_command_at(i)->word, cli_command_at(j)->word) == 0 &&
			    (cli_command_at(i)->sub == NULL || cli_command_at(j)->sub == NULL ||
			     strcmp(cli_command_at(i)->sub, cli_command_at(j)->sub) == 0))
				dup++;
	tap_is_int(dup, 0, "no command is listed twice or shadowed");
	tap_ok(cli_command_at(0) != NULL && cli_command_at(0)->run != NULL, "commands have a function");
}

int
main(void)
{
	test_args();
	test_table();
	test_manual("man/rebound.1");
	return tap_done();
}
