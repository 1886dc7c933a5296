/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fault - the counters behind fault_inject() (common/util/fault.h), for the
 * fault-injection builds of rebound-pipe and rebound-milter.
 *
 * Built plain, every call of every thread counts: rebound-pipe has one
 * thread.  Built with -DREBOUND_FAULT_THREAD_SCOPE (rebound-milter), only
 * the calls of threads that called fault_scope_enter() count, and the
 * others pass through untouched.  The counters are atomic all the same, so
 * that a program with several threads in scope stays free of data races.
 */
#include <sys/wait.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fault.h"

#define FAULT_POINTS_MAX 4

static pthread_once_t fault_once = PTHREAD_ONCE_INIT;
static struct {
	enum fault_kind kind;
	unsigned long nth;		/* the call of that kind to fail */
} fault_points[FAULT_POINTS_MAX];
static size_t fault_npoints;
static bool fault_trace;		/* REBOUND_FAULT_TRACE: say every call */
static unsigned long fault_abort_pq;	/* abort() at this libpq call, or 0 */
static int fault_fork_report = -1;	/* REBOUND_FAULT=fork:alloc: the report */
static atomic_ulong fault_calls[2];	/* calls so far, per kind */

#ifdef REBOUND_FAULT_THREAD_SCOPE
static _Thread_local bool fault_in_scope;
#define FAULT_IN_SCOPE() fault_in_scope
#else
#define FAULT_IN_SCOPE() true
#endif

/* fault_report - at exit: how many calls of each kind were counted */
static void
fault_report(void)
{
	char line[128];
	int len;

	len = snprintf(line, sizeof(line), "rebound-fault: alloc=%lu pq=%lu\n",
		       atomic_load(&fault_calls[FAULT_ALLOC]), atomic_load(&fault_calls[FAULT_PQ]));
	(void)!write(STDERR_FILENO, line, (size_t)len);
}

/*
 * fault_injected - say at once which call was failed.  At once rather
 * than at exit, because a test of the milter waits for this line to know
 * that the fault happened; write(2) because the call that failed may be
 * an allocation.
 */
static void
fault_injected(enum fault_kind kind, unsigned long nth, const char *what, unsigned long pq_before)
{
	char line[256];
	int len;

	len = snprintf(line, sizeof(line), "rebound-fault: injected %s:%lu (%s) pq_before=%lu\n",
		       kind == FAULT_ALLOC ? "alloc" : "pq", nth, what, pq_before);
	(void)!write(STDERR_FILENO, line, (size_t)len);
}

/* fault_trace_call - REBOUND_FAULT_TRACE: one line per counted call */
static void
fault_trace_call(enum fault_kind kind, unsigned long n, const char *what)
{
	char line[128];
	int len;

	len = snprintf(line, sizeof(line), "rebound-fault: call %s:%lu (%s)\n",
		       kind == FAULT_ALLOC ? "alloc" : "pq", n, what);
	(void)!write(STDERR_FILENO, line, (size_t)len);
}

#ifndef REBOUND_FAULT_THREAD_SCOPE
/*
 * fault_fork_setup - REBOUND_FAULT=fork:alloc: open the report file that
 * REBOUND_FAULT_REPORT names.  Without one there is nowhere to say what
 * the children did, so the run stops here rather than pass unseen.
 */
static void
fault_fork_setup(void)
{
	const char *path = getenv("REBOUND_FAULT_REPORT");

	if (path == NULL ||
	    (fault_fork_report = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
		static const char e[] = "rebound-fault: fork:alloc needs REBOUND_FAULT_REPORT\n";

		(void)!write(STDERR_FILENO, e, sizeof(e) - 1);
		_exit(70);
	}
}

/*
 * fault_fork_child - fail allocation n in a child and report what it did:
 * "alloc:N status=S out=FIRST LINE OF STDOUT".  The process is
 * single-threaded and, before its first libpq call, holds no connection
 * a child could share, so the child is exactly the process that a run
 * with REBOUND_FAULT=alloc:N would be at that call, without the cost of
 * starting over.  Returns 1 in the child (fail the call), 0 in the parent.
 */
static int
fault_fork_child(unsigned long n)
{
	char out[256], line[400];
	size_t len = 0;
	ssize_t got;
	int fds[2], status = 0, wlen;
	pid_t pid;

	if (pipe(fds) < 0)
		_exit(71);
	(void)fflush(stdout);
	if ((pid = fork()) < 0)
		_exit(71);
	if (pid == 0) {
		fault_fork_report = -1;
		(void)dup2(fds[1], STDOUT_FILENO);
		(void)close(fds[0]);
		(void)close(fds[1]);
		fault_injected(FAULT_ALLOC, n, "forked", 0);
		return 1;
	}
	(void)close(fds[1]);
	/* Read to the end, so that a child with more to say never blocks. */
	for (;;) {
		bool full = len == sizeof(out) - 1;
		char *dst = full ? line : out + len;

		if ((got = read(fds[0], dst, full ? sizeof(line) : sizeof(out) - 1 - len)) <= 0)
			break;
		if (!full)
			len += (size_t)got;
	}
	(void)close(fds[0]);
	out[len] = '\0';
	out[strcspn(out, "\n")] = '\0';
	(void)waitpid(pid, &status, 0);
	wlen = snprintf(line, sizeof(line), "alloc:%lu status=%d out=%s\n", n,
			WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out);
	(void)!write(fault_fork_report, line, (size_t)wlen);
	return 0;
}
#else
/* The milter's threads make fork() unsafe: no fork mode there. */
static void
fault_fork_setup(void)
{
	_exit(70);
}

static int
fault_fork_child(unsigned long n)
{
	(void)n;
	return 0;
}
#endif

/*
 * fault_setup - read REBOUND_FAULT once: "count", "fork:alloc" (each
 * allocation before the first libpq call fails in a forked child; see
 * fault_fork_child()), or up to
 * FAULT_POINTS_MAX points separated by commas, each alloc:N or pq:N
 * ("pq:9,pq:12": the 9th libpq call fails, and so does the 12th, which
 * may be one that only the error handling of the first makes).
 */
static void
fault_setup(void)
{
	const char *spec = getenv("REBOUND_FAULT");
	const char *abort_at = getenv("REBOUND_FAULT_ABORT_PQ");

	/* What a g_malloc() failure does: abort(), here at a chosen libpq call. */
	if (abort_at != NULL)
		fault_abort_pq = strtoul(abort_at, NULL, 10);
	fault_trace = getenv("REBOUND_FAULT_TRACE") != NULL;
	if (spec == NULL)
		return;
	if (strcmp(spec, "fork:alloc") == 0) {
		fault_fork_setup();
		atexit(fault_report);
		return;
	}
	while (*spec != '\0' && fault_npoints < FAULT_POINTS_MAX) {
		char *end;

		if (strncmp(spec, "alloc:", 6) == 0)
			fault_points[fault_npoints].kind = FAULT_ALLOC, spec += 6;
		else if (strncmp(spec, "pq:", 3) == 0)
			fault_points[fault_npoints].kind = FAULT_PQ, spec += 3;
		else
			break;
		fault_points[fault_npoints++].nth = strtoul(spec, &end, 10);
		spec = *end == ',' ? end + 1 : end;
	}
	atexit(fault_report);
}

void
fault_scope_enter(void)
{
#ifdef REBOUND_FAULT_THREAD_SCOPE
	fault_in_scope = true;
#endif
}

int
fault_inject(enum fault_kind kind, const char *what)
{
	unsigned long n;

	if (!FAULT_IN_SCOPE())
		return 0;
	pthread_once(&fault_once, fault_setup);
	n = atomic_fetch_add(&fault_calls[kind], 1) + 1;
	if (fault_trace)
		fault_trace_call(kind, n, what);
	if (kind == FAULT_PQ && n == fault_abort_pq)
		abort();
	/* Fork mode covers the allocations before the first libpq call. */
	if (fault_fork_report >= 0) {
		if (kind == FAULT_ALLOC && atomic_load(&fault_calls[FAULT_PQ]) == 0)
			return fault_fork_child(n);
		return 0;
	}
	for (size_t i = 0; i < fault_npoints; i++) {
		if (fault_points[i].kind != kind || fault_points[i].nth != n)
			continue;
		fault_injected(kind, n, what,
			       atomic_load(&fault_calls[FAULT_PQ]) - (kind == FAULT_PQ ? 1 : 0));
		return 1;
	}
	return 0;
}
