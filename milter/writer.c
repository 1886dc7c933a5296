/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * writer - get the milter's records into PostgreSQL without ever making
 * SMTP wait for it.
 *
 * Callbacks put records on a bounded in-memory queue and return.  One
 * thread with its own connection takes them off and inserts them.  When
 * the database cannot be reached, and for as long as older records wait in
 * the spool, records go to the spool instead, so that they reach the
 * database in the order they were made.  A full queue spills straight to
 * the spool from the callback.  Inserts are idempotent (messages are keyed
 * by token, events by a random dedup key), which makes replaying a spool
 * file twice after a crash harmless.
 *
 * A failed allocation ends the process (msg_fatal), and with it the
 * records in memory, whose EOM or RCPT was already answered.  So msg_fatal
 * first calls writer_last_gasp(), which appends them to the spool: those
 * still queued and those the writer thread has in hand.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "fault.h"
#include "milter.h"
#include "msg.h"
#include "utf8.h"
#include "xalloc.h"

#define WRITER_RETRY_MAX	5	/* seconds between connection attempts, at most */
/*
 * How long the writer lets records gather once one has come, unless a
 * whole batch is there sooner.  Under load that turns a statement and two
 * thread wake-ups per message into one of each per batch; a record still
 * reaches the database within a fraction of a second.
 */
#define WRITER_LINGER_NS	(100 * 1000 * 1000L)

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mrec **ring;
	size_t cap, head, count;
	/*
	 * What the writer thread took off the ring and has not freed yet.
	 * Filled and emptied under lock, so that writer_last_gasp() can read
	 * it from any thread.
	 */
	struct mrec *batch[WRITER_BATCH];
	size_t batch_n;
	bool stop;
	pthread_t thread;
	bool running;
	struct spool *spool;
	struct db_params params;
	char *conninfo;
	struct db *db;
	time_t next_try;
	unsigned retry;
	atomic_bool unhealthy;
} w = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static void
writer_disconnect(void)
{
	db_free(&w.db);
	w.retry = w.retry == 0 ? 1 : w.retry * 2;
	if (w.retry > WRITER_RETRY_MAX)
		w.retry = WRITER_RETRY_MAX;
	w.next_try = time(NULL) + (time_t)w.retry;
}

/* writer_connect - make sure there is a connection, if the time has come */
static void
writer_connect(void)
{
	char *error;

	if (w.db != NULL || time(NULL) < w.next_try)
		return;
	if (db_connect(&w.params, &w.db, &error) < 0) {
		if (w.retry == 0)
			msg_warn("database unavailable, spooling records: %s", error);
		free(error);
		writer_disconnect();
		return;
	}
	if (w.retry != 0)
		msg_info("database available again");
	w.retry = 0;
}

/*
 * writer_bad_record - whether the failed statement's SQLSTATE blames the
 * record itself (class 22, data exception; class 23, integrity constraint
 * violation).  Anything else, a timeout, a lock, a full disk, a missing
 * table, may pass, so the record must wait in the spool.
 */
static bool
writer_bad_record(const char *sqlstate)
{
	return strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0;
}

/*
 * writer_store - insert rec.  A record that PostgreSQL refuses as data
 * would block the spool for ever, so it is logged and dropped.  Returns
 * -1 when the record must be spooled: the database went away or failed
 * for a reason that may pass.
 */
static int
writer_store(const struct mrec *rec)
{
	char *error = NULL;

	if (!writer_well_formed(rec)) {
		msg_error("record dropped: kind %c with %zu fields", rec->kind, rec->n);
		return 0;
	}
	if (writer_insert(w.db, &rec, 1, &error) == 0) {
		atomic_store(&w.unhealthy, false);
		return 0;
	}
	if (db_connection_ok(w.db) && writer_bad_record(db_sqlstate(w.db))) {
		msg_error("record dropped: %s", error);
		free(error);
		return 0;
	}
	msg_warn("database %s, spooling records: %s",
		 db_connection_ok(w.db) ? "failed" : "lost", error);
	free(error);
	writer_disconnect();
	return -1;
}

static int
writer_replay_one(void *ctx, const struct mrec *rec)
{
	(void)ctx;
	return writer_store(rec);
}

/* writer_spool - append rec to the spool; false if that failed */
static bool
writer_spool(const struct mrec *rec)
{
	char *error;

	if (spool_append(w.spool, rec, &error) < 0) {
		msg_error("spool write failed, record lost: %s", error ? error : "?");
		free(error);
		atomic_store(&w.unhealthy, true);
		return false;
	}
	atomic_store(&w.unhealthy, false);
	return true;
}

static void
writer_replay(void)
{
	size_t bad;
	char *error;
	long n;

	if (w.db == NULL || !spool_pending(w.spool))
		return;
	n = spool_replay(w.spool, writer_replay_one, NULL, &bad, &error);
	if (bad > 0)
		msg_error("spool: %zu malformed records skipped", bad);
	if (n < 0 && error != NULL) {
		msg_error("spool replay: %s", error);
		free(error);
	}
	if (n > 0)
		msg_info("spool: %ld records stored", n);
}

static void
writer_handle(struct mrec *rec)
{
	writer_connect();
	writer_replay();
	if (w.db != NULL && !spool_pending(w.spool) && writer_store(rec) == 0)
		return;
	(void)writer_spool(rec);
}

/*
 * writer_store_batch - store batch[0..n).  Returns 0 when all of it is
 * stored.  Otherwise the caller stores the records one by one, which
 * spools them if the database went away, drops only the bad one if a
 * record was bad, and stores again, harmlessly, those already stored.
 */
static int
writer_store_batch(const struct mrec *const *batch, size_t n)
{
	char *error = NULL;

	for (size_t i = 0; i < n; i++)
		if (!writer_well_formed(batch[i]))
			return -1;
	if (writer_insert(w.db, batch, n, &error) == 0) {
		atomic_store(&w.unhealthy, false);
		return 0;
	}
	if (!db_connection_ok(w.db)) {
		/* Said here: the records go to the spool without a word after. */
		msg_warn("database lost, spooling records: %s", error != NULL ? error : "?");
		writer_disconnect();
	}
	free(error);
	return -1;
}

/*
 * writer_recover - after a failed spool write, the callbacks refuse to
 * sign mail whose record could be lost, so no record may come to prove the
 * spool works again; find out here instead, about once a second.
 */
static void
writer_recover(void)
{
	char *error;

	if (!atomic_load(&w.unhealthy))
		return;
	if (spool_probe(w.spool, &error) < 0) {
		free(error);
		return;
	}
	atomic_store(&w.unhealthy, false);
	msg_info("spool writable again");
}

/* writer_drain - store w.batch, taken off the queue, and free it */
static void
writer_drain(void)
{
	const struct mrec *const *batch = (const struct mrec *const *)w.batch;
	size_t n = w.batch_n;
	bool stored;

	writer_recover();
	writer_connect();
	writer_replay();
	stored = n > 1 && w.db != NULL && !spool_pending(w.spool) &&
		 writer_store_batch(batch, n) == 0;
	if (!stored)
		for (size_t i = 0; i < n; i++)
			writer_handle(w.batch[i]);
	pthread_mutex_lock(&w.lock);
	for (size_t i = 0; i < n; i++)
		mrec_free(&w.batch[i]);
	w.batch_n = 0;
	pthread_mutex_unlock(&w.lock);
}

/* deadline_in - the CLOCK_REALTIME time ns nanoseconds from now */
static struct timespec
deadline_in(long ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ns;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

/*
 * writer_wait - with w.lock held: wait up to a second for a record, then
 * up to WRITER_LINGER_NS for a batch of them.  writer_submit() wakes the
 * writer only for the first record and for a full batch.
 */
static void
writer_wait(void)
{
	struct timespec ts = deadline_in(1000000000L);

	while (w.count == 0 && !w.stop)
		if (pthread_cond_timedwait(&w.cond, &w.lock, &ts) == ETIMEDOUT)
			return;
	ts = deadline_in(WRITER_LINGER_NS);
	while (w.count > 0 && w.count < WRITER_BATCH && !w.stop)
		if (pthread_cond_timedwait(&w.cond, &w.lock, &ts) == ETIMEDOUT)
			return;
}

static void *
writer_main(void *arg)
{
	/*
	 * The first pass does not wait for records: it connects and stores
	 * what the last run left in the spool at once, not a second later,
	 * and the first libpq calls of a run no longer depend on when its
	 * first record comes.
	 */
	bool wait = false;

	(void)arg;
	/* The fault-injection build counts this thread's calls only. */
	fault_scope_enter();
	for (;;) {
		bool stop;

		pthread_mutex_lock(&w.lock);
		if (wait)
			writer_wait();
		wait = true;
		while (w.count > 0 && w.batch_n < WRITER_BATCH) {
			w.batch[w.batch_n++] = w.ring[w.head];
			w.head = (w.head + 1) % w.cap;
			w.count--;
		}
		stop = w.stop && w.count == 0;
		pthread_mutex_unlock(&w.lock);

		writer_drain();
		if (stop)
			break;
	}
	db_free(&w.db);
	return NULL;
}

/* writer_save - append one record to the spool at the last gasp */
static void
writer_save(const struct mrec *rec, size_t *saved, size_t *lost)
{
	char *error;

	if (spool_append(w.spool, rec, &error) == 0) {
		(*saved)++;
		return;
	}
	free(error);
	(*lost)++;
}

/*
 * writer_last_gasp - msg_fatal's hook: append to the spool every record
 * that would die with the process, those the writer thread holds and
 * those still queued.  Some may be in the database already; storing them
 * again from the spool adds nothing.  w.stop sends the records of
 * callbacks still running straight to the spool, so that none is queued
 * behind our back and acknowledged before the exit.
 *
 * No thread calls msg_fatal while it holds w.lock (nothing under it
 * allocates), so taking it here cannot wait for ever; spool_append
 * allocates nothing under the spool's lock for the same reason.
 */
static void
writer_last_gasp(void)
{
	size_t saved = 0, lost = 0;

	pthread_mutex_lock(&w.lock);
	w.stop = true;
	for (size_t i = 0; i < w.batch_n; i++)
		if (w.batch[i] != NULL)
			writer_save(w.batch[i], &saved, &lost);
	for (size_t i = 0; i < w.count; i++)
		writer_save(w.ring[(w.head + i) % w.cap], &saved, &lost);
	pthread_mutex_unlock(&w.lock);
	if (lost > 0)
		msg_error("exiting: %zu records saved to the spool, %zu lost", saved, lost);
	else if (saved > 0)
		msg_info("exiting: %zu records saved to the spool", saved);
}

int
writer_start(const struct writer_params *params, char **error_r)
{
	sigset_t all, old;
	int err;

	if (spool_open(params->spool_dir, &w.spool, error_r) < 0)
		return -1;
	w.conninfo = xstrdup(params->conninfo);
	w.params.conninfo = w.conninfo;
	w.params.connect_timeout = params->connect_timeout;
	w.params.statement_timeout = params->statement_timeout;
	w.params.application_name = "rebound-milter";
	w.cap = params->queue_size;
	w.ring = xcalloc(w.cap, sizeof(*w.ring));
	msg_set_fatal_hook(writer_last_gasp);
	/* Signals belong to the main thread (see main.c). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&w.thread, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		*error_r = xstrdup(strerror(err));
		return -1;
	}
	w.running = true;
	return 0;
}

/*
 * writer_make_valid - the addresses and headers of a message are a
 * stranger's bytes: repair them here, once, so that neither the database
 * nor the spool sees them raw.
 */
static void
writer_make_valid(struct mrec *rec)
{
	for (size_t i = 0; i < rec->n; i++)
		utf8_repair(&rec->f[i]);
}

int
writer_submit(struct mrec *rec)
{
	bool queued = false;

	writer_make_valid(rec);

	pthread_mutex_lock(&w.lock);
	if (w.count < w.cap && !w.stop) {
		w.ring[(w.head + w.count) % w.cap] = rec;
		w.count++;
		queued = true;
		if (w.count == 1 || w.count == WRITER_BATCH)
			pthread_cond_signal(&w.cond);
	}
	pthread_mutex_unlock(&w.lock);
	if (queued)
		return 0;
	/*
	 * The queue is full: the database is slower than the mail.  Spill to
	 * the spool here rather than wait; the writer stores spooled records
	 * before newer ones.
	 */
	queued = writer_spool(rec);
	mrec_free(&rec);
	return queued ? 0 : -1;
}

bool
writer_healthy(void)
{
	return !atomic_load(&w.unhealthy);
}

void
writer_stop(void)
{
	if (!w.running)
		return;
	pthread_mutex_lock(&w.lock);
	w.stop = true;
	pthread_cond_signal(&w.cond);
	pthread_mutex_unlock(&w.lock);
	pthread_join(w.thread, NULL);
	w.running = false;
	/*
	 * The spool stays open: SMTP sessions can outlive smfi_main(), and
	 * their records now go straight to it (w.stop makes writer_submit
	 * spill).  The process exits next.
	 */
}
