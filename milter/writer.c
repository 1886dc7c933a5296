/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * writer - get the milter's records into PostgreSQL, or onto disk, before
 * Postfix hears that they are.
 *
 * A callback puts its record on a bounded in-memory queue and waits until
 * the record is durable: committed by PostgreSQL, or appended to the spool
 * and synced.  One thread with its own connection takes off the queue
 * whatever has gathered there and stores it with one statement per kind
 * of record (writer_sql.c): a group commit, so that the callbacks waiting
 * at the same moment share one commit, and under load a batch grows as
 * long as a commit takes.  While records come less than WRITER_GATHER_NS
 * apart, the writer also waits that long, at most, for more to join the
 * first (writer_gather): a statement costs PostgreSQL several times what
 * one more row in it does.  When the database cannot be reached, and for as
 * long as older records wait in the spool, the batch goes to the spool
 * instead, with one sync, so that records reach the database in the order
 * they were made.  A callback waits at most milter_record_timeout; then it
 * takes its record back, or, if the writer has it in hand, copies it to
 * the spool itself, and answers.  A full queue spills straight to the
 * spool from the callback.  Inserts are idempotent (messages are keyed by
 * token, events by a random dedup key), which makes storing a record twice
 * harmless: after a replay of a spool file, or a timeout.
 *
 * A failed allocation ends the process (msg_fatal), and with it the
 * records in memory.  Their callbacks have not answered yet, so Postfix
 * applies milter_default_action; still, msg_fatal first calls
 * writer_last_gasp(), which appends them to the spool, those queued and
 * those the writer thread has in hand, so that a record whose answer was
 * on its way is not lost either.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "mail/db.h"
#include "util/fault.h"
#include "milter.h"
#include "util/msg.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#define WRITER_RETRY_MAX	5	/* seconds between connection attempts, at most */
/*
 * How long the writer waits for more records to join a batch, at most,
 * and how many it waits for.  A reply waits this much longer under load
 * and not at all when records come further apart (writer_gather).
 */
#define WRITER_GATHER_NS	20000000L
#define WRITER_GATHER_RECORDS	16

/* Where a queued record is; changed under w.lock only. */
enum entry_state {
	ENTRY_QUEUED,		/* on the ring */
	ENTRY_TAKEN,		/* in the writer's hands */
	ENTRY_DURABLE,		/* stored, spooled, or dropped as bad data */
	ENTRY_LOST,		/* neither stored nor spooled */
	ENTRY_WITHDRAWN,	/* its callback gave up waiting and took it back */
};

/*
 * A record on its way, shared by the callback that waits for it and the
 * writer; the last of the two to let go frees it.
 */
struct entry {
	struct mrec *rec;
	enum entry_state state;
	int refs;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* the writer waits here for records */
	pthread_cond_t done;		/* callbacks wait here for theirs */
	struct entry **ring;
	size_t cap, head, count;
	/*
	 * What the writer thread took off the ring and has not finished yet.
	 * Filled and emptied under lock, so that writer_last_gasp() can read
	 * it from any thread.
	 */
	struct entry *batch[WRITER_BATCH];
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
	/*
	 * When the last record was queued, and the mean time between
	 * records, smoothed (CLOCK_MONOTONIC nanoseconds); gathering is
	 * true while the writer waits for a batch to fill.
	 */
	long long last_queued, mean_gap;
	bool gathering;
	size_t gather_target;		/* records that end the wait */
} w = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
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

/* writer_spool - append recs[0..n) to the spool; false if that failed */
static bool
writer_spool(const struct mrec *const *recs, size_t n)
{
	char *error;

	if (spool_append_many(w.spool, recs, n, &error) < 0) {
		msg_error("spool write failed, %zu record%s lost: %s", n, n == 1 ? "" : "s",
			  error ? error : "?");
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

/*
 * writer_store_batch - store batch[0..n) with one statement per kind.
 * Returns 0 when all of it is stored.  Otherwise the caller stores the
 * records one by one, which spools them if the database went away, drops
 * only the bad one if a record was bad, and stores again, harmlessly,
 * those already stored.
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

/*
 * writer_store_all - store recs[0..n) in the database, or spool them:
 * durable[i] says which made it.  After the first record that must wait
 * in the spool, the rest follow it there, in order, with one sync.
 */
static void
writer_store_all(const struct mrec *const *recs, size_t n, bool *durable)
{
	size_t first_spooled = 0;

	writer_recover();
	writer_connect();
	writer_replay();
	if (w.db != NULL && !spool_pending(w.spool)) {
		if (n > 1 && writer_store_batch(recs, n) == 0)
			first_spooled = n;
		while (first_spooled < n && w.db != NULL && writer_store(recs[first_spooled]) == 0)
			first_spooled++;
	}
	for (size_t i = 0; i < n; i++)
		durable[i] = i < first_spooled;
	if (first_spooled < n && writer_spool(recs + first_spooled, n - first_spooled))
		for (size_t i = first_spooled; i < n; i++)
			durable[i] = true;
}

/* entry_put - let go of e (w.lock held); the last one frees it */
static void
entry_put(struct entry *e)
{
	if (--e->refs > 0)
		return;
	mrec_free(&e->rec);
	free(e);
}

/*
 * writer_drain - store w.batch, taken off the queue, tell the callbacks
 * waiting for its records, and let go of it
 */
static void
writer_drain(void)
{
	const struct mrec *recs[WRITER_BATCH];
	bool durable[WRITER_BATCH];
	size_t n = w.batch_n;

	for (size_t i = 0; i < n; i++)
		recs[i] = w.batch[i]->rec;
	writer_store_all(recs, n, durable);
	pthread_mutex_lock(&w.lock);
	for (size_t i = 0; i < n; i++) {
		w.batch[i]->state = durable[i] ? ENTRY_DURABLE : ENTRY_LOST;
		entry_put(w.batch[i]);
		w.batch[i] = NULL;
	}
	w.batch_n = 0;
	pthread_mutex_unlock(&w.lock);
	/*
	 * After the unlock, so that the callbacks woken do not find the lock
	 * still held and sleep again at once.
	 */
	if (n > 0)
		pthread_cond_broadcast(&w.done);
}

/* deadline_in - the CLOCK_REALTIME time ns nanoseconds from now */
static struct timespec
deadline_in(long ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ns % 1000000000L;
	ts.tv_sec += ns / 1000000000L + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

/* monotonic_ns - CLOCK_MONOTONIC in nanoseconds */
static long long
monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * writer_note_arrival - with w.lock held: a record was queued now; keep
 * the mean gap between records (an exponential average over about the
 * last eight, each gap counted as a second at most)
 */
static void
writer_note_arrival(void)
{
	long long now = monotonic_ns(), gap = now - w.last_queued;

	if (gap > 1000000000LL || w.last_queued == 0)
		gap = 1000000000LL;
	w.mean_gap += (gap - w.mean_gap) / 8;
	w.last_queued = now;
}

/*
 * writer_gather - with w.lock held and a record queued: while records
 * come less than WRITER_GATHER_NS apart, wait that long at most for
 * WRITER_GATHER_RECORDS of them, so that one statement and one commit
 * store them all.  Each statement costs PostgreSQL a fixed part (executor
 * start, the triggers, the commit) several times what a row adds, and
 * costs the milter a round trip and the wake-ups of its threads.  When
 * records come further apart, a wait would only delay the reply.
 */
static void
writer_gather(void)
{
	struct timespec ts;

	/* A small queue_size must not keep the writer waiting for more. */
	w.gather_target = w.cap < WRITER_GATHER_RECORDS ? w.cap : WRITER_GATHER_RECORDS;
	if (w.mean_gap >= WRITER_GATHER_NS || w.count >= w.gather_target)
		return;
	ts = deadline_in(WRITER_GATHER_NS);
	w.gathering = true;
	while (w.count < w.gather_target && !w.stop)
		if (pthread_cond_timedwait(&w.cond, &w.lock, &ts) == ETIMEDOUT)
			break;
	w.gathering = false;
}

/*
 * writer_wait - with w.lock held: wait up to a second for a record, then
 * for more to join it (writer_gather).  What comes while a batch is being
 * stored makes the next one.
 */
static void
writer_wait(void)
{
	struct timespec ts = deadline_in(1000000000L);

	while (w.count == 0 && !w.stop)
		if (pthread_cond_timedwait(&w.cond, &w.lock, &ts) == ETIMEDOUT)
			return;
	if (w.count > 0 && !w.stop)
		writer_gather();
}

/* writer_take - move what the ring holds to w.batch (w.lock held) */
static void
writer_take(void)
{
	while (w.count > 0 && w.batch_n < WRITER_BATCH) {
		struct entry *e = w.ring[w.head];

		w.head = (w.head + 1) % w.cap;
		w.count--;
		if (e->state == ENTRY_WITHDRAWN) {
			entry_put(e);
			continue;
		}
		e->state = ENTRY_TAKEN;
		w.batch[w.batch_n++] = e;
	}
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
		writer_take();
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
			writer_save(w.batch[i]->rec, &saved, &lost);
	for (size_t i = 0; i < w.count; i++) {
		const struct entry *e = w.ring[(w.head + i) % w.cap];

		if (e->state != ENTRY_WITHDRAWN)
			writer_save(e->rec, &saved, &lost);
	}
	pthread_mutex_unlock(&w.lock);
	if (lost > 0)
		msg_error("exiting: %zu records saved to the spool, %zu lost", saved, lost);
	else if (saved > 0)
		msg_info("exiting: %zu records saved to the spool", saved);
}

int
writer_open(const struct writer_params *params, char **error_r)
{
	if (spool_open(params->spool_dir, &w.spool, error_r) < 0)
		return -1;
	w.conninfo = xstrdup(params->conninfo);
	w.params.conninfo = w.conninfo;
	w.params.connect_timeout = params->connect_timeout;
	w.params.statement_timeout = params->statement_timeout;
	w.params.application_name = "rebound-milter";
	w.cap = params->queue_size;
	w.ring = xcalloc(w.cap, sizeof(*w.ring));
	return 0;
}

int
writer_start(char **error_r)
{
	sigset_t all, old;
	int err;

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

/*
 * writer_await - with w.lock held: wait until e is stored or spooled, or
 * until timeout seconds have passed.  Returns its state; a record still
 * on the ring is withdrawn, so that the writer leaves it alone.
 */
static enum entry_state
writer_await(struct entry *e, unsigned timeout)
{
	struct timespec ts = deadline_in((long)timeout * 1000000000L);
	enum entry_state state;

	while (e->state == ENTRY_QUEUED || e->state == ENTRY_TAKEN)
		if (pthread_cond_timedwait(&w.done, &w.lock, &ts) == ETIMEDOUT)
			break;
	state = e->state;
	if (state == ENTRY_QUEUED)
		e->state = ENTRY_WITHDRAWN;
	return state;
}

int
writer_commit(struct mrec *rec, unsigned timeout, const char *qid)
{
	struct entry *e = xcalloc(1, sizeof(*e));
	/* Withdrawn until the writer says otherwise: spooled here. */
	enum entry_state state = ENTRY_WITHDRAWN;
	bool queued = false, durable;

	writer_make_valid(rec);
	e->rec = rec;
	e->refs = 2;
	pthread_mutex_lock(&w.lock);
	if (w.count < w.cap && !w.stop) {
		w.ring[(w.head + w.count) % w.cap] = e;
		w.count++;
		queued = true;
		writer_note_arrival();
		/* The writer waits for the first record, or for a full batch. */
		if (w.count == 1 || (w.gathering && w.count == w.gather_target))
			pthread_cond_signal(&w.cond);
		state = writer_await(e, timeout);
	}
	if (state == ENTRY_DURABLE || state == ENTRY_LOST) {
		/* The writer let go of it already: the lock is not taken twice. */
		entry_put(e);
		pthread_mutex_unlock(&w.lock);
		return state == ENTRY_DURABLE ? 0 : -1;
	}
	pthread_mutex_unlock(&w.lock);
	/*
	 * The queue is full (the database is slower than the mail), the
	 * writer is stopping, or it has not stored the record in time (a
	 * lock, a slow disk).  Spool it here; if the writer stores it after
	 * all, the second copy adds nothing.
	 */
	if (queued)
		msg_warn("%s: record not stored within %us; spooling it", qid, timeout);
	durable = writer_spool((const struct mrec *const *)&e->rec, 1);
	pthread_mutex_lock(&w.lock);
	if (!queued)
		e->refs--;
	entry_put(e);
	pthread_mutex_unlock(&w.lock);
	return durable ? 0 : -1;
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
	 * their records now go straight to it (w.stop makes writer_commit
	 * spill).  The process exits next.
	 */
}
