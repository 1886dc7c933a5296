/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_CLI_ARGS_H
#define REBOUND_CLI_ARGS_H

#include <stdbool.h>

/*
 * cli_args - the options of the rebound tool, parsed from argv.
 *
 * Every option of every subcommand is one row of a table in cli_args.c
 * and one bit below; each subcommand says which bits it accepts, and the
 * global ones (-c, -d, --json, -h) are accepted everywhere.  Options and
 * operands may be mixed; "--" ends the options.  Long options take their
 * value as "--name value" or "--name=value".  The parser is pure: errors
 * come back as an allocated message, in the words of the command line.
 */
enum cli_opt_bits {
	CLI_OPT_CONFIG = (1 << 0),	/* -c, --config FILE */
	CLI_OPT_DATABASE = (1 << 1),	/* -d, --database CONNINFO */
	CLI_OPT_JSON = (1 << 2),	/* --json */
	CLI_OPT_HELP = (1 << 3),	/* -h, --help */
	CLI_OPT_DAYS = (1 << 4),	/* --days N */
	CLI_OPT_LIMIT = (1 << 5),	/* -n, --limit N */
	CLI_OPT_REASON = (1 << 6),	/* --reason WORD */
	CLI_OPT_NOTE = (1 << 7),	/* --note TEXT */
	CLI_OPT_ACTOR = (1 << 8),	/* --actor NAME */
	CLI_OPT_CSV = (1 << 9),		/* --csv */
	CLI_OPT_FOLLOW = (1 << 10),	/* -f, --follow */
	CLI_OPT_COUNT = (1 << 11),	/* --count N */
	CLI_OPT_DIR = (1 << 12),	/* --dir DIR */
	CLI_OPT_EXPLAIN = (1 << 13),	/* --explain */
	CLI_OPT_SINCE = (1 << 14),	/* --since DATE */
	CLI_OPT_UNTIL = (1 << 15),	/* --until DATE */
	CLI_OPT_RULES = (1 << 16),	/* --rules DIR */
	CLI_OPT_DRY_RUN = (1 << 17),	/* --dry-run */
	CLI_OPT_APPLY = (1 << 18),	/* --apply */
	CLI_OPT_UNDO = (1 << 19),	/* --undo RUN */
	CLI_OPT_STATUS = (1 << 20),	/* --status X.Y.Z */
	CLI_OPT_CODE = (1 << 21),	/* --code NNN */
	CLI_OPT_REAL = (1 << 22),	/* --real */
	CLI_OPT_SENDER_SIDE = (1 << 23),	/* --sender-side */
};

#define CLI_OPT_GLOBAL (CLI_OPT_CONFIG | CLI_OPT_DATABASE | CLI_OPT_JSON | CLI_OPT_HELP)

struct cli_args {
	unsigned seen;			/* the bits of the options given */
	const char *config;
	const char *database;
	bool json;
	bool help;
	unsigned days;
	unsigned limit;
	const char *reason;
	const char *note;
	const char *actor;
	bool csv;
	bool follow;
	unsigned count;
	const char *dir;
	bool explain;
	const char *since;
	const char *until;
	const char *rules;
	bool dry_run;
	bool apply;
	unsigned undo;
	const char *status;
	unsigned code;
	bool real;
	bool sender_side;
};

/*
 * cli_args_parse - parse argv[0..argc) into *args, accepting the options
 * in accept.  Operands are moved, in order, to the front of argv and
 * counted in *nargs_r.  With stop_at_operand, parsing stops at the first
 * operand, which is left with everything after it for a later pass.
 * Strings in *args point into argv.  Returns 0, or -1 and *error_r
 * (free it).
 */
int cli_args_parse(int argc, char **argv, unsigned accept, bool stop_at_operand,
		   struct cli_args *args, int *nargs_r, char **error_r);

/* cli_args_usage - "--days N" style text of one option bit, for help */
const char *cli_args_usage(unsigned bit);

#endif
