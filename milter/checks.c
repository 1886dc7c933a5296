/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * checks - what must hold before rebound-milter may start, checked the
 * same way by -n and by a start, so that -n passes only a configuration
 * that starts.
 *
 * check_config() needs nothing but the configuration: the socket spec,
 * milter_user, the pid file.  check_as_user() runs as the user the milter
 * will run as (main() drops privileges first when it is root, and reads
 * the configuration and the key files again), and checks that the log
 * file, the spool and the pid file's directory are usable by it.  A
 * directory that does not exist yet is fine when root will create it at
 * start.  Each returns 0, or -1 with *error_r an allocated message that
 * says what to do.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "milter.h"
#include "util/msg.h"
#include "util/xalloc.h"

/* check_whoami - the name of the user this process runs as */
static const char *
check_whoami(char *buf, size_t size)
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw != NULL)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "%ld", (long)geteuid());
	return buf;
}

/* check_parent_dir - whether the directory that holds path exists */
static bool
check_parent_dir(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	struct stat st;

	snprintf(dir, size, "%.*s", slash == NULL ? 1 : slash == path ? 1 : (int)(slash - path),
		 slash == NULL ? "." : path);
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* check_port - a port number 1-65535, or a TCP service name */
static bool
check_port(const char *port, size_t len)
{
	char name[64];
	char *end;
	long n;

	if (len == 0 || len >= sizeof(name))
		return false;
	memcpy(name, port, len);
	name[len] = '\0';
	errno = 0;
	n = strtol(name, &end, 10);
	if (end != name)
		return *end == '\0' && errno == 0 && n >= 1 && n <= 65535;
	return getservbyname(name, "tcp") != NULL;
}

/* check_inet - "port@host" or "port" for family (AF_INET or AF_INET6) */
static int
check_inet(const char *spec, const char *rest, int family, char **error_r)
{
	const char *at = strchr(rest, '@');
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM }, *ai;
	int err;

	if (!check_port(rest, at != NULL ? (size_t)(at - rest) : strlen(rest))) {
		*error_r = xstrdup_printf("milter_socket \"%s\": want a port from 1 to 65535 (or a "
				       "service name) before the '@'", spec);
		return -1;
	}
	if (at == NULL)
		return 0;
	if (at[1] == '\0') {
		*error_r = xstrdup_printf("milter_socket \"%s\": no host after the '@'", spec);
		return -1;
	}
	if ((err = getaddrinfo(at + 1, NULL, &hints, &ai)) != 0) {
		*error_r = xstrdup_printf("milter_socket \"%s\": host %s: %s", spec, at + 1,
				       gai_strerror(err));
		return -1;
	}
	freeaddrinfo(ai);
	return 0;
}

int
check_socket(const char *spec, char **error_r)
{
	static const char forms[] = "unix:/path, inet:port@host or inet6:port@host";
	const char *colon = strchr(spec, ':');
	struct sockaddr_un sun;
	char dir[PATH_MAX];

	if (colon == NULL) {
		*error_r = xstrdup_printf("milter_socket \"%s\": want %s", spec, forms);
		return -1;
	}
	if (strncmp(spec, "inet:", 5) == 0)
		return check_inet(spec, spec + 5, AF_INET, error_r);
	if (strncmp(spec, "inet6:", 6) == 0)
		return check_inet(spec, spec + 6, AF_INET6, error_r);
	if (strncmp(spec, "unix:", 5) != 0 && strncmp(spec, "local:", 6) != 0) {
		*error_r = xstrdup_printf("milter_socket \"%s\": unknown kind \"%.*s\" (want %s)", spec,
				       (int)(colon - spec > 16 ? 16 : colon - spec), spec, forms);
		return -1;
	}
	if (colon[1] != '/') {
		*error_r = xstrdup_printf("milter_socket \"%s\": the path must be absolute", spec);
		return -1;
	}
	if (strlen(colon + 1) >= sizeof(sun.sun_path)) {
		*error_r = xstrdup_printf("milter_socket \"%s\": the path is longer than %zu bytes", spec,
				       sizeof(sun.sun_path) - 1);
		return -1;
	}
	if (!check_parent_dir(colon + 1, dir, sizeof(dir))) {
		*error_r = xstrdup_printf("milter_socket \"%s\": directory %s does not exist; create it "
				       "(install -d -o rebound -g postfix -m 750 %s)", spec, dir, dir);
		return -1;
	}
	return 0;
}

int
check_user(const char *user, char **error_r)
{
	struct passwd *pw;

	if (*user == '\0') {
		*error_r = xstrdup_printf("milter_user is empty");
		return -1;
	}
	if ((pw = getpwnam(user)) == NULL) {
		*error_r = xstrdup_printf("milter_user %s: no such user (create it: useradd --system "
				       "--home-dir /nonexistent --shell /usr/sbin/nologin %s)",
				       user, user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		*error_r = xstrdup_printf("milter_user %s is root; the milter parses mail from strangers "
				       "and must not run as root", user);
		return -1;
	}
	return 0;
}

int
check_config(const struct cfg *cfg, const char *socket_spec, const char *pid_file,
	     char **error_r)
{
	if (check_socket(socket_spec, error_r) < 0 || check_user(cfg->milter_user, error_r) < 0)
		return -1;
	if (pid_file[0] != '/') {
		*error_r = xstrdup_printf("milter_pid_file \"%s\": want an absolute path; the pid file "
				       "is what keeps a second milter off the socket", pid_file);
		return -1;
	}
	return 0;
}

/*
 * check_dir_usable - the directory dir (what) is one the user can create
 * files in.  When root starts the milter (as_root), it creates a missing
 * directory for the user, and takes an existing one when it is the
 * milter's own (owned_by_milter); otherwise the parent of a missing one
 * must let the user create it.
 */
static int
check_dir_usable(const char *what, const char *dir, bool as_root, bool owned_by_milter,
		 char **error_r)
{
	struct stat st;
	char parent[PATH_MAX], me[64];

	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			*error_r = xstrdup_printf("%s %s is not a directory", what, dir);
			return -1;
		}
		if ((!as_root || !owned_by_milter) && access(dir, W_OK | X_OK) < 0) {
			*error_r = xstrdup_printf("%s %s: %s cannot create files in it (%s); "
					       "chown it to %s", what, dir, check_whoami(me, sizeof(me)),
					       strerror(errno), me);
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		*error_r = xstrdup_printf("%s %s: %s", what, dir, strerror(errno));
		return -1;
	}
	if (as_root)
		return 0;
	if (!check_parent_dir(dir, parent, sizeof(parent)) || access(parent, W_OK | X_OK) < 0) {
		*error_r = xstrdup_printf("%s %s does not exist, and %s cannot create it; create it, "
				       "owned by that user", what, dir, check_whoami(me, sizeof(me)));
		return -1;
	}
	return 0;
}

int
check_as_user(const struct cfg *cfg, const char *pid_file, bool as_root, char **error_r)
{
	char dir[PATH_MAX];

	/* Root creates a missing log file at start, for the milter's user. */
	if (cfg->log_file[0] != '\0' && msg_log_file_check(cfg->log_file, as_root, error_r) < 0)
		return -1;
	if (check_dir_usable("milter_spool_directory", cfg->milter_spool_directory, as_root, true,
			     error_r) < 0)
		return -1;
	check_parent_dir(pid_file, dir, sizeof(dir));
	return check_dir_usable("the pid file's directory", dir, as_root, false, error_r);
}
