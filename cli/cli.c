/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli - dispatch, configuration, connection and error advice for the
 * rebound tool.
 *
 * The command table below is the one place that lists subcommands: the
 * help text and the dispatch come from it, and a unit test checks that
 * rebound(1) documents every row.  A subcommand that parses its own
 * arguments (CLI_RAW) gets everything after its words untouched.
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util/msg.h"
#include "util/xalloc.h"

static const struct cli_command cli_commands[] = {
	{ "stats", NULL, cli_stats, CLI_OPT_DAYS | CLI_OPT_LIMIT, CLI_DB, "",
	  "failures, suppressions and reviews at a glance" },
	{ "suppress", "add", cli_suppress_add, CLI_OPT_REASON | CLI_OPT_NOTE | CLI_OPT_ACTOR,
	  CLI_DB, "ADDRESS... | -", "add addresses or domains to the suppression list" },
	{ "suppress", "remove", cli_suppress_remove, CLI_OPT_NOTE | CLI_OPT_ACTOR, CLI_DB,
	  "ADDRESS... | -", "remove them; the soft-failure count starts again" },
	{ "suppress", "list", cli_suppress_list, CLI_OPT_LIMIT, CLI_DB, "[TEXT]",
	  "show the suppression list, or the entries containing TEXT" },
	{ "suppress", "export", cli_suppress_export, CLI_OPT_CSV, CLI_DB, "",
	  "write the whole list: one address per line, CSV or JSON lines" },
	{ "events", NULL, cli_events, CLI_OPT_LIMIT | CLI_OPT_FOLLOW | CLI_OPT_COUNT, CLI_DB, "",
	  "show the latest events, or follow new ones as they are recorded" },
	{ "classify", NULL, cli_classify, CLI_OPT_EXPLAIN, 0, "FILE|DIRECTORY ...",
	  "classify bounce files as rebound-pipe --classify does; no database" },
	{ "return-path", "check", cli_return_path_check, 0, 0, "ADDRESS ...",
	  "verify the signed token of bounce addresses; no database" },
	{ "reclassify", NULL, cli_reclassify,
	  CLI_OPT_SINCE | CLI_OPT_UNTIL | CLI_OPT_RULES | CLI_OPT_DRY_RUN | CLI_OPT_APPLY |
	  CLI_OPT_UNDO | CLI_OPT_ACTOR, CLI_DB, "",
	  "read stored bounces again with the rules; show, apply or undo what changes" },
	{ "incidents", "list", cli_incidents_list, CLI_OPT_LIMIT, CLI_DB, "",
	  "list the bursts that hold suppressions, open ones first" },
	{ "incidents", "show", cli_incidents_show, 0, CLI_DB, "ID",
	  "show one incident and the suppressions it holds" },
	{ "incidents", "close", cli_incidents_close,
	  CLI_OPT_REAL | CLI_OPT_SENDER_SIDE | CLI_OPT_NOTE | CLI_OPT_ACTOR, CLI_DB, "ID",
	  "close an incident: --real applies what it holds, --sender-side releases it" },
	{ "rules", "test", cli_rules_test, CLI_OPT_STATUS | CLI_OPT_CODE, 0, "TEXT",
	  "what the rules make of a reply text, and which rule decides; no database" },
	{ "review", NULL, cli_review, CLI_OPT_LIMIT | CLI_OPT_DAYS, CLI_DB, "",
	  "the reply texts no rule understood, grouped, newest first" },
	{ "db", "migrate", cli_db_migrate, CLI_OPT_DIR, CLI_DB, "",
	  "apply the schema migrations the database lacks" },
	{ "db", "status", cli_db_status, CLI_OPT_DIR, CLI_DB, "",
	  "show which migrations are applied" },
	{ "db", "maintain", cli_db_maintain, 0, CLI_DB, "",
	  "close the incidents that are due, drop raw copies past raw_retention_days" },
};

#define CLI_NCOMMANDS (sizeof(cli_commands) / sizeof(cli_commands[0]))

const struct cli_command *
cli_command_at(size_t i)
{
	return i < CLI_NCOMMANDS ? &cli_commands[i] : NULL;
}

/* cli_synopsis - one usage line of cmd */
static void
cli_synopsis(const struct cli_command *cmd, FILE *fp)
{
	fprintf(fp, "rebound %s%s%s", cmd->word, cmd->sub ? " " : "", cmd->sub ? cmd->sub : "");
	if (!(cmd->flags & CLI_RAW)) {
		for (unsigned bit = 1; bit != 0 && bit <= cmd->opts; bit <<= 1)
			if (cmd->opts & bit)
				fprintf(fp, " [%s]", cli_args_usage(bit));
		fputs(" [--json]", fp);
	}
	fprintf(fp, "%s%s\n", cmd->synopsis[0] ? " " : "", cmd->synopsis);
}

/* cli_help - the tool's help, on stdout */
static void
cli_help(FILE *fp)
{
	fputs("usage: rebound [-c FILE] [-d CONNINFO] [--json] COMMAND [ARGS]\n\n", fp);
	for (size_t i = 0; i < CLI_NCOMMANDS; i++) {
		fputs("  ", fp);
		cli_synopsis(&cli_commands[i], fp);
		fprintf(fp, "      %s\n", cli_commands[i].summary);
	}
	fputs("\nThe database is the one rebound.conf names (" CFG_DEFAULT_PATH
	      " or -c FILE),\nor -d CONNINFO.  See rebound(1) and rebound(7).\n", fp);
}

int
cli_usage(const struct cli_command *cmd, const char *error)
{
	if (error != NULL)
		msg_error("%s", error);
	fputs("usage: ", stderr);
	if (cmd != NULL)
		cli_synopsis(cmd, stderr);
	else
		fputs("rebound [-c FILE] [-d CONNINFO] [--json] COMMAND [ARGS]\n", stderr);
	fputs("run 'rebound -h' for the list of commands\n", stderr);
	return EX_USAGE;
}

const char *
cli_actor(const struct cli *cli)
{
	const char *sudo = getenv("SUDO_USER");
	const struct passwd *pw;

	if (cli->args.actor != NULL)
		return cli->args.actor;
	if (geteuid() == 0 && sudo != NULL && *sudo != '\0')
		return sudo;
	pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_name : NULL;
}

/* cli_find - the command named by argv; *used_r words were its name */
static const struct cli_command *
cli_find(int argc, char **argv, int *used_r, char **error_r)
{
	char subs[256] = "", text[512];
	size_t len = 0;

	for (size_t i = 0; i < CLI_NCOMMANDS; i++) {
		const struct cli_command *c = &cli_commands[i];

		if (strcmp(c->word, argv[0]) != 0)
			continue;
		if (c->sub == NULL) {
			*used_r = 1;
			return c;
		}
		if (argc > 1 && strcmp(c->sub, argv[1]) == 0) {
			*used_r = 2;
			return c;
		}
		len += (size_t)snprintf(subs + len, sizeof(subs) - len, "%s%s", len ? ", " : "",
					c->sub);
		if (len >= sizeof(subs))
			len = sizeof(subs) - 1;
	}
	if (subs[0] == '\0')
		snprintf(text, sizeof(text), "unknown command \"%.64s\"", argv[0]);
	else if (argc > 1)
		snprintf(text, sizeof(text), "unknown subcommand \"%.64s %.64s\" (want %s)", argv[0],
			 argv[1], subs);
	else
		snprintf(text, sizeof(text), "%.64s needs a subcommand (%s)", argv[0], subs);
	*error_r = xstrdup(text);
	return NULL;
}

int
cli_config(struct cli *cli)
{
	const char *path = cli->args.config;
	char *error = NULL;

	if (cli->cfg != NULL)
		return 0;
	if (path == NULL && access(CFG_DEFAULT_PATH, F_OK) < 0 && errno == ENOENT) {
		/* No configuration at all: libpq's defaults and dbname=rebound. */
		if (cfg_parse("", 0, "(built-in defaults)", &cli->cfg, &error) < 0) {
			msg_error("%s", error);
			free(error);
			return EX_SOFTWARE;
		}
		cli->cfg_source = "the built-in default (there is no " CFG_DEFAULT_PATH ")";
	} else if (cfg_load(path, &cli->cfg, &error) < 0) {
		msg_error("%s", error);
		msg_info("hint: name another file with -c FILE; see rebound.conf(5)");
		free(error);
		return EX_CONFIG;
	} else {
		cli->cfg_source = cli->cfg->path;
	}
	if (cli->args.database != NULL)
		cli->cfg_source = "-d";
	/*
	 * Its errors also go to the log file, beside those of the programs,
	 * when it exists and we may write to it; the tool never creates it:
	 * run as root, it would make a file the others cannot write.
	 */
	if (cli->cfg->log_file[0] != '\0' && access(cli->cfg->log_file, W_OK) == 0)
		(void)msg_log_file(cli->cfg->log_file);
	return 0;
}

/*
 * cli_connect_hint - what to do about a connection that failed with
 * error.  Debian's PostgreSQL lets a local system user in only as the
 * database role of the same name (peer authentication), so root, who
 * runs the tool more often than not, is refused as role root (which does
 * not exist) or as rebound (which root is not).
 */
static void
cli_connect_hint(const struct cli *cli, const char *error)
{
	if (strstr(error, "Peer authentication failed") != NULL ||
	    (geteuid() == 0 && strstr(error, "role \"root\" does not exist") != NULL)) {
		msg_info("hint: PostgreSQL lets a local system user in only as the database role of "
			 "the same name (peer authentication): run the tool as the database's user, "
			 "\"runuser -u rebound -- rebound ...\", or connect as a role with a password "
			 "(user= and passfile= in -d CONNINFO, or PGUSER and ~/.pgpass when the "
			 "connection string names no user=); see rebound(1)");
		return;
	}
	msg_info("hint: the connection string comes from %s; check it and that PostgreSQL "
		 "is running, or name one with -d CONNINFO",
		 strcmp(cli->cfg_source, "-d") == 0 ? "-d" : cli->cfg_source);
}

int
cli_db(struct cli *cli)
{
	struct db_params params;
	char *error = NULL;
	int status;

	if (cli->db != NULL)
		return 0;
	if ((status = cli_config(cli)) != 0)
		return status;
	params.conninfo = cli->args.database ? cli->args.database : cli->cfg->database;
	params.connect_timeout = cli->cfg->db_connect_timeout;
	params.statement_timeout = cli->cfg->db_statement_timeout;
	params.application_name = "rebound";
	if (db_connect(&params, &cli->db, &error) < 0) {
		msg_error("cannot connect to the database: %s", error);
		cli_connect_hint(cli, error);
		free(error);
		return EX_UNAVAILABLE;
	}
	return 0;
}

/* cli_clean_error - the server's words without libpq's "ERROR:  " noise */
static const char *
cli_clean_error(const char *error)
{
	const char *p = strstr(error, "ERROR:  ");

	return p != NULL ? p + 8 : error;
}

int
cli_db_failure(struct cli *cli, const char *what, char *error)
{
	const char *state = cli->db != NULL ? db_sqlstate(cli->db) : "";
	const char *hint = NULL;
	int status = EX_SOFTWARE;

	if (cli->db == NULL || !db_connection_ok(cli->db) || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0) {
		status = EX_UNAVAILABLE;
		hint = "the database connection was lost; try again when PostgreSQL is back";
	} else if (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0 ||
		   strcmp(state, "42883") == 0 || strcmp(state, "42703") == 0) {
		status = EX_CONFIG;
		hint = "the rebound schema is missing or older than this program: "
		       "run 'rebound db migrate'";
	} else if (strcmp(state, "42501") == 0) {
		status = EX_NOPERM;
		hint = "the database user lacks the rights this needs; "
		       "connect as the owner of schema rebound";
	} else if (strcmp(state, "57014") == 0) {
		status = EX_TEMPFAIL;
		hint = "the statement ran longer than db_statement_timeout; raise it in rebound.conf";
	} else if (strcmp(state, "25006") == 0) {
		status = EX_UNAVAILABLE;
		hint = "this server is a read-only standby; add target_session_attrs=read-write "
		       "to the connection string";
	} else if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
		   strcmp(state, "P0002") == 0) {
		/* Bad input, or something named that does not exist (P0002). */
		status = EX_DATAERR;
	}
	msg_error("%s: %s", what, cli_clean_error(error));
	if (hint != NULL)
		msg_info("hint: %s", hint);
	free(error);
	return status;
}

PGresult *
cli_query(struct cli *cli, const char *what, const char *sql, int nparams,
	  const char *const *values, ExecStatusType want, int *status_r)
{
	char *error = NULL;
	PGresult *res = db_query(cli->db, sql, nparams, values, want, &error);

	if (res == NULL)
		*status_r = cli_db_failure(cli, what, error);
	return res;
}

PGresult *
cli_query_committed(struct cli *cli, const char *what, const char *sql, int nparams,
		    const char *const *values, int *status_r)
{
	char *error = NULL;
	PGresult *res;

	if (db_exec(cli->db, "BEGIN", &error) < 0) {
		*status_r = cli_db_failure(cli, "begin", error);
		return NULL;
	}
	res = cli_query(cli, what, sql, nparams, values, PGRES_TUPLES_OK, status_r);
	if (res != NULL && db_commit(cli->db, &error) < 0) {
		*status_r = cli_db_failure(cli, "commit", error);
		PQclear(res);
		res = NULL;
	}
	if (res == NULL)
		db_rollback(cli->db);
	return res;
}

/* cli_type - how a PostgreSQL type prints in JSON (OIDs from pg_type.dat) */
static enum table_type
cli_type(Oid type)
{
	switch (type) {
	case 16:		/* bool */
		return TABLE_BOOL;
	case 20:		/* int8 */
	case 21:		/* int2 */
	case 23:		/* int4 */
	case 700:		/* float4 */
	case 701:		/* float8 */
	case 1700:		/* numeric */
		return TABLE_NUMBER;
	case 114:		/* json */
	case 3802:		/* jsonb */
		return TABLE_JSON;
	default:
		return TABLE_TEXT;
	}
}

struct table *
cli_table(const PGresult *res)
{
	int ncols = PQnfields(res);
	struct table *t = table_create((size_t)ncols);
	const char **cells = xcalloc((size_t)(ncols ? ncols : 1), sizeof(*cells));

	for (int c = 0; c < ncols; c++)
		table_column(t, (size_t)c, PQfname(res, c), cli_type(PQftype(res, c)));
	for (int r = 0; r < PQntuples(res); r++) {
		for (int c = 0; c < ncols; c++)
			cells[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
		table_add_row(t, cells);
	}
	free(cells);
	return t;
}

/* cli_print - a table as the command's output, JSON or text */
void
cli_print(struct cli *cli, const struct table *t, const char *if_empty)
{
	if (cli->args.json) {
		table_print_json(t, cli->out);
		fputc('\n', cli->out);
	} else if (table_rows(t) == 0 && if_empty != NULL) {
		fprintf(cli->out, "%s\n", if_empty);
	} else {
		table_print_text(t, cli->out);
	}
}

/* cli_run - parse the command's options, connect if it needs to, run it */
static int
cli_run(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
	char *error = NULL;
	int status;

	cli->cmd = cmd;
	if (!(cmd->flags & CLI_RAW)) {
		if (cli_args_parse(argc, argv, cmd->opts, false, &cli->args, &argc, &error) < 0) {
			status = cli_usage(cmd, error);
			free(error);
			return status;
		}
		if (cli->args.help) {
			fputs("usage: ", cli->out);
			cli_synopsis(cmd, cli->out);
			fprintf(cli->out, "%s\n", cmd->summary);
			return 0;
		}
	}
	if ((cmd->flags & CLI_DB) && (status = cli_db(cli)) != 0)
		return status;
	return cmd->run(cli, argc, argv);
}

int
cli_main(int argc, char **argv)
{
	struct cli cli = { .out = stdout };
	const struct cli_command *cmd;
	char *error = NULL;
	int n, used = 0, status;

	argc--, argv++;
	if (cli_args_parse(argc, argv, CLI_OPT_GLOBAL, true, &cli.args, &n, &error) < 0) {
		status = cli_usage(NULL, error);
		free(error);
		return status;
	}
	if (n == 0 || strcmp(argv[0], "help") == 0) {
		if (!cli.args.help && n == 0)
			return cli_usage(NULL, "no command given");
		cli_help(cli.out);
		return 0;
	}
	if ((cmd = cli_find(n, argv, &used, &error)) == NULL) {
		status = cli_usage(NULL, error);
		free(error);
		return status;
	}
	status = cli_run(&cli, cmd, n - used, argv + used);
	db_free(&cli.db);
	cfg_free(&cli.cfg);
	if (fflush(cli.out) != 0 || ferror(cli.out)) {
		msg_error("write to standard output: %s", strerror(errno));
		if (status == 0)
			status = EX_IOERR;
	}
	return status;
}
