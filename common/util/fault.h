/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_FAULT_H
#define REBOUND_FAULT_H

/*
 * fault - test-only fault injection, compiled in only with
 * -DREBOUND_FAULT_INJECTION (tests/fault/rebound-pipe-fault and
 * tests/fault/rebound-milter-fault).  In every other build fault_inject()
 * is the constant 0 and the hooks vanish.
 *
 * The hooks sit in xalloc.c (each xmalloc/xcalloc/xrealloc, and so each
 * xstrdup/xstrndup), in pipe/pq_lazy.c (each libpq call of rebound-pipe
 * that can report failure) and in tests/fault/pq_wrap.c (the same calls of
 * rebound-milter, which links libpq: the linker's --wrap sends them there).
 * We chose compiled-in hooks over an LD_PRELOAD shim because neither kind
 * of call can be caught by one: a malloc() shim sees GLib's, GMime's and
 * libc's own allocations too, not just ours, and rebound-pipe reaches
 * libpq through dlopen(RTLD_LOCAL) and dlsym(), which a preloaded library
 * does not interpose.
 *
 * REBOUND_FAULT=alloc:N makes the Nth allocation fail, pq:N the Nth libpq
 * call, and a list such as pq:9,pq:12 each call it names; REBOUND_FAULT=count
 * fails nothing.  When a call is failed, the process writes
 * "rebound-fault: injected KIND:N (CALL) pq_before=P" to stderr at once; at
 * exit it writes "rebound-fault: alloc=A pq=P" (the calls it counted).
 * With REBOUND_FAULT_TRACE set, it also writes "rebound-fault: call
 * KIND:N (CALL)" for every call it counts, so that a test can find the
 * calls that only an error path makes.
 *
 * rebound-pipe is single-threaded and every call counts.  rebound-milter
 * runs libmilter's threads, the suppression loader and the writer side by
 * side, so the order of their calls is not reproducible; its fault build
 * (compiled with REBOUND_FAULT_THREAD_SCOPE) counts only the calls made on
 * threads that called fault_scope_enter(), which makes "the Nth call" the
 * same call in every run.
 */
enum fault_kind {
	FAULT_ALLOC,
	FAULT_PQ,
};

#ifdef REBOUND_FAULT_INJECTION
/* fault_inject - count one call of kind; whether it must fail */
int fault_inject(enum fault_kind kind, const char *what);

/* fault_scope_enter - count the calling thread's calls from now on */
void fault_scope_enter(void);
#else
#define fault_inject(kind, what) 0
#define fault_scope_enter() ((void)0)
#endif

#endif
