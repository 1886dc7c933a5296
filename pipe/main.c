/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rebound-pipe - the pipe(8) delivery agent for the bounce domain.
 *
 * main() parses arguments, loads rebound.conf, sets up logging and the
 * time limit, refuses root, and hands one message to deliver_bounce().
 * Whatever goes wrong before a durable commit ends in EX_TEMPFAIL with a
 * "4.x.x" line, so that Postfix keeps the bounce and retries.
 *
 * With --classify it is a read-only tool instead: batch_run() classifies
 * files with the same classifier and prints JSON Lines, or with --explain
 * every rule tried for each recipient.  It needs no database and runs as
 * any user, root included.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "classify/batch.h"
#include "mail/cfg.h"
#include "classify/classifier.h"
#include "deliver.h"
#include "lmtp.h"
#include "util/msg.h"
#include "mail/token.h"

/* usage - print the synopsis and exit */
static void
usage(void)
{
	fprintf(stderr, "usage: rebound-pipe [-c config] -q queue_id -r recipient "
			"--client-address=${client_address}\n"
			"       rebound-pipe [-c config] --lmtp\n"
			"       rebound-pipe [-c config] [-u user] -n\n"
			"       rebound-pipe [-c config] --classify [--explain] file|directory ...\n");
	exit(EX_USAGE);
}

/* tempfail - tell Postfix to retry, and exit */
static _Noreturn void
tempfail(const char *dsn_line)
{
	printf("%s\n", dsn_line);
	fflush(stdout);
	exit(EX_TEMPFAIL);
}

/* on_alarm - our own deadline, well before pipe(8)'s time limit bounces */
static void
on_alarm(int sig)
{
	static const char text[] = "4.3.0 rebound-pipe time limit exceeded\n";

	(void)sig;
	(void)!write(STDOUT_FILENO, text, sizeof(text) - 1);
	_exit(EX_TEMPFAIL);
}

/*
 * Why log_file could not be opened, or "": said to Postfix too, which logs
 * our output line, because without syslog nobody else would hear of it.
 */
static char log_problem[128];

/* setup_logging - syslog and the optional log file, never stderr */
static void
setup_logging(const struct cfg *cfg)
{
	int facility = msg_facility_code(cfg->syslog_facility);
	const char *name = cfg->syslog_name[0] ? cfg->syslog_name : "rebound-pipe";

	/*
	 * stderr reaches Postfix through the same pipe as stdout, where only
	 * the one status line belongs.
	 */
	msg_open(name, facility < 0 ? msg_facility_code("mail") : facility, MSG_TO_SYSLOG);
	if (cfg->syslog_socket[0] != '\0' && msg_syslog_socket(cfg->syslog_socket) < 0)
		msg_warn("syslog_socket %s: %s", cfg->syslog_socket, strerror(errno));
	if (cfg->log_file[0] != '\0' && msg_log_file(cfg->log_file) < 0) {
		snprintf(log_problem, sizeof(log_problem), "; log_file: %s", strerror(errno));
		msg_warn("cannot open log_file %s: %s", cfg->log_file, strerror(errno));
	}
}

/*
 * classify_mode - batch classification.  Without -c, a missing
 * rebound.conf means the defaults: the tool must work on a machine that
 * only has the rules installed.
 */
static int
classify_mode(const char *config, char *const *paths, size_t n, unsigned flags)
{
	struct cfg *cfg = NULL;
	char *error = NULL;
	int ret;

	if (cfg_load(config, &cfg, &error) < 0) {
		if (config != NULL || access(CFG_DEFAULT_PATH, F_OK) == 0) {
			fprintf(stderr, "rebound-pipe: %s\n", error);
			free(error);
			return EX_CONFIG;
		}
		free(error);
		if (cfg_parse("", 0, "(defaults)", &cfg, &error) < 0) {
			fprintf(stderr, "rebound-pipe: %s\n", error);
			free(error);
			return EX_SOFTWARE;
		}
	}
	ret = batch_classify(cfg, paths, n, flags, stdout, stderr);
	cfg_free(&cfg);
	return ret;
}

/*
 * check_become - -n as root: become user (-u, by default rebound), the
 * one master.cf's user= names, so that every check below is made with its
 * rights.  Not root: the checks are made as we are, who should be that
 * user.
 */
static int
check_become(const char *user)
{
	struct passwd *pw;

	if (geteuid() != 0 && user == NULL)
		return EX_OK;
	if (user == NULL)
		user = "rebound";
	pw = getpwnam(user);

	if (pw == NULL) {
		fprintf(stderr, "rebound-pipe: user %s: no such user (the user= of master.cf; "
				"name it with -u)\n", user);
		return EX_CONFIG;
	}
	if (pw->pw_uid == 0) {
		fprintf(stderr, "rebound-pipe: user %s is root; pipe(8) and rebound-pipe refuse to "
				"deliver as root\n", user);
		return EX_CONFIG;
	}
	if (geteuid() != 0) {
		if (geteuid() != pw->pw_uid)
			fprintf(stderr, "rebound-pipe: warning: checking as uid %ld, not as %s: run -n "
					"as root or as %s\n", (long)geteuid(), user, user);
		return EX_OK;
	}
	if (setgid(pw->pw_gid) < 0 || initgroups(pw->pw_name, pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		fprintf(stderr, "rebound-pipe: cannot become %s: %s\n", user, strerror(errno));
		return EX_OSERR;
	}
	return EX_OK;
}

/*
 * check_mode - -n: what a delivery needs, as the user it runs as: the
 * configuration, every rule compiled, the token keys, the log file
 */
static int
check_mode(const char *config, const char *user)
{
	struct classifier *clf = NULL;
	struct token_keys *keys = NULL;
	struct cfg *cfg = NULL;
	char *error = NULL;
	int ret;

	if ((ret = check_become(user)) != EX_OK)
		return ret;
	if (cfg_load(config, &cfg, &error) < 0 ||
	    classifier_create(cfg, &clf, &error) < 0 || classifier_check(clf, &error) < 0 ||
	    (cfg->token_key_file[0] != '\0' &&
	     token_keys_load(cfg->token_key_file, cfg->token_previous_key_file, &keys,
			     &error) < 0) ||
	    (cfg->log_file[0] != '\0' && msg_log_file_check(cfg->log_file, false, &error) < 0)) {
		fprintf(stderr, "rebound-pipe: %s\n", error);
		ret = EX_CONFIG;
	}
	free(error);
	token_keys_free(&keys);
	classifier_free(&clf);
	cfg_free(&cfg);
	return ret;
}

/*
 * deliver_mode - pipe(8) delivery of the message on stdin: refuse root,
 * bound the run time, classify with the process's one classifier, store
 */
static int
deliver_mode(struct cfg *cfg, const char *queue_id, const char *recipient, const char *client)
{
	struct deliver_request req = { 0 };
	struct deliver_outcome out;
	struct classifier *clf = NULL;
	struct db *db = NULL;
	char *error = NULL, *data = NULL;

	setup_logging(cfg);
	if (getuid() == 0 || geteuid() == 0) {
		msg_error("refusing to deliver as root; set user= in master.cf");
		tempfail("4.3.0 rebound-pipe refuses to run as root");
	}
	signal(SIGALRM, on_alarm);
	alarm(cfg->pipe_time_limit);
	if (classifier_create(cfg, &clf, &error) < 0) {
		msg_error("%s", error);
		tempfail("4.3.5 rebound-pipe rule file error; see the mail log");
	}
	if (deliver_read(STDIN_FILENO, cfg->max_message_size, &data, &req.len, &req.size) < 0) {
		msg_warn("%s: read message: %s", queue_id, strerror(errno));
		tempfail("4.3.0 cannot read the message");
	}
	/*
	 * Only Postfix itself hands pipe(8) a message with no SMTP client: a
	 * report that came that way was written by our own Postfix.  What a
	 * report says of itself (Reporting-MTA) is never asked.
	 */
	if (client == NULL)
		msg_warn("%s: no --client-address=${client_address} in master.cf: "
			 "every report is taken for a remote one", queue_id);
	req.queue_id = queue_id;
	req.recipient = recipient;
	req.client_address = client;
	req.local = client != NULL && *client == '\0';
	req.data = data;
	req.truncated = req.size > req.len;
	deliver_bounce(cfg, clf, &db, &req, &out);
	printf("%s%s\n", out.text, log_problem);
	fflush(stdout);
	db_free(&db);
	free(data);
	classifier_free(&clf);
	cfg_free(&cfg);
	return out.status;
}

/*
 * lmtp_mode - the LMTP server of one connection that spawn(8) put on
 * stdin and stdout (stderr too: nothing may be written there).  What goes
 * wrong before the session starts is said in a 421 greeting, so that
 * Postfix defers and retries.
 */
static int
lmtp_mode(const char *config)
{
	struct classifier *clf = NULL;
	struct cfg *cfg = NULL;
	char *error = NULL;
	int null_fd, ret;

	msg_open("rebound-pipe", msg_facility_code("mail"), MSG_TO_SYSLOG);
	msg_set_fatal_line("421 4.3.0 rebound-pipe internal error; see the mail log\r");
	/* libpq prints server notices on stderr, which is the client's socket here. */
	if ((null_fd = open("/dev/null", O_WRONLY)) < 0 || dup2(null_fd, STDERR_FILENO) < 0)
		msg_fatal("/dev/null: %s", strerror(errno));
	if (null_fd != STDERR_FILENO)
		close(null_fd);
	if (cfg_load(config, &cfg, &error) < 0) {
		msg_error("%s", error);
		free(error);
		tempfail("421 4.3.5 rebound-pipe configuration error; see the mail log\r");
	}
	setup_logging(cfg);
	if (getuid() == 0 || geteuid() == 0) {
		msg_error("refusing to deliver as root; set user= in master.cf");
		tempfail("421 4.3.0 rebound-pipe refuses to run as root\r");
	}
	if (classifier_create(cfg, &clf, &error) < 0) {
		msg_error("%s", error);
		tempfail("421 4.3.5 rebound-pipe rule file error; see the mail log\r");
	}
	ret = lmtp_serve(cfg, clf, STDIN_FILENO, STDOUT_FILENO);
	classifier_free(&clf);
	cfg_free(&cfg);
	return ret;
}

/* main - parse arguments, load rebound.conf, run one of the three modes */
int
main(int argc, char **argv)
{
	const char *config = NULL, *queue_id = NULL, *recipient = NULL, *client = NULL;
	const char *user = NULL;
	static const struct option longopts[] = {
		{ "classify", no_argument, NULL, 'C' },
		{ "explain", no_argument, NULL, 'E' },
		{ "client-address", required_argument, NULL, 'a' },
		{ "lmtp", no_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	struct cfg *cfg = NULL;
	char *error = NULL;
	int check_only = 0, classify = 0, explain = 0, lmtp = 0, ch;

	msg_open("rebound-pipe", 0, MSG_TO_STDERR);
	/* An allocation failure or other fatal error must defer, never bounce. */
	msg_set_fatal_status(EX_TEMPFAIL);
	while ((ch = getopt_long(argc, argv, "a:c:nq:r:u:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			classify = 1;
			break;
		case 'E':
			explain = 1;
			break;
		case 'L':
			lmtp = 1;
			break;
		case 'a':
			client = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'q':
			queue_id = optarg;
			break;
		case 'r':
			recipient = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'v':
			msg_set_verbose(1);
			break;
		default:
			usage();
		}
	}
	if (lmtp) {
		if (classify || check_only || explain || queue_id != NULL || recipient != NULL ||
		    client != NULL || optind != argc)
			usage();
		return lmtp_mode(config);
	}
	if (!classify && !check_only)
		msg_set_fatal_line("4.3.0 rebound-pipe internal error; see the mail log");
	if (classify) {
		if (optind == argc || check_only || queue_id != NULL || recipient != NULL)
			usage();
		return classify_mode(config, argv + optind, (size_t)(argc - optind),
				     explain ? BATCH_EXPLAIN : 0);
	}
	if (explain || optind != argc || (!check_only && (queue_id == NULL || recipient == NULL)))
		usage();
	if (check_only)
		return check_mode(config, user);
	if (cfg_load(config, &cfg, &error) < 0) {
		msg_open("rebound-pipe", msg_facility_code("mail"), MSG_TO_SYSLOG);
		msg_error("%s", error);
		free(error);
		tempfail("4.3.5 rebound-pipe configuration error; see the mail log");
	}
	return deliver_mode(cfg, queue_id, recipient, client);
}
