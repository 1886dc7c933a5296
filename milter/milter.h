/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_MILTER_H
#define REBOUND_MILTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"
#include "spool.h"
#include "suppset.h"
#include "token.h"

/*
 * Internal interfaces of rebound-milter.
 *
 *	config.c	the refcounted configuration snapshot and SIGHUP reload
 *	daemon.c	daemonizing, the pid file, dropping privileges
 *	writer.c	the record queue, the database writer thread, the spool
 *	writer_sql.c	the statements that store a batch of records
 *	suppress.c	the in-memory suppression list and its loader thread
 *	callbacks.c	the libmilter callbacks
 */

/*
 * A snapshot of everything SIGHUP can change.  It is immutable once
 * published; each SMTP transaction pins the snapshot it started with, so
 * a reload never changes the rules half-way through a message.
 */
struct msnap {
	atomic_int refs;
	struct cfg *cfg;
	struct token_keys *keys;	/* NULL when token_key_file is empty */
};

/* snap_load - read path into a new snapshot; -1 and *error_r on error */
int snap_load(const char *path, struct msnap **snap_r, char **error_r);

/* snap_publish - make snap current, dropping the reference to the old one */
void snap_publish(struct msnap *snap);

/* snap_get - a reference to the current snapshot; snap_put releases it */
struct msnap *snap_get(void);
void snap_put(struct msnap **snapp);

/* snap_shutdown - drop the current snapshot at exit */
void snap_shutdown(void);

/* daemon.c */
void daemon_background(const char *pid_file);
void daemon_drop_privileges(const char *user, const char *spool_dir);
void daemon_remove_pid_file(void);

/* writer.c: records for the database */
struct writer_params {
	const char *conninfo;
	unsigned connect_timeout;
	unsigned statement_timeout;
	const char *spool_dir;
	size_t queue_size;
};

int writer_start(const struct writer_params *params, char **error_r);

/*
 * writer_commit - hand rec to the writer (which takes ownership) and wait
 * until it is durable: committed by PostgreSQL, or appended to the spool
 * and synced.  After timeout seconds, or at once when the queue is full,
 * the record is spooled here instead.  Returns 0 when the record is
 * durable (or was dropped as data PostgreSQL refuses, which is logged),
 * -1 when it could be neither stored nor spooled.  qid names the message
 * in a log line.
 */
int writer_commit(struct mrec *rec, unsigned timeout, const char *qid);

/*
 * writer_healthy - false after a spool write failed, until a record is
 * stored or spooled again or the spool proves writable (checked about
 * once a second)
 */
bool writer_healthy(void);

/* writer_stop - store or spool what is queued and stop the thread */
void writer_stop(void);

/* writer_sql.c */
#define WRITER_BATCH	64	/* records one statement stores, at most */

struct db;

/* writer_well_formed - whether rec has the fields its kind needs */
bool writer_well_formed(const struct mrec *rec);

/*
 * writer_insert - store recs[0..n), all well formed; -1 and *error_r on
 * failure.  The two statements are not one transaction, and need not be:
 * every insert is idempotent, so the records of a failed call can all be
 * stored again, those that made it included.
 */
int writer_insert(struct db *db, const struct mrec *const *recs, size_t n, char **error_r);

/* suppress.c */
int suppress_start(const char *conninfo, unsigned connect_timeout,
		   unsigned statement_timeout);

/*
 * suppress_lookup - 1 if address is suppressed (reason copied), 0 if not,
 * -1 if the list has never been loaded.
 */
int suppress_lookup(const char *address, char reason[SUPPSET_REASON_MAX + 1]);

void suppress_stop(void);

/* callbacks.c */
int callbacks_register(void);

/* record helpers shared by the callbacks */
void milter_random_hex(char *out, size_t octets);

#endif
