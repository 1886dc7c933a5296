/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-msg - msg_fatal's hook: it runs once, before the exit, on the
 * thread that failed; a hook that fails itself still exits; a second
 * thread failing meanwhile neither runs the hook again nor exits first.
 * Each case runs in a child process, since msg_fatal ends it.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/msg.h"
#include "tap.h"

#define FATAL_STATUS 7

static int hook_fd = -1;		/* the child's end of the pipe */
static volatile int hook_nested;	/* the hook fails itself */
static volatile int hook_slow;		/* the hook takes its time */

/* hook - say "H" to the parent; fail or dawdle when asked to */
static void
hook(void)
{
	(void)!write(hook_fd, "H", 1);
	if (hook_nested)
		msg_fatal("the hook failed too");
	if (hook_slow) {
		struct timespec ts = { 0, 200 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	(void)!write(hook_fd, "h", 1);
}

static void *
second_failure(void *arg)
{
	(void)arg;
	msg_fatal("the second thread fails as well");
}

/* run_case - fork, fail in the child as mode says; what the hook wrote */
static int
run_case(const char *mode, char *out, size_t size)
{
	int fds[2], status;
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	if (pipe(fds) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		pthread_t t;

		close(fds[0]);
		hook_fd = fds[1];
		hook_nested = strcmp(mode, "nested") == 0;
		hook_slow = strcmp(mode, "threads") == 0;
		msg_open("test-msg", 0, 0);
		msg_set_fatal_status(FATAL_STATUS);
		msg_set_fatal_hook(hook);
		/* Another thread fails first; this one fails while its hook sleeps. */
		if (hook_slow && pthread_create(&t, NULL, second_failure, NULL) == 0) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
		msg_fatal("the first failure");
	}
	close(fds[1]);
	while (got + 1 < size && (n = read(fds[0], out + got, size - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int
main(void)
{
	/* Each case: how the child fails, what its hook must write, and why. */
	static const struct {
		const char *mode, *hook_wrote, *exit_what, *hook_what;
	} cases[] = {
		{ "plain", "Hh", "msg_fatal exits with the fatal status after its hook",
		  "the hook ran once, to its end" },
		{ "nested", "H", "a hook that fails itself still ends in the exit",
		  "and is not run again" },
		{ "threads", "Hh", "two threads failing at once: one exit",
		  "the hook ran once, and the second thread did not cut it short" },
	};
	char out[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tap_is_int(run_case(cases[i].mode, out, sizeof(out)), FATAL_STATUS, "%s",
			   cases[i].exit_what);
		tap_is_str(out, cases[i].hook_wrote, "%s", cases[i].hook_what);
	}
	return tap_done();
}
