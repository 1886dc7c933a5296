/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_classify - "rebound classify": rebound-pipe's batch mode from the
 * tool, with the same classifier, rules and output (batch.c); --explain
 * prints every rule tried for each recipient instead.
 */
#include "classify/batch.h"
#include "cli.h"

int
cli_classify(struct cli *cli, int argc, char **argv)
{
	int status;

	if (argc == 0)
		return cli_usage(cli->cmd, "name at least one file or directory");
	if ((status = cli_config(cli)) != 0)
		return status;
	return batch_classify(cli->cfg, argv, (size_t)argc,
			      cli->args.explain ? BATCH_EXPLAIN : 0, cli->out, stderr);
}
