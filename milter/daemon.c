/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemon - the parts of being a daemon that are not milter protocol:
 * going to the background, the pid file, and giving up root.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "milter.h"
#include "util/msg.h"
#include "util/xalloc.h"

static char *pid_path;

/*
 * daemon_background - fork, start a new session and write the pid file.
 * The parent exits only once the child's pid is on disk, so that an init
 * script that reads the file right after we return finds it.
 */
void
daemon_background(const char *pid_file)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) < 0)
		msg_fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		msg_fatal("setsid: %s", strerror(errno));
	if ((pid = fork()) < 0)
		msg_fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (chdir("/") < 0)
		msg_fatal("chdir /: %s", strerror(errno));
	if (pid_file != NULL && *pid_file != '\0') {
		FILE *fp = fopen(pid_file, "w");

		if (fp == NULL)
			msg_fatal("open pid file %s: %s", pid_file, strerror(errno));
		fprintf(fp, "%ld\n", (long)getpid());
		if (fclose(fp) != 0)
			msg_fatal("write pid file %s: %s", pid_file, strerror(errno));
		pid_path = xstrdup(pid_file);
	}
}

void
daemon_remove_pid_file(void)
{
	if (pid_path != NULL) {
		/* Best effort: after the privilege drop the directory may be root's. */
		(void)unlink(pid_path);
		xfree(&pid_path);
	}
}

/*
 * daemon_drop_privileges - become user for good.  The spool directory is
 * created and handed over first, while we still may.  Running on as root
 * is refused: the milter parses text from the network all day.
 */
void
daemon_drop_privileges(const char *user, const char *spool_dir)
{
	struct passwd *pw;

	if (geteuid() == 0) {
		if ((pw = getpwnam(user)) == NULL)
			msg_fatal("milter_user %s: no such user", user);
		if (mkdir(spool_dir, 0700) < 0 && errno != EEXIST)
			msg_fatal("mkdir %s: %s", spool_dir, strerror(errno));
		if (chown(spool_dir, pw->pw_uid, pw->pw_gid) < 0)
			msg_fatal("chown %s: %s", spool_dir, strerror(errno));
		if (setgid(pw->pw_gid) < 0)
			msg_fatal("setgid %ld: %s", (long)pw->pw_gid, strerror(errno));
		if (initgroups(pw->pw_name, pw->pw_gid) < 0)
			msg_fatal("initgroups %s: %s", pw->pw_name, strerror(errno));
		if (setuid(pw->pw_uid) < 0)
			msg_fatal("setuid %ld: %s", (long)pw->pw_uid, strerror(errno));
	}
	if (getuid() == 0 || geteuid() == 0 || setuid(0) == 0)
		msg_fatal("refusing to run as root (set milter_user to an unprivileged user)");
}
