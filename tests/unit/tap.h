/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_TAP_H
#define REBOUND_TAP_H

/*
 * tap - a minimal Test Anything Protocol producer for the unit tests, run
 * by prove(1).  Failures print "got X, want Y" diagnostics.
 */
int tap_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tap_is_str(const char *got, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int tap_is_int(long long got, long long want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* tap_done - print the plan; returns the exit status for main() */
int tap_done(void);

#endif
