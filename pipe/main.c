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
#include <getopt.h>
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
#include "util/msg.h"

/* usage - print the synopsis and exit */
static void
usage(void)
{
	fprintf(stderr, "usage: rebound-pipe [-c config] -q queue_id -r recipient "
			"--client-address=${client_address}\n"
			"       rebound-pipe [-c config] -n\n"
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
	if (cfg->log_file[0] != '\0' && msg_log_file(cfg->log_file) < 0)
		msg_warn("cannot open log_file %s", cfg->log_file);
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

/* check_mode - -n: the configuration and every rule, compiled */
static int
check_mode(struct cfg *cfg)
{
	struct classifier *clf = NULL;
	char *error = NULL;
	int ret = EX_OK;

	if (classifier_create(cfg, &clf, &error) < 0 || classifier_check(clf, &error) < 0) {
		fprintf(stderr, "rebound-pipe: %s\n", error);
		ret = EX_CONFIG;
	}
	free(error);
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
	deliver_bounce(cfg, clf, &req, &out);
	printf("%s\n", out.text);
	fflush(stdout);
	free(data);
	classifier_free(&clf);
	cfg_free(&cfg);
	return out.status;
}

/* main - parse arguments, load rebound.conf, run one of the three modes */
int
main(int argc, char **argv)
{
	const char *config = NULL, *queue_id = NULL, *recipient = NULL, *client = NULL;
	static const struct option longopts[] = {
		{ "classify", no_argument, NULL, 'C' },
		{ "explain", no_argument, NULL, 'E' },
		{ "client-address", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct cfg *cfg = NULL;
	char *error = NULL;
	int check_only = 0, classify = 0, explain = 0, ch;

	msg_open("rebound-pipe", 0, MSG_TO_STDERR);
	/* An allocation failure or other fatal error must defer, never bounce. */
	msg_set_fatal_status(EX_TEMPFAIL);
	while ((ch = getopt_long(argc, argv, "a:c:nq:r:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			classify = 1;
			break;
		case 'E':
			explain = 1;
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
		case 'v':
			msg_set_verbose(1);
			break;
		default:
			usage();
		}
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
	if (cfg_load(config, &cfg, &error) < 0) {
		if (check_only) {
			fprintf(stderr, "rebound-pipe: %s\n", error);
			free(error);
			return EX_CONFIG;
		}
		msg_open("rebound-pipe", msg_facility_code("mail"), MSG_TO_SYSLOG);
		msg_error("%s", error);
		free(error);
		tempfail("4.3.5 rebound-pipe configuration error; see the mail log");
	}
	if (check_only)
		return check_mode(cfg);
	return deliver_mode(cfg, queue_id, recipient, client);
}
