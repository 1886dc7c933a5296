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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "milter.h"
#include "util/msg.h"
#include "util/xalloc.h"

static int sig_pipe[2] = { -1, -1 };

/* Seconds a new milter waits for one on its way out (a restart). */
#define PID_LOCK_WAIT	15
/* Seconds libmilter gets to stop; well inside PID_LOCK_WAIT. */
#define MILTER_STOP_WAIT 10

struct options {
	const char *config;		/* -c, or NULL: the default */
	const char *socket;		/* -p, or NULL: milter_socket */
	const char *pid_file;		/* -P, or NULL: milter_pid_file */
	bool foreground;		/* -f */
	bool check;			/* -n */
};

static void
usage(void)
{
	fprintf(stderr, "usage: rebound-milter [-f] [-c config] [-p socket] [-P pid_file]\n"
			"       rebound-milter [-c config] [-p socket] [-P pid_file] -n\n");
	exit(EX_USAGE);
}

static struct options
parse_options(int argc, char **argv)
{
	struct options o = { 0 };
	int ch;

	while ((ch = getopt(argc, argv, "c:fnp:P:")) != -1) {
		switch (ch) {
		case 'c': o.config = optarg; break;
		case 'f': o.foreground = true; break;
		case 'n': o.check = true; break;
		case 'p': o.socket = optarg; break;
		case 'P': o.pid_file = optarg; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	return o;
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
 * setup_logging - syslog facility and the optional log file.  Until the
 * milter runs, lines also go to standard error, so that whoever starts it
 * sees why it does not.  From then on (main() calls msg_stderr_quiet()),
 * in the foreground, only to a terminal: under systemd, standard error is
 * the journal, which also receives the syslog copy, and every line would
 * be there twice.
 */
static void
setup_logging(const struct cfg *cfg)
{
	int facility = msg_facility_code(cfg->syslog_facility);
	const char *name = cfg->syslog_name[0] ? cfg->syslog_name : "rebound-milter";

	msg_open(name, facility < 0 ? LOG_MAIL : facility, MSG_TO_SYSLOG | MSG_TO_STDERR);
	if (cfg->syslog_socket[0] != '\0' && msg_syslog_socket(cfg->syslog_socket) < 0)
		msg_warn("syslog_socket %s: %s", cfg->syslog_socket, strerror(errno));
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
	/* Reopened, for log rotation; the old file is kept if that fails. */
	if (snap->cfg->log_file[0] != '\0' && msg_log_file(snap->cfg->log_file) < 0)
		msg_warn("cannot reopen log_file %s: %s", snap->cfg->log_file, strerror(errno));
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

/*
 * join_milter - wait for smfi_main to return, MILTER_STOP_WAIT seconds at
 * most.  libmilter can hang on its way out when a session starts as it
 * stops (a worker ends holding the lock of its task manager, which is
 * then destroyed); a milter that never exits would keep the pid file, and
 * with it the next milter, for ever.  So it goes on without libmilter:
 * its sessions are lost to Postfix's timeout, as in a crash, its socket
 * stays for the next start to replace, and every record is still stored
 * or spooled below.
 */
static void
join_milter(pthread_t t)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += MILTER_STOP_WAIT;
	if (pthread_timedjoin_np(t, NULL, &deadline) != 0)
		msg_warn("libmilter did not stop within %ds; exiting without it", MILTER_STOP_WAIT);
}

/* thread_count - the threads of this process, from /proc; -1 without it */
static int
thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * await_libmilter_threads - wait, a second at most, until no more threads
 * run than before the milter started (baseline).  smfi_main returns while
 * libmilter's signal thread may still be on its way out, unlocking a mutex
 * that an exit handler of libmilter destroys once main() returns: an
 * unlock of a destroyed mutex, which check-tsan found in milter-faults.t.
 * That thread cannot be joined; it ends within moments of the stop.
 */
static void
await_libmilter_threads(int baseline)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (int i = 0; baseline > 0 && i < 100 && thread_count() > baseline; i++)
		nanosleep(&tick, NULL);
}

/*
 * The stack of each thread libmilter starts, one per SMTP session, whose
 * deepest calls reach a few pages.  glibc's default is as large as the
 * stack limit (8 MB), which lets it keep only five free stacks for reuse
 * (its cache holds 40 MB): most sessions' threads would map a new stack
 * and fault in each page they touch, and unmap it at the end.
 */
#define MILTER_THREAD_STACK	(256 * 1024)

/*
 * ThreadSanitizer's pthread_create() refuses such a default (EINVAL: its
 * runtime wants more room per thread), so its builds keep glibc's.
 */
#if defined(__SANITIZE_THREAD__)
#define MILTER_SMALL_STACKS	0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MILTER_SMALL_STACKS	0
#endif
#endif
#ifndef MILTER_SMALL_STACKS
#define MILTER_SMALL_STACKS	1
#endif

/*
 * small_thread_stacks - make MILTER_THREAD_STACK the default for the
 * threads started from now on (libmilter gives no attributes of its own);
 * the writer's and the suppression list's threads, which run libpq, keep
 * the full size
 */
static void
small_thread_stacks(void)
{
	pthread_attr_t attr;
	int err;

	if (!MILTER_SMALL_STACKS || pthread_attr_init(&attr) != 0)
		return;
	err = pthread_attr_setstacksize(&attr, MILTER_THREAD_STACK);
	if (err == 0)
		err = pthread_setattr_default_np(&attr);
	if (err != 0)
		msg_warn("cannot make the session threads' stacks smaller: %s", strerror(err));
	pthread_attr_destroy(&attr);
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

/*
 * milter_account - the user the milter will run as: milter_user when root
 * starts it, otherwise whoever does (under systemd, its User=)
 */
static struct passwd
milter_account(const struct cfg *cfg)
{
	static char name[256];
	struct passwd *pw = geteuid() == 0 ? getpwnam(cfg->milter_user) : getpwuid(geteuid());
	struct passwd copy = { 0 };

	if (pw == NULL)
		daemon_die(EX_CONFIG, "no account for %s", geteuid() == 0 ? cfg->milter_user : "us");
	/* The next getpw*() call reuses libc's buffer: keep what we need. */
	snprintf(name, sizeof(name), "%s", pw->pw_name);
	copy.pw_name = name;
	copy.pw_uid = pw->pw_uid;
	copy.pw_gid = pw->pw_gid;
	return copy;
}

/*
 * load_as_user - as the user the milter runs as: the configuration and the
 * key files, and what check_as_user() asks of the files and directories
 */
static struct msnap *
load_as_user(const char *path, const char *pid_file, bool as_root)
{
	struct msnap *snap;
	char *error;

	if (snap_load(path, &snap, &error) < 0 ||
	    check_as_user(snap->cfg, pid_file, as_root, &error) < 0)
		daemon_die(EX_CONFIG, "%s", error);
	return snap;
}

/* check_mode - -n: what a start would check, as the user it would run as */
static int
check_mode(const struct options *o, const char *pid_file, struct passwd *pw)
{
	bool root = geteuid() == 0;
	struct msnap *snap;
	const char *user;

	if (root)
		daemon_drop_privileges(pw);
	snap = load_as_user(o->config, pid_file, root);
	user = snap->cfg->milter_user;
	if (!root && strcmp(pw->pw_name, user) != 0)
		msg_warn("checked as %s, who would run the milter when starting it; root starts it "
			 "as milter_user %s: run -n as root to check that", pw->pw_name, user);
	snap_put(&snap);
	return 0;
}

/*
 * prepare - everything that can fail, before the milter goes to the
 * background: the log file, the pid file's lock, the socket, the spool,
 * giving up root, and the configuration read again as its user
 */
static struct msnap *
prepare(const struct options *o, const char *socket_spec, const char *pid_file,
	struct passwd *pw)
{
	bool root = geteuid() == 0;
	struct writer_params wp;
	struct msnap *snap;
	const struct cfg *cfg;
	char *error;

	if (snap_load(o->config, &snap, &error) < 0)
		daemon_die(EX_CONFIG, "%s", error);
	cfg = snap->cfg;
	setup_logging(cfg);
	daemon_log_file(cfg->log_file, pw);
	if (cfg->log_file[0] != '\0' && msg_log_file(cfg->log_file) < 0)
		daemon_die(EX_CONFIG, "cannot open log_file %s: %s", cfg->log_file, strerror(errno));
	daemon_lock_pid_file(pid_file, pw, PID_LOCK_WAIT);
	if (smfi_setconn((char *)(uintptr_t)socket_spec) != MI_SUCCESS)
		daemon_die(EX_CONFIG, "bad milter socket \"%s\"", socket_spec);
	if (callbacks_register() < 0)
		daemon_die(EX_OSERR, "smfi_register failed");
	/* Postfix waits milter_command_timeout (30 s); stay well inside it. */
	smfi_settimeout(20);
	/*
	 * A unix socket takes connections from anyone who can reach it, as
	 * one on 127.0.0.1 does: Postfix connects as its own user, and the
	 * directory that holds the socket says who may.
	 */
	umask(0);
	if (smfi_opensocket(1) != MI_SUCCESS)
		daemon_die(EX_OSERR, "cannot listen on %s (in use by another program?)", socket_spec);
	umask(007);
	set_nodelay();
	daemon_own_dir(cfg->milter_spool_directory, pw, 0700, true);
	daemon_drop_privileges(pw);
	snap_put(&snap);
	snap = load_as_user(o->config, pid_file, root);
	cfg = snap->cfg;
	wp.conninfo = cfg->database;
	wp.connect_timeout = cfg->db_connect_timeout;
	wp.statement_timeout = cfg->db_statement_timeout;
	wp.spool_dir = cfg->milter_spool_directory;
	wp.queue_size = cfg->milter_queue_size;
	if (writer_open(&wp, &error) < 0)
		daemon_die(EX_CONFIG, "milter_spool_directory: %s", error);
	return snap;
}

int
main(int argc, char **argv)
{
	struct options o;
	const char *path;
	char *socket_spec, *pid_file, *abs_path = NULL, *error;
	struct msnap *snap;
	struct passwd pw;
	int status = 0;
	pthread_t t;
	int baseline;

	msg_open("rebound-milter", LOG_MAIL, MSG_TO_SYSLOG | MSG_TO_STDERR);
	/*
	 * A fatal error may come on any thread while libmilter's run: exit()
	 * would run libmilter's exit handler, which destroys a mutex its
	 * threads hold (check-tsan found it in milter-faults.t).
	 */
	msg_set_fatal_quick(true);
	o = parse_options(argc, argv);
	if (snap_load(o.config, &snap, &error) < 0)
		daemon_die(EX_CONFIG, "%s", error);
	/* Copies: the snapshot they come from is read again, as the milter's user. */
	socket_spec = xstrdup(o.socket != NULL ? o.socket : snap->cfg->milter_socket);
	pid_file = xstrdup(o.pid_file != NULL ? o.pid_file : snap->cfg->milter_pid_file);
	if (check_config(snap->cfg, socket_spec, pid_file, &error) < 0)
		daemon_die(EX_CONFIG, "%s", error);
	pw = milter_account(snap->cfg);
	snap_put(&snap);
	if (o.check) {
		status = check_mode(&o, pid_file, &pw);
		free(socket_spec);
		free(pid_file);
		return status;
	}
	/* SIGHUP rereads it after daemon_background() went to "/". */
	abs_path = realpath(o.config != NULL ? o.config : CFG_DEFAULT_PATH, NULL);
	path = abs_path != NULL ? abs_path : o.config;
	snap = prepare(&o, socket_spec, pid_file, &pw);
	if (!o.foreground)
		daemon_background();
	daemon_write_pid();
	snap_publish(snap);
	snap = snap_get();
	setup_signals();
	baseline = thread_count();
	if (writer_start(&error) < 0)
		daemon_die(EX_OSERR, "cannot start the database writer: %s", error);
	if (suppress_start(snap->cfg->database, snap->cfg->db_connect_timeout,
			   snap->cfg->db_statement_timeout) < 0)
		daemon_die(EX_OSERR, "cannot start the suppression loader");
	small_thread_stacks();
	t = start_milter(&status);
	daemon_ready();
	msg_stderr_quiet(!(o.foreground && isatty(STDERR_FILENO)));
	msg_info("listening on %s", socket_spec);
	signal_loop(path);
	msg_info("stopping");
	daemon_stopping();
	stop_milter();
	join_milter(t);
	suppress_stop();
	writer_stop();
	await_libmilter_threads(baseline);
	snap_put(&snap);
	snap_shutdown();
	daemon_remove_pid_file();
	free(abs_path);
	free(socket_spec);
	free(pid_file);
	return status == MI_SUCCESS ? 0 : 1;
}
