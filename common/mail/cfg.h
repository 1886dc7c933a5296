/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_CFG_H
#define REBOUND_CFG_H

#include <stdbool.h>
#include <stddef.h>

/*
 * cfg - rebound.conf, shared by every rebound program.
 *
 * The file is "name = value" lines in the style of Postfix main.cf: '#'
 * starts a comment line, a line that begins with white space continues the
 * previous one, and a later setting overrides an earlier one.  Every
 * parameter is declared once, in the table in cfg.c, with its type, default
 * and bounds; rebound.conf(5) documents each one.  Unknown names and bad
 * values are errors that name the file and line.
 *
 * A loaded struct cfg is read-only.  Lists are NULL-terminated arrays.
 */

#ifndef REBOUND_SYSCONFDIR
#define REBOUND_SYSCONFDIR "/etc/rebound"
#endif
#define CFG_DEFAULT_PATH REBOUND_SYSCONFDIR "/rebound.conf"

#ifndef REBOUND_DATADIR
#define REBOUND_DATADIR "/usr/local/share/rebound"
#endif

/* What the milter does when something it depends on fails. */
enum cfg_action {
	CFG_ACTION_ACCEPT,	/* let the mail through unprocessed */
	CFG_ACTION_TEMPFAIL,	/* answer 4xx so that the client retries */
};

enum cfg_raw_policy {
	CFG_RAW_UNPARSED,	/* keep the raw copy of bounces we cannot parse */
	CFG_RAW_ALL,		/* keep the raw copy of every bounce */
};

struct cfg {
	char *path;			/* file it came from, or "(defaults)" */

	/* PostgreSQL */
	char *database;			/* libpq connection string */
	unsigned db_connect_timeout;	/* seconds */
	unsigned db_statement_timeout;	/* seconds */

	/* logging */
	char *syslog_facility;
	char *syslog_name;
	char *syslog_socket;		/* empty: syslog(3), /dev/log */
	char *log_file;			/* empty: syslog only */

	/* bounce processing */
	char **bounce_domains;
	char *verp_delimiters;		/* two characters, default "+=" */
	char **local_mta_names;		/* obsolete and ignored; see rebound.conf(5) */
	size_t max_message_size;
	size_t raw_message_limit;
	enum cfg_raw_policy raw_messages;
	unsigned pipe_time_limit;	/* seconds */
	char *lmtp_postfix_user;	/* whose XFORWARD rebound-pipe --lmtp believes */
	char *rules_directory;		/* site rule files, may be empty */
	char *builtin_rules_directory;	/* the rule files shipped with rebound */

	/* signed return paths (rebound-milter writes them, both verify them) */
	char *token_key_file;		/* current HMAC key; empty: tokens off */
	char *token_previous_key_file;	/* the key before a rotation, may be empty */
	unsigned token_lifetime;	/* seconds a return path stays valid */
	char *return_path_prefix;	/* local part before the token */

	/* rebound-milter */
	char *milter_socket;		/* libmilter socket: inet:port@host, unix:path */
	char *milter_user;		/* user the milter runs as after binding */
	char *milter_pid_file;		/* written when the milter daemonizes */
	char *milter_spool_directory;	/* records wait here while the database is down */
	size_t milter_queue_size;	/* records in memory before they spill to the spool */
	unsigned milter_record_timeout;	/* seconds a reply waits for its record to be stored */
	char **sender_domains;		/* envelope sender domains whose mail gets a token */
	bool token_header;		/* add X-Rebound-Token to outbound mail */
	bool bounce_classic_verp;	/* accept prefix+user=domain at the bounce domains */
	unsigned suppression_refresh;	/* seconds between full reloads of the list */
	char *suppression_reply;	/* reply to a suppressed recipient; %a address, %r reason */
	enum cfg_action suppression_failure_action;	/* when the list cannot be loaded */
	enum cfg_action milter_failure_action;		/* when anything else fails */
};

/* cfg_load - read path (CFG_DEFAULT_PATH if NULL); -1 and *error_r on error */
int cfg_load(const char *path, struct cfg **cfg_r, char **error_r);

/* cfg_parse - parse text as if read from a file called name */
int cfg_parse(const char *text, size_t len, const char *name, struct cfg **cfg_r,
	      char **error_r);

/* cfg_free - release *cfgp and set it to NULL; accepts NULL */
void cfg_free(struct cfg **cfgp);


/* cfg_param_name - name of parameter i, or NULL past the end */
const char *cfg_param_name(size_t i);

#endif
