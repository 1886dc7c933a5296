/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rebound - the operator's tool: statistics, the suppression list, live
 * events, schema migrations.  See rebound(1).
 *
 * main() sets up logging to standard error and hands over to cli_main()
 * in cli/cli.c, which parses the command line, loads rebound.conf,
 * connects to PostgreSQL and runs the subcommand.
 */
#include <stdlib.h>
#include <sysexits.h>

#include "cli.h"
#include "util/msg.h"

int
main(int argc, char **argv)
{
	msg_open("rebound", 0, MSG_TO_STDERR);
	/* Out of memory and other fatal errors: an internal error. */
	msg_set_fatal_status(EX_SOFTWARE);
	return cli_main(argc, argv);
}
