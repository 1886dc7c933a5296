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

#include "buf.h"
#include "db.h"
#include "fault.h"
#include "milter.h"
#include "msg.h"
#include "utf8.h"
#include "xalloc.h"

#define WRITER_RETRY_MAX	5	/* seconds between connection attempts, at most */
#define WRITER_BATCH		64
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

/*
 * Each statement stores a whole batch: its parameters are arrays, one per
 * column, and a statement is a transaction of its own, so a batch costs
 * PostgreSQL one round trip per kind of record.  Recipients name their
 * message by token, which is unique.
 *
 * A bounce that came before its message's record made the message's row
 * from its token (rebound-pipe): the record completes that row, and links
 * the bounce's event to its recipient, by address, or as the only one.
 */
static const char sql_messages[] =
	"WITH m AS ("
	" INSERT INTO rebound.messages (token, queue_id, message_id_header, envelope_sender, tags,"
	" created_at)"
	" SELECT x.token, x.queue_id, x.message_id_header, x.envelope_sender,"
	" coalesce(x.tags, '{}'), coalesce(to_timestamp(x.made_us::float8 / 1000000), now())"
	" FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::bigint[])"
	" AS x (token, queue_id, message_id_header, envelope_sender, tags, made_us)"
	" ON CONFLICT (token) DO UPDATE SET queue_id = EXCLUDED.queue_id,"
	" message_id_header = EXCLUDED.message_id_header,"
	" envelope_sender = EXCLUDED.envelope_sender, tags = EXCLUDED.tags,"
	" created_at = EXCLUDED.created_at"
	" RETURNING id, token),"
	" r AS ("
	" INSERT INTO rebound.recipients (message_id, address)"
	" SELECT m.id, x.address FROM m JOIN unnest($7::text[], $8::text[]) AS x (token, address)"
	" ON x.token = m.token"
	" ON CONFLICT (message_id, address) DO NOTHING RETURNING id, message_id, address)"
	" UPDATE rebound.events e SET recipient_id = r.id FROM r"
	" WHERE e.message_id = r.message_id AND e.recipient_id IS NULL"
	" AND (e.recipient = r.address"
	" OR (SELECT count(*) FROM r AS other WHERE other.message_id = r.message_id) = 1)";

static const char sql_events[] =
	"INSERT INTO rebound.events (kind, sync, source, dedup_key, recipient, status,"
	" reply_code, diagnostic, queue_id, rule, reason, category, hard, received_at)"
	" SELECT 'rejected', true, 'milter', e.dedup_key, e.recipient, e.status,"
	" e.reply_code::smallint, e.diagnostic, e.queue_id, e.rule, e.reason, e.category,"
	" e.hard::boolean, coalesce(to_timestamp(e.made_us::float8 / 1000000), now())"
	" FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
	" $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[])"
	" AS e (dedup_key, recipient, status, reply_code, diagnostic, queue_id, rule, reason,"
	" category, hard, made_us)"
	" ON CONFLICT (dedup_key) DO NOTHING";

#define MESSAGE_FIELDS	5	/* token, queue id, Message-ID, sender, tags; recipients follow */
#define EVENT_FIELDS	10
/* An event's fields and its time; more than a message's, its time and two. */
#define COLUMNS_MAX	(EVENT_FIELDS + 1)

/* writer_well_formed - whether rec has the fields its kind needs */
static bool
writer_well_formed(const struct mrec *rec)
{
	return (rec->kind == 'M' && rec->n >= MESSAGE_FIELDS && rec->f[0] != NULL) ||
	       (rec->kind == 'E' && rec->n == EVENT_FIELDS && rec->f[0] != NULL);
}

/*
 * A batch statement's parameters are array literals, one per column, built
 * one after the other in a single buffer, each ended by a NUL.
 */
struct columns {
	struct buf *b;
	size_t n;
	size_t start[COLUMNS_MAX];	/* where each literal begins in b */
};

/* columns_open - an empty set, bounded by the most a batch can hold */
static void
columns_open(struct columns *c)
{
	/* Every field of every record, each character escaped. */
	c->b = buf_create((size_t)WRITER_BATCH * SPOOL_LINE_MAX * 2);
	c->n = 0;
}

/* columns_begin - start the next column's literal */
static void
columns_begin(struct columns *c)
{
	c->start[c->n++] = buf_len(c->b);
	buf_putc(c->b, '{');
}

/* columns_add - append value (NULL: SQL NULL) to the current column */
static void
columns_add(struct columns *c, const char *value)
{
	if (buf_len(c->b) > c->start[c->n - 1] + 1)
		buf_putc(c->b, ',');
	if (value == NULL) {
		buf_puts(c->b, "NULL");
		return;
	}
	buf_putc(c->b, '"');
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_putc(c->b, '\\');
		buf_putc(c->b, *p);
	}
	buf_putc(c->b, '"');
}

/* columns_end - close the current column's literal */
static void
columns_end(struct columns *c)
{
	buf_putc(c->b, '}');
	buf_putc(c->b, '\0');
}

/*
 * columns_run - run sql with the columns as its parameters and free them;
 * -1 and *error_r on failure
 */
static int
columns_run(struct db *db, const char *sql, struct columns *c, char **error_r)
{
	const char *v[COLUMNS_MAX];
	PGresult *res;

	for (size_t i = 0; i < c->n; i++)
		v[i] = buf_str(c->b) + c->start[i];
	res = db_query(db, sql, (int)c->n, v, PGRES_COMMAND_OK, error_r);
	buf_free(&c->b);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/*
 * columns_recipients - a column with an entry for each recipient of the
 * messages of recs: its address, or the token of its message
 */
static void
columns_recipients(struct columns *c, const struct mrec *const *recs, size_t n, bool address)
{
	columns_begin(c);
	for (size_t i = 0; i < n; i++) {
		if (recs[i]->kind != 'M')
			continue;
		for (size_t j = MESSAGE_FIELDS; j < recs[i]->n; j++)
			if (recs[i]->f[j] != NULL)
				columns_add(c, address ? recs[i]->f[j] : recs[i]->f[0]);
	}
	columns_end(c);
}

/*
 * columns_open_fields - open c with a column for each of the first nfields
 * fields of the records of recs of the given kind, and one for the time
 * each was made (NULL when unknown: the database's clock decides); false,
 * with nothing open, when there are none
 */
static bool
columns_open_fields(struct columns *c, const struct mrec *const *recs, size_t n, char kind,
		    size_t nfields)
{
	size_t i = 0;

	while (i < n && recs[i]->kind != kind)
		i++;
	if (i == n)
		return false;
	columns_open(c);
	for (size_t j = 0; j < nfields; j++) {
		columns_begin(c);
		for (i = 0; i < n; i++)
			if (recs[i]->kind == kind)
				columns_add(c, recs[i]->f[j]);
		columns_end(c);
	}
	columns_begin(c);
	for (i = 0; i < n; i++) {
		char made[24];

		if (recs[i]->kind != kind)
			continue;
		snprintf(made, sizeof(made), "%lld", recs[i]->made_us);
		columns_add(c, recs[i]->made_us > 0 ? made : NULL);
	}
	columns_end(c);
	return true;
}

/* writer_insert_messages - one statement for the messages of recs */
static int
writer_insert_messages(struct db *db, const struct mrec *const *recs, size_t n, char **error_r)
{
	struct columns c;

	if (!columns_open_fields(&c, recs, n, 'M', MESSAGE_FIELDS))
		return 0;
	columns_recipients(&c, recs, n, false);
	columns_recipients(&c, recs, n, true);
	return columns_run(db, sql_messages, &c, error_r);
}

/* writer_insert_events - one statement for the events of recs */
static int
writer_insert_events(struct db *db, const struct mrec *const *recs, size_t n, char **error_r)
{
	struct columns c;

	if (!columns_open_fields(&c, recs, n, 'E', EVENT_FIELDS))
		return 0;
	return columns_run(db, sql_events, &c, error_r);
}

/*
 * writer_insert - store recs[0..n), all well formed; -1 and *error_r on
 * failure.  The two statements are not one transaction, and need not be:
 * every insert is idempotent, so the records of a failed call can all be
 * stored again, those that made it included.
 */
static int
writer_insert(struct db *db, const struct mrec *const *recs, size_t n, char **error_r)
{
	if (writer_insert_messages(db, recs, n, error_r) < 0)
		return -1;
	return writer_insert_events(db, recs, n, error_r);
}

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
