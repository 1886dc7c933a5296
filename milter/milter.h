/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_MILTER_H
#define REBOUND_MILTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "mail/cfg.h"
#include "util/msg.h"
#include "spool.h"
#include "suppset.h"
#include "mail/token.h"

/*
 * Internal interfaces of rebound-milter.
 *
 *	config.c	the refcounted configuration snapshot and SIGHUP reload
 *	checks.c	what -n and a start check before the milter runs
 *	daemon.c	the pid file and its lock, daemonizing, dropping privileges
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

/*
 * Exit statuses of rebound-milter (rebound-milter(8)): 0 after a clean
 * stop or a good -n; EX_USAGE for a bad command line; EX_CONFIG for what
 * -n finds wrong; EX_TEMPFAIL when another milter holds the pid file;
 * EX_OSERR when the system refuses something at start (a socket in use,
 * fork); 1 after a fatal error while running (out of memory).
 */

/* checks.c: each returns 0, or -1 and *error_r (allocated) */
int check_socket(const char *spec, char **error_r);
int check_user(const char *user, char **error_r);
int check_config(const struct cfg *cfg, const char *socket_spec, const char *pid_file,
		 char **error_r);
/*
 * check_as_user - as the user the milter runs as: the log file, spool and
 * pid file's directory of cfg are usable; as_root says that root starts
 * the milter and creates what is missing
 */
int check_as_user(const struct cfg *cfg, const char *pid_file, bool as_root, char **error_r);

/* daemon.c */
struct passwd;

/* daemon_die - a start-up error: logged everywhere, exit with status */
_Noreturn void daemon_die(int status, const char *fmt, ...) MSG_PRINTF(2, 3);
void daemon_own_dir(const char *dir, const struct passwd *pw, unsigned mode, bool take_existing);
void daemon_log_file(const char *path, const struct passwd *pw);
/*
 * daemon_lock_pid_file - create and lock the pid file (its directory made
 * for pw); waits up to wait seconds for a milter on its way out to let
 * go of it (daemon_stopping), then gives up with EX_TEMPFAIL; one that
 * runs refuses it at once
 */
void daemon_lock_pid_file(const char *path, const struct passwd *pw, unsigned wait);
void daemon_write_pid(void);
/* daemon_stopping - say so in the pid file: a new milter may wait for us */
void daemon_stopping(void);
void daemon_remove_pid_file(void);
void daemon_background(void);
/* daemon_ready - the start is done: release the waiting parent */
void daemon_ready(void);
void daemon_drop_privileges(const struct passwd *pw);

/* writer.c: records for the database */
struct writer_params {
	const char *conninfo;
	unsigned connect_timeout;
	unsigned statement_timeout;
	const char *spool_dir;
	size_t queue_size;
};

/* writer_open - open the spool; before going to the background */
int writer_open(const struct writer_params *params, char **error_r);

/* writer_start - start the writer thread, in the process that stays */
int writer_start(char **error_r);

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
