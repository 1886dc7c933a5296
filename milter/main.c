/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rebound-milter - sign the return path of outbound mail, refuse
 * suppressed recipients, record SMTP-time rejections, and guard the
 * bounce domains.  See rebound-milter(8).
 *
 * The main thread only handles signals.  libmilter's accept loop runs in
 * a thread of its own: libmilter treats SIGHUP as "stop", but we want it
 * to mean "reload", so the main thread keeps the signals unblocked with
 * handlers while every other thread blocks them.  Linux delivers a
 * process-directed signal to the main thread when it does not block it,
 * so libmilter's signal thread never sees ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "milter.h"
#include "util/msg.h"
#include "util/xalloc.h"

static int sig_pipe[2] = { -1, -1 };

static void
usage(void)
{
	fprintf(stderr, "usage: rebound-milter [-fn] [-c config] [-p socket]\n");
	exit(2);
}

static void
on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	(void)!write(sig_pipe[1], &c, 1);
	errno = saved;
}

static void *
milter_thread(void *arg)
{
	int *status = arg;

	*status = smfi_main();
	/* Wake the main thread: libmilter may have stopped on its own. */
	on_signal(SIGTERM);
	return NULL;
}

/*
 * setup_logging - syslog facility and the optional log file.  In the
 * foreground, lines also go to standard error, but only to a terminal:
 * under systemd, standard error is the journal, which also receives the
 * syslog copy, and every line would be there twice.
 */
static void
setup_logging(const struct cfg *cfg, bool foreground)
{
	int facility = msg_facility_code(cfg->syslog_facility);
	const char *name = cfg->syslog_name[0] ? cfg->syslog_name : "rebound-milter";
	bool tty = foreground && isatty(STDERR_FILENO);

	msg_open(name, facility < 0 ? LOG_MAIL : facility,
		 MSG_TO_SYSLOG | (tty ? MSG_TO_STDERR : 0));
	if (cfg->log_file[0] != '\0' && msg_log_file(cfg->log_file) < 0)
		msg_warn("cannot open log_file %s", cfg->log_file);
}

/* reload - SIGHUP: a new snapshot, or the old one kept with a log line */
static void
reload(const char *path)
{
	struct msnap *snap;
	char *error;

	if (snap_load(path, &snap, &error) < 0) {
		msg_error("reload failed, keeping the old configuration: %s", error);
		free(error);
		return;
	}
	snap_publish(snap);
	msg_info("configuration reloaded");
}

/* signal_loop - serve SIGHUP until SIGTERM or SIGINT, or libmilter stops */
static void
signal_loop(const char *path)
{
	for (;;) {
		unsigned char c;
		ssize_t n = read(sig_pipe[0], &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c != SIGHUP)
			return;
		reload(path);
	}
}

static void
setup_signals(void)
{
	struct sigaction sa;

	if (pipe2(sig_pipe, O_CLOEXEC) < 0)
		msg_fatal("pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * stop_milter - have libmilter stop itself.  Calling smfi_stop() here
 * would touch libmilter's state from a thread it does not know; instead
 * the main thread blocks SIGTERM and sends it again, so that the only
 * thread left to take it is libmilter's own signal thread, which stops
 * the accept loop as it does for any milter.
 */
static void
stop_milter(void)
{
	sigset_t term;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	if (kill(getpid(), SIGTERM) < 0)
		msg_warn("kill: %s", strerror(errno));
}

/*
 * set_nodelay - TCP_NODELAY on libmilter's listening socket, which
 * accepted connections inherit on Linux.  At end of message libmilter
 * writes each edit (change of sender, header edits) and the final reply
 * as separate small packets; with Nagle's algorithm the second one waits
 * for the MTA's delayed ACK, some 40 ms per message.  libmilter does not
 * hand out its socket, so find it among our descriptors.
 */
static void
set_nodelay(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int listening = 0, one = 1;
		socklen_t optlen = sizeof(listening);

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) < 0 ||
		    !listening || getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			msg_warn("TCP_NODELAY: %s", strerror(errno));
	}
}

/* start_milter - run smfi_main in a thread that blocks our signals */
static pthread_t
start_milter(int *status)
{
	sigset_t all, old;
	pthread_t t;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&t, NULL, milter_thread, status);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0)
		msg_fatal("pthread_create: %s", strerror(err));
	return t;
}

int
main(int argc, char **argv)
{
	const char *path = NULL, *socket_spec = NULL;
	char *abs_path = NULL;
	bool foreground = false, check = false;
	struct msnap *snap;
	struct cfg *cfg;
	struct writer_params wp;
	char *error;
	int ch, status = 0;
	pthread_t t;

	msg_open("rebound-milter", LOG_MAIL, MSG_TO_STDERR);
	while ((ch = getopt(argc, argv, "c:fnp:")) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'f': foreground = true; break;
		case 'n': check = true; break;
		case 'p': socket_spec = optarg; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (snap_load(path, &snap, &error) < 0)
		msg_fatal("%s", error);
	if (check) {
		snap_put(&snap);
		return 0;
	}
	/* SIGHUP rereads it after daemon_background() went to "/". */
	if ((abs_path = realpath(path != NULL ? path : CFG_DEFAULT_PATH, NULL)) != NULL)
		path = abs_path;
	snap_publish(snap);
	snap = snap_get();
	cfg = snap->cfg;
	setup_logging(cfg, foreground);
	if (socket_spec == NULL)
		socket_spec = cfg->milter_socket;
	if (smfi_setconn((char *)(uintptr_t)socket_spec) != MI_SUCCESS)
		msg_fatal("bad milter socket \"%s\"", socket_spec);
	if (callbacks_register() < 0)
		msg_fatal("smfi_register failed");
	/* Postfix waits milter_command_timeout (30 s); stay well inside it. */
	smfi_settimeout(20);
	/*
	 * A unix socket takes connections from anyone who can reach it, as
	 * one on 127.0.0.1 does: Postfix connects as its own user, and the
	 * directory that holds the socket says who may.
	 */
	umask(0);
	if (smfi_opensocket(1) != MI_SUCCESS)
		msg_fatal("cannot listen on %s", socket_spec);
	umask(007);
	set_nodelay();
	if (!foreground)
		daemon_background(cfg->milter_pid_file);
	daemon_drop_privileges(cfg->milter_user, cfg->milter_spool_directory);
	setup_signals();
	wp.conninfo = cfg->database;
	wp.connect_timeout = cfg->db_connect_timeout;
	wp.statement_timeout = cfg->db_statement_timeout;
	wp.spool_dir = cfg->milter_spool_directory;
	wp.queue_size = cfg->milter_queue_size;
	if (writer_start(&wp, &error) < 0)
		msg_fatal("cannot start the database writer: %s", error);
	if (suppress_start(cfg->database, cfg->db_connect_timeout, cfg->db_statement_timeout) < 0)
		msg_fatal("cannot start the suppression loader");
	msg_info("listening on %s", socket_spec);
	t = start_milter(&status);
	signal_loop(path);
	msg_info("stopping");
	stop_milter();
	pthread_join(t, NULL);
	suppress_stop();
	writer_stop();
	snap_put(&snap);
	snap_shutdown();
	daemon_remove_pid_file();
	free(abs_path);
	return status == MI_SUCCESS ? 0 : 1;
}
