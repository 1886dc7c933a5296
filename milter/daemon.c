/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemon - the parts of being a daemon that are not milter protocol: the
 * pid file and its lock, the directories and the log file made for the
 * milter's user, giving up root, and going to the background.
 *
 * The pid file is locked (flock) from before the socket is opened until
 * the process exits, after libmilter has removed the socket.  A second
 * milter with the same pid file is refused while the first runs; started
 * while the first is on its way out (a restart: the file then says
 * "stopping"), it waits for the lock, so that it never opens its socket
 * while the first one still holds, or is about to remove, the same path.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "milter.h"
#include "util/msg.h"
#include "util/xalloc.h"

/* How long a milter that holds the pid file has to say it is stopping. */
#define PID_LOCK_GRACE_MS	2000

static struct {
	char *pid_path;
	int pid_fd;
	int ready_fd;		/* the waiting parent's pipe, until daemon_ready() */
} d = { NULL, -1, -1 };

void
daemon_die(int status, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* A start that failed leaves no pid file behind. */
	daemon_remove_pid_file();
	msg_set_fatal_status(status);
	msg_fatal("%s", text);
}

/* daemon_mkdirs - make dir and its missing parents, mode 0755, root's */
static void
daemon_mkdirs(const char *dir)
{
	char *path = xstrdup(dir);

	for (char *p = path + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		/* chmod: the umask must not take what others need to reach inside. */
		if (mkdir(path, 0755) == 0)
			(void)chmod(path, 0755);
		else if (errno != EEXIST)
			daemon_die(EX_OSERR, "mkdir %s: %s", path, strerror(errno));
		*p = c;
		if (c == '\0')
			break;
	}
	free(path);
}

/*
 * daemon_own_dir - make dir, with its parents, for the milter's user pw:
 * the parents root's, mode 0755, dir itself the user's with mode.  An
 * existing dir is taken over only when take_existing is set.  Not root:
 * dir must exist or be creatable by us.
 */
void
daemon_own_dir(const char *dir, const struct passwd *pw, unsigned mode, bool take_existing)
{
	char *parent = xstrdup(dir), *slash = strrchr(parent, '/');
	bool made;

	if (slash != NULL && slash != parent) {
		*slash = '\0';
		if (geteuid() == 0)
			daemon_mkdirs(parent);
	}
	free(parent);
	made = mkdir(dir, (mode_t)mode) == 0;
	if (!made && errno != EEXIST)
		daemon_die(EX_CONFIG, "mkdir %s: %s", dir, strerror(errno));
	if (made)
		(void)chmod(dir, (mode_t)mode);
	if (geteuid() == 0 && (made || take_existing) && chown(dir, pw->pw_uid, pw->pw_gid) < 0)
		daemon_die(EX_OSERR, "chown %s: %s", dir, strerror(errno));
}

/*
 * daemon_log_file - create the log file for the milter's user when root
 * must (it opens the file before giving up root, and rebound-pipe, which
 * runs as that user too, appends to the same file)
 */
void
daemon_log_file(const char *path, const struct passwd *pw)
{
	int fd;

	if (geteuid() != 0 || path[0] == '\0')
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return;		/* it exists, or msg_log_file() will say why not */
	if (fchown(fd, pw->pw_uid, pw->pw_gid) < 0)
		daemon_die(EX_OSERR, "chown %s: %s", path, strerror(errno));
	close(fd);
}

/*
 * daemon_pid_holder - the pid written in the locked file, or 0; whether
 * its milter is stopping
 */
static long
daemon_pid_holder(int fd, bool *stopping)
{
	char buf[64] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	*stopping = false;
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	*stopping = strstr(buf, " stopping") != NULL;
	return strtol(buf, NULL, 10);
}

/* daemon_same_file - whether fd is still the file at path (not removed) */
static bool
daemon_same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* daemon_ms - milliseconds on a clock that only goes forward */
static long long
daemon_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
daemon_lock_pid_file(const char *path, const struct passwd *pw, unsigned wait)
{
	long long start = daemon_ms();
	bool said = false;
	char *dir = xstrdup(path);

	*strrchr(dir, '/') = '\0';
	if (dir[0] != '\0')
		daemon_own_dir(dir, pw, 0755, false);
	free(dir);
	for (;;) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		long holder;
		bool stopping;

		if (fd < 0)
			daemon_die(EX_CONFIG, "open pid file %s: %s", path, strerror(errno));
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			/* The last owner may have removed it while we waited: start again. */
			if (daemon_same_file(fd, path)) {
				d.pid_fd = fd;
				d.pid_path = xstrdup(path);
				return;
			}
			close(fd);
			continue;
		}
		if (errno != EWOULDBLOCK)
			daemon_die(EX_OSERR, "lock pid file %s: %s", path, strerror(errno));
		holder = daemon_pid_holder(fd, &stopping);
		close(fd);
		/*
		 * One that runs on is refused after a moment's grace: "kill;
		 * start" may come before the old milter has had time to say
		 * that it is stopping.
		 */
		if (!stopping && daemon_ms() - start >= PID_LOCK_GRACE_MS)
			daemon_die(EX_TEMPFAIL, "rebound-milter is already running (pid %ld holds %s); "
				   "stop it first", holder, path);
		if (stopping && daemon_ms() - start >= (long long)wait * 1000)
			daemon_die(EX_TEMPFAIL, "rebound-milter (pid %ld) still stopping after %us; "
				   "try again later", holder, wait);
		if (stopping && !said) {
			msg_info("waiting up to %us for the rebound-milter that holds %s (pid %ld) "
				 "to exit", wait, path, holder);
			said = true;
		}
		usleep(50 * 1000);
	}
}

void
daemon_write_pid(void)
{
	char text[32];
	int len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());

	if (d.pid_fd < 0)
		return;
	if (ftruncate(d.pid_fd, 0) < 0 || pwrite(d.pid_fd, text, (size_t)len, 0) != len)
		daemon_die(EX_OSERR, "write pid file %s: %s", d.pid_path, strerror(errno));
}

void
daemon_stopping(void)
{
	char text[48];
	int len = snprintf(text, sizeof(text), "%ld stopping\n", (long)getpid());

	if (d.pid_fd >= 0 && pwrite(d.pid_fd, text, (size_t)len, 0) != len)
		msg_warn("write pid file %s: %s", d.pid_path, strerror(errno));
}

void
daemon_remove_pid_file(void)
{
	if (d.pid_path == NULL)
		return;
	/*
	 * Removed while we still hold the lock, so that nobody can take the
	 * name over in between.  A directory the milter's user may not write
	 * to leaves the file; it is emptied, so that no pid in it is stale.
	 */
	if (unlink(d.pid_path) < 0 && ftruncate(d.pid_fd, 0) < 0)
		msg_warn("cannot remove or empty pid file %s: %s", d.pid_path, strerror(errno));
	xfree(&d.pid_path);
}

/*
 * daemon_background - fork, start a new session, fork again.  The first
 * process waits until the daemon calls daemon_ready(), and exits 0 then,
 * or 1 if the daemon died first: whoever started the milter learns
 * whether it runs.  The daemon's errors until then still reach the
 * standard error of the one who started it.
 */
void
daemon_background(void)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe2(ready, O_CLOEXEC) < 0)
		daemon_die(EX_OSERR, "pipe: %s", strerror(errno));
	if ((pid = fork()) < 0)
		daemon_die(EX_OSERR, "fork: %s", strerror(errno));
	if (pid > 0) {
		close(ready[1]);
		if (read(ready[0], &c, 1) == 1)
			_exit(0);
		fprintf(stderr, "rebound-milter: the daemon exited while starting; see above, or "
				"the log\n");
		_exit(1);
	}
	close(ready[0]);
	d.ready_fd = ready[1];
	if (setsid() < 0)
		daemon_die(EX_OSERR, "setsid: %s", strerror(errno));
	if ((pid = fork()) < 0)
		daemon_die(EX_OSERR, "fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		daemon_die(EX_OSERR, "chdir /: %s", strerror(errno));
}

void
daemon_ready(void)
{
	int fd;

	if (d.ready_fd < 0)
		return;
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	(void)!write(d.ready_fd, "", 1);
	close(d.ready_fd);
	d.ready_fd = -1;
}

/*
 * daemon_drop_privileges - become pw for good.  Running on as root is
 * refused: the milter parses text from the network all day.
 */
void
daemon_drop_privileges(const struct passwd *pw)
{
	if (geteuid() == 0) {
		if (setgid(pw->pw_gid) < 0)
			daemon_die(EX_OSERR, "setgid %ld: %s", (long)pw->pw_gid, strerror(errno));
		if (initgroups(pw->pw_name, pw->pw_gid) < 0)
			daemon_die(EX_OSERR, "initgroups %s: %s", pw->pw_name, strerror(errno));
		if (setuid(pw->pw_uid) < 0)
			daemon_die(EX_OSERR, "setuid %ld: %s", (long)pw->pw_uid, strerror(errno));
	}
	if (getuid() == 0 || geteuid() == 0 || setuid(0) == 0)
		daemon_die(EX_CONFIG, "refusing to run as root (set milter_user to an unprivileged "
			   "user)");
}
