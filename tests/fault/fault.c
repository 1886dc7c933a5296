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

/*
 * fault_setup - read REBOUND_FAULT once: "count", or up to
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
	for (size_t i = 0; i < fault_npoints; i++) {
		if (fault_points[i].kind != kind || fault_points[i].nth != n)
			continue;
		fault_injected(kind, n, what,
			       atomic_load(&fault_calls[FAULT_PQ]) - (kind == FAULT_PQ ? 1 : 0));
		return 1;
	}
	return 0;
}
