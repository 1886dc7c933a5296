/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_FAULT_H
#define REBOUND_FAULT_H

/*
 * fault - test-only fault injection, compiled in only with
 * -DREBOUND_FAULT_INJECTION (tests/fault/rebound-pipe-fault).  In every
 * other build fault_inject() is the constant 0 and the hooks vanish.
 *
 * The hooks sit in xalloc.c (each xmalloc/xcalloc/xrealloc, and so each
 * xstrdup/xstrndup) and in pipe/pq_lazy.c (each libpq call that can
 * report failure).  We chose compiled-in hooks over an LD_PRELOAD shim
 * because neither kind of call can be caught by one: a malloc() shim sees
 * GLib's, GMime's and libc's own allocations too, not just ours, and
 * libpq is reached through dlopen(RTLD_LOCAL) and dlsym(), which a
 * preloaded library does not interpose.
 *
 * REBOUND_FAULT=alloc:N makes the Nth allocation fail, pq:N the Nth libpq
 * call; REBOUND_FAULT=count fails nothing.  Either way, at exit the
 * process writes "rebound-fault: alloc=A pq=P" (the calls it made) to
 * stderr, and "rebound-fault: injected KIND:N" when it failed one.
 */
enum fault_kind {
	FAULT_ALLOC,
	FAULT_PQ,
};

#ifdef REBOUND_FAULT_INJECTION
/* fault_inject - count one call of kind; whether it must fail */
int fault_inject(enum fault_kind kind, const char *what);
#else
#define fault_inject(kind, what) 0
#endif

#endif
