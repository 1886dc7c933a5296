/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fault - the counters behind fault_inject() (common/fault.h), for the
 * fault-injection build of rebound-pipe only.  Single-threaded, like
 * rebound-pipe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"

static int fault_ready;
static int fault_kind_set = -1;		/* the kind to fail, or -1 */
static unsigned long fault_nth;		/* the call of that kind to fail */
static unsigned long fault_calls[2];	/* calls so far, per kind */
static const char *fault_what;		/* the call that was failed */
static unsigned long fault_pq_before;	/* libpq calls made before the fault */
static unsigned long fault_abort_pq;	/* abort() at this libpq call, or 0 */

/* fault_report - at exit: how many calls of each kind, what was failed */
static void
fault_report(void)
{
	char line[256];
	int len;

	if (fault_what != NULL) {
		len = snprintf(line, sizeof(line), "rebound-fault: injected %s:%lu (%s) pq_before=%lu\n",
			       fault_kind_set == FAULT_ALLOC ? "alloc" : "pq", fault_nth,
			       fault_what, fault_pq_before);
		(void)!write(STDERR_FILENO, line, (size_t)len);
	}
	len = snprintf(line, sizeof(line), "rebound-fault: alloc=%lu pq=%lu\n",
		       fault_calls[FAULT_ALLOC], fault_calls[FAULT_PQ]);
	(void)!write(STDERR_FILENO, line, (size_t)len);
}

/* fault_setup - read REBOUND_FAULT once */
static void
fault_setup(void)
{
	const char *spec = getenv("REBOUND_FAULT");
	const char *abort_at = getenv("REBOUND_FAULT_ABORT_PQ");

	fault_ready = 1;
	/* What a g_malloc() failure does: abort(), here at a chosen libpq call. */
	if (abort_at != NULL)
		fault_abort_pq = strtoul(abort_at, NULL, 10);
	if (spec == NULL)
		return;
	if (strncmp(spec, "alloc:", 6) == 0)
		fault_kind_set = FAULT_ALLOC, fault_nth = strtoul(spec + 6, NULL, 10);
	else if (strncmp(spec, "pq:", 3) == 0)
		fault_kind_set = FAULT_PQ, fault_nth = strtoul(spec + 3, NULL, 10);
	atexit(fault_report);
}

int
fault_inject(enum fault_kind kind, const char *what)
{
	if (!fault_ready)
		fault_setup();
	if (++fault_calls[kind] == fault_abort_pq && kind == FAULT_PQ)
		abort();
	if (fault_calls[kind] != fault_nth || (int)kind != fault_kind_set)
		return 0;
	fault_what = what;
	fault_pq_before = fault_calls[FAULT_PQ] - (kind == FAULT_PQ);
	return 1;
}
