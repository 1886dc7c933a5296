/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * msg - logging to syslog, stderr or a file, sanitised and capped.
 *
 * The destinations are set once by main() before any thread starts; after
 * that every function here is thread-safe (one vsnprintf into a stack
 * buffer, one write or syslog call per record).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/caps.h"
#include "util/msg.h"

/*
 * A copy: the name may come from a configuration that is freed later, and
 * openlog() keeps the pointer it is given.
 */
static char msg_ident[64] = "rebound";
static enum msg_flags msg_flags_set = MSG_TO_STDERR;
static int msg_fatal_exit = 1;
static bool msg_fatal_quick;
static const char *msg_fatal_line;
static void (*msg_fatal_hook)(void);
static int msg_verbose;
static int msg_file_fd = -1;
static atomic_bool msg_quiet_stderr;
/*
 * syslog_socket: records go to this socket, formatted as syslog(3) does,
 * instead of through syslog(3), whose socket is always /dev/log.  The
 * descriptor is replaced with dup3() when the socket is connected again,
 * under msg_syslog_lock, so that other threads' sends never see it closed.
 */
static struct sockaddr_un msg_syslog_addr;
static atomic_int msg_syslog_fd = -1;
static int msg_syslog_facility = LOG_MAIL;
static pthread_mutex_t msg_syslog_lock = PTHREAD_MUTEX_INITIALIZER;
/* When msg_devlog_present() last looked, and what it found. */
static atomic_llong msg_devlog_checked = -1;
static atomic_bool msg_devlog_there;

static size_t msg_clamp(int len, size_t size);

static const struct {
	const char *name;
	int code;
} msg_facilities[] = {
	{ "mail", LOG_MAIL },	  { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

/* msg_facility_code - map a facility name to its syslog code */
int
msg_facility_code(const char *name)
{
	for (size_t i = 0; i < sizeof(msg_facilities) / sizeof(msg_facilities[0]); i++)
		if (strcasecmp(name, msg_facilities[i].name) == 0)
			return msg_facilities[i].code;
	return -1;
}

/* msg_open - configure destinations */
void
msg_open(const char *ident, int facility, enum msg_flags flags)
{
	snprintf(msg_ident, sizeof(msg_ident), "%s", ident);
	msg_flags_set = flags;
	msg_syslog_facility = facility;
	if ((flags & MSG_TO_SYSLOG) && msg_syslog_addr.sun_path[0] == '\0')
		openlog(msg_ident, LOG_PID | LOG_NDELAY, facility);
}

/* msg_syslog_connect - a socket connected to syslog_socket; -1 on error */
static int
msg_syslog_connect(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&msg_syslog_addr, sizeof(msg_syslog_addr)) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* msg_syslog_reconnect - connect again; the caller holds msg_syslog_lock */
static int
msg_syslog_reconnect(void)
{
	int fd = msg_syslog_connect();

	if (fd < 0)
		return -1;
	if (atomic_load(&msg_syslog_fd) < 0) {
		atomic_store(&msg_syslog_fd, fd);
		return 0;
	}
	if (dup3(fd, atomic_load(&msg_syslog_fd), O_CLOEXEC) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return 0;
}

int
msg_syslog_socket(const char *path)
{
	int ret;

	if (strlen(path) >= sizeof(msg_syslog_addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	pthread_mutex_lock(&msg_syslog_lock);
	msg_syslog_addr.sun_family = AF_UNIX;
	strcpy(msg_syslog_addr.sun_path, path);
	closelog();
	/* Not there yet (syslogd starting): each record tries again. */
	ret = msg_syslog_reconnect();
	pthread_mutex_unlock(&msg_syslog_lock);
	return ret;
}

/*
 * msg_syslog_send - one record to syslog_socket, in the format syslog(3)
 * writes to /dev/log: "<priority>Mmm dd hh:mm:ss ident[pid]: text".  A
 * syslogd that restarted refuses the old connection: connect again once.
 */
static void
msg_syslog_send(int priority, const char *label, const char *line)
{
	char out[LIMIT_LOG_LINE + 256], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int len, fd;

	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", localtime_r(&now, &tm));
	len = snprintf(out, sizeof(out), "<%d>%s %s[%ld]: %s%s", priority | msg_syslog_facility,
		       stamp, msg_ident, (long)getpid(), label, line);
	len = (int)msg_clamp(len, sizeof(out));
	fd = atomic_load(&msg_syslog_fd);
	if (fd >= 0 && send(fd, out, (size_t)len, MSG_NOSIGNAL) >= 0)
		return;
	pthread_mutex_lock(&msg_syslog_lock);
	if (msg_syslog_reconnect() == 0)
		(void)!send(atomic_load(&msg_syslog_fd), out, (size_t)len, MSG_NOSIGNAL);
	pthread_mutex_unlock(&msg_syslog_lock);
}

/*
 * msg_log_file - add a log file destination.  Opening it again (the
 * milter's SIGHUP, after a rotation) puts the new file behind the same
 * descriptor with dup2(), which other threads' writes see whole: they
 * write to the old file or to the new one, never to a closed descriptor.
 */
int
msg_log_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		return -1;
	if (msg_file_fd < 0) {
		msg_file_fd = fd;
		return 0;
	}
	if (dup3(fd, msg_file_fd, O_CLOEXEC) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return 0;
}

void
msg_stderr_quiet(bool quiet)
{
	atomic_store(&msg_quiet_stderr, quiet);
}

/* msg_check_error - an allocated "log_file PATH: text" */
static char *
msg_check_error(const char *path, const char *text, const char *more)
{
	char e[2048];
	char *copy;

	snprintf(e, sizeof(e), "log_file %.512s: %.256s%.1200s", path, text, more);
	/* Not xstrdup(): xalloc logs through this module, which stays below it. */
	if ((copy = strdup(e)) == NULL)
		msg_fatal("out of memory");
	return copy;
}

int
msg_log_file_check(const char *path, bool created_for_us, char **error_r)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (path[0] != '/') {
		*error_r = msg_check_error(path, "want an absolute path", "");
		return -1;
	}
	if (stat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			*error_r = msg_check_error(path, "not a regular file", "");
			return -1;
		}
		if (access(path, W_OK) < 0) {
			*error_r = msg_check_error(path, strerror(errno),
						   "; make it writable by the user the program runs "
						   "as (see rebound.conf(5))");
			return -1;
		}
		return 0;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		char more[1200];

		snprintf(more, sizeof(more), " %.512s does not exist; make it for the user the "
			 "programs run as (install -d -o rebound -g adm -m 750 %.512s)", dir, dir);
		*error_r = msg_check_error(path, "its directory", more);
		return -1;
	}
	if (!created_for_us && access(dir, W_OK | X_OK) < 0) {
		*error_r = msg_check_error(path, "cannot be created: ",
					   "its directory is not writable by the user the program "
					   "runs as (see rebound.conf(5))");
		return -1;
	}
	return 0;
}

void
msg_set_fatal_status(int status)
{
	msg_fatal_exit = status;
}

void
msg_set_fatal_line(const char *line)
{
	msg_fatal_line = line;
}

void
msg_set_fatal_quick(bool quick)
{
	msg_fatal_quick = quick;
}

void
msg_set_fatal_hook(void (*hook)(void))
{
	msg_fatal_hook = hook;
}

void
msg_set_verbose(int verbose)
{
	msg_verbose = verbose;
}

/* msg_printable - sanitise untrusted text for a log line */
size_t
msg_printable(char *dst, size_t dstsize, const char *src, size_t len)
{
	size_t n = 0;

	if (dstsize == 0)
		return 0;
	for (size_t i = 0; i < len && src[i] != '\0' && n + 1 < dstsize; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[n] = '\0';
	return n;
}

/* msg_clamp - length of a possibly truncated snprintf result */
static size_t
msg_clamp(int len, size_t size)
{
	if (len < 0)
		return 0;
	return (size_t)len < size ? (size_t)len : size - 1;
}

/*
 * msg_devlog_present - whether syslog(3)'s socket exists, looked at once
 * a second at most.  Where there is none (a container, a system that
 * logs to log_file only), syslog(3) tries to connect again for every
 * record, a socket(), a failed connect() and a close() each time, which
 * cost the milter more than the rest of a message's log line.  A syslogd
 * that starts later is found within a second.
 */
static bool
msg_devlog_present(void)
{
	long long now = (long long)time(NULL);

	if (atomic_load(&msg_devlog_checked) != now) {
		atomic_store(&msg_devlog_there, access(_PATH_LOG, F_OK) == 0);
		atomic_store(&msg_devlog_checked, now);
	}
	return atomic_load(&msg_devlog_there);
}

/* iov - an iovec for writev() */
static struct iovec
iov(const char *text, size_t len)
{
	return (struct iovec){ .iov_base = (void *)(uintptr_t)text, .iov_len = len };
}

/*
 * msg_emit - format, sanitise and write one record.  One buffer, made
 * printable in place, and the prefixes added by writev(): each of the
 * milter's callback threads logs, and every page of stack a thread's
 * deepest call reaches costs a new thread a page fault.
 */
static void
msg_emit(int priority, const char *label, const char *fmt, va_list ap)
{
	char line[LIMIT_LOG_LINE + 1];
	int saved_errno = errno;
	size_t len;

	vsnprintf(line, sizeof(line), fmt, ap);
	len = msg_printable(line, sizeof(line), line, sizeof(line));

	if ((msg_flags_set & MSG_TO_SYSLOG) && msg_syslog_addr.sun_path[0] != '\0')
		msg_syslog_send(priority, label, line);
	else if ((msg_flags_set & MSG_TO_SYSLOG) && msg_devlog_present())
		syslog(priority, "%s%s", label, line);
	if ((msg_flags_set & MSG_TO_STDERR) && !atomic_load(&msg_quiet_stderr)) {
		struct iovec v[] = { iov(msg_ident, strlen(msg_ident)), iov(": ", 2),
				     iov(label, strlen(label)), iov(line, len), iov("\n", 1) };

		(void)!writev(STDERR_FILENO, v, sizeof(v) / sizeof(v[0]));
	}
	if (msg_file_fd >= 0) {
		char prefix[128];
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;
		struct iovec v[4];
		int plen;

		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", gmtime_r(&now, &tm));
		plen = snprintf(prefix, sizeof(prefix), "%s %s[%ld]: ", stamp, msg_ident,
				(long)getpid());
		v[0] = iov(prefix, msg_clamp(plen, sizeof(prefix)));
		v[1] = iov(label, strlen(label));
		v[2] = iov(line, len);
		v[3] = iov("\n", 1);
		(void)!writev(msg_file_fd, v, 4);
	}
	errno = saved_errno;
}

void
msg_debug(const char *fmt, ...)
{
	va_list ap;

	if (!msg_verbose)
		return;
	va_start(ap, fmt);
	msg_emit(LOG_DEBUG, "debug: ", fmt, ap);
	va_end(ap);
}

void
msg_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_emit(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void
msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_emit(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void
msg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_emit(LOG_ERR, "error: ", fmt, ap);
	va_end(ap);
}

/*
 * msg_fatal_enter - make sure that one thread runs the fatal hook and
 * exits.  A second thread that fails meanwhile waits for that exit: two
 * threads in exit() at once is undefined behaviour, and its hook would
 * only repeat the first one's work.  The thread already running the hook
 * (the hook itself failed) goes straight on to exit.
 */
static void
msg_fatal_enter(void)
{
	static atomic_flag busy = ATOMIC_FLAG_INIT;
	static _Thread_local bool here;

	if (here)
		return;
	if (atomic_flag_test_and_set(&busy))
		for (;;)
			pause();
	here = true;
	if (msg_fatal_hook != NULL)
		msg_fatal_hook();
}

void
msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_emit(LOG_CRIT, "fatal: ", fmt, ap);
	va_end(ap);
	msg_fatal_enter();
	if (msg_fatal_line != NULL) {
		fflush(stdout);
		(void)!write(STDOUT_FILENO, msg_fatal_line, strlen(msg_fatal_line));
		(void)!write(STDOUT_FILENO, "\n", 1);
	}
	if (msg_fatal_quick)
		_exit(msg_fatal_exit);
	exit(msg_fatal_exit);
}
