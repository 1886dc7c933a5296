/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_CLI_H
#define REBOUND_CLI_H

#include <stdio.h>
#include <sysexits.h>

#include "mail/cfg.h"
#include "cli_args.h"
#include "mail/db.h"
#include "table.h"

/*
 * cli - the rebound tool: subcommands that read and act on results.
 *
 * cli_main() parses the global options, finds the subcommand in one table
 * (cli.c), parses its options, loads rebound.conf and connects to
 * PostgreSQL when the subcommand needs it, and runs it.  Each subcommand
 * is a function in a cli_*.c module; adding one is a row in that table.
 *
 * Exit statuses, documented in rebound(1):
 *
 *	0		success
 *	1		an address given to "suppress remove" was not listed
 *	EX_USAGE	bad command line
 *	EX_DATAERR	bad input: an address, a reason, a migration file
 *	EX_NOINPUT	a file or directory named or needed is missing
 *	EX_UNAVAILABLE	the database cannot be reached, or the connection broke
 *	EX_SOFTWARE	an unexpected database error
 *	EX_TEMPFAIL	a statement timed out
 *	EX_NOPERM	the database refused: permission denied
 *	EX_CONFIG	rebound.conf is wrong, or the schema is missing or old
 */
#define CLI_NOT_FOUND 1

struct cli {
	struct cli_args args;
	const struct cli_command *cmd;	/* the subcommand running */
	struct cfg *cfg;		/* loaded by cli_config() */
	const char *cfg_source;		/* where the database setting came from */
	struct db *db;			/* opened by cli_db() */
	FILE *out;			/* stdout */
};

/* A subcommand: argv holds its operands (or, with CLI_RAW, everything). */
typedef int cli_run_fn(struct cli *cli, int argc, char **argv);

enum cli_command_flags {
	CLI_DB = (1 << 0),	/* connect to the database before running */
	CLI_RAW = (1 << 1),	/* pass the arguments after the command unparsed */
};

struct cli_command {
	const char *word;	/* "suppress" */
	const char *sub;	/* "add", or NULL */
	cli_run_fn *run;
	unsigned opts;		/* accepted cli_opt_bits beyond the global ones */
	unsigned flags;		/* cli_command_flags */
	const char *synopsis;	/* operands, after the options */
	const char *summary;
};

/* cli_main - the whole tool; returns the exit status */
int cli_main(int argc, char **argv);

/* cli_command_at - row i of the command table, or NULL past the end */
const struct cli_command *cli_command_at(size_t i);

/* cli_config - load rebound.conf once; 0 or an exit status (reported) */
int cli_config(struct cli *cli);

/* cli_db - connect once; 0 or an exit status (reported) */
int cli_db(struct cli *cli);

/*
 * cli_db_failure - report a failed statement (error is freed) with advice
 * that fits its SQLSTATE, and return the exit status for it.
 */
int cli_db_failure(struct cli *cli, const char *what, char *error);

/*
 * cli_query - db_query() that reports a failure itself: NULL and
 * *status_r set to the exit status, or the result (PQclear it).
 */
PGresult *cli_query(struct cli *cli, const char *what, const char *sql, int nparams,
		    const char *const *values, ExecStatusType want, int *status_r);

/*
 * cli_query_committed - cli_query() for rows, in a transaction of its own
 * that is committed before the result is returned, so that what the
 * caller prints of it is durable; NULL (rolled back, *status_r set) if
 * the statement or the commit fails.
 */
PGresult *cli_query_committed(struct cli *cli, const char *what, const char *sql, int nparams,
			      const char *const *values, int *status_r);

/* cli_table - a table holding a query result, typed by column */
struct table *cli_table(const PGresult *res);

/*
 * cli_print - print t as the command's output: a JSON array and a newline
 * with --json, else an aligned text table, or the line if_empty (when not
 * NULL) for a table without rows.
 */
void cli_print(struct cli *cli, const struct table *t, const char *if_empty);

/* cli_usage - report a usage error for cmd (or the tool) and return EX_USAGE */
int cli_usage(const struct cli_command *cmd, const char *error);

/* cli_actor - who acts, for the records: --actor, the sudo user, or the login name */
const char *cli_actor(const struct cli *cli);

/*
 * rundiff - what a reclassify run changed (cli_rundiff.c): fetched in the
 * run's transaction, printed once its commit or rollback is done.
 */
struct rundiff;

/* rundiff_fetch - read run's record; NULL and *status_r (reported) on error */
struct rundiff *rundiff_fetch(struct cli *cli, const char *run, int *status_r);

/* rundiff_print - the report, for people or as one JSON object */
void rundiff_print(struct cli *cli, const struct rundiff *d, bool applied, double seconds);

/* rundiff_free - release *dp and set it to NULL; accepts NULL */
void rundiff_free(struct rundiff **dp);

/* The subcommands. */
cli_run_fn cli_stats;
cli_run_fn cli_suppress_add;
cli_run_fn cli_suppress_remove;
cli_run_fn cli_suppress_list;
cli_run_fn cli_suppress_export;
cli_run_fn cli_events;
cli_run_fn cli_db_migrate;
cli_run_fn cli_db_status;
cli_run_fn cli_classify;
cli_run_fn cli_return_path_check;
cli_run_fn cli_reclassify;
cli_run_fn cli_incidents_list;
cli_run_fn cli_incidents_show;
cli_run_fn cli_incidents_close;
cli_run_fn cli_rules_test;
cli_run_fn cli_review;
cli_run_fn cli_db_maintain;

#endif
