/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * suppress - the suppression list in memory.
 *
 * RCPT callbacks must answer within Postfix's milter_command_timeout no
 * matter what the database does, so they never query it: they look the
 * address up in a suppset under a read lock.  A loader thread with its own
 * connection fills the set: a full load at start and every
 * suppression_refresh, built aside and swapped in, and single-address
 * updates from the rebound_suppressions NOTIFY channel in between.  LISTEN
 * is issued before each full load, so a change made during the load is
 * applied after it rather than lost.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail/db.h"
#include "milter.h"
#include "sql.h"
#include "util/msg.h"
#include "util/xalloc.h"

#define SUPPRESS_RETRY	5	/* seconds between connection attempts */

static struct {
	pthread_rwlock_t lock;
	struct suppset *set;	/* NULL until the first load */
	pthread_t thread;
	bool running;
	atomic_bool stop;
	struct db_params params;
	char *conninfo;
} s = {
	.lock = PTHREAD_RWLOCK_INITIALIZER,
};

int
suppress_lookup(const char *address, char reason[SUPPSET_REASON_MAX + 1])
{
	int ret;

	pthread_rwlock_rdlock(&s.lock);
	if (s.set == NULL)
		ret = -1;
	else
		ret = suppset_lookup(s.set, address, reason) ? 1 : 0;
	pthread_rwlock_unlock(&s.lock);
	return ret;
}

/* suppress_load - read the whole list into a new set and swap it in */
static int
suppress_load(struct db *db)
{
	struct suppset *set, *old;
	char *error;
	PGresult *res;
	int rows;

	if ((res = db_query(db, sql_suppressions, 0, NULL, PGRES_TUPLES_OK, &error)) == NULL) {
		msg_warn("cannot load the suppression list: %s", error);
		free(error);
		return -1;
	}
	set = suppset_create();
	rows = PQntuples(res);
	for (int i = 0; i < rows; i++)
		if (suppset_add(set, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)) < 0)
			msg_warn("suppression entry ignored (too long)");
	PQclear(res);
	pthread_rwlock_wrlock(&s.lock);
	old = s.set;
	s.set = set;
	pthread_rwlock_unlock(&s.lock);
	if (old == NULL)
		msg_info("suppression list loaded: %d entries", rows);
	suppset_free(&old);
	/*
	 * The query result and the old set were large and short-lived; hand
	 * their pages back rather than keep the peak resident for ever.
	 */
	malloc_trim(0);
	return 0;
}

/* suppress_update - apply a NOTIFY for one address */
static int
suppress_update(struct db *db, const char *address)
{
	const char *v[1] = { address };
	char *error;
	PGresult *res;

	if ((res = db_query(db, sql_suppression, 1, v, PGRES_TUPLES_OK, &error)) == NULL) {
		msg_warn("suppression update for %s: %s", address, error);
		free(error);
		return -1;
	}
	pthread_rwlock_wrlock(&s.lock);
	if (s.set != NULL) {
		if (PQntuples(res) > 0)
			(void)suppset_add(s.set, address, PQgetvalue(res, 0, 0));
		else
			suppset_remove(s.set, address);
	}
	pthread_rwlock_unlock(&s.lock);
	PQclear(res);
	return 0;
}

/* suppress_listen - wait up to ms for notifications and apply them */
static int
suppress_listen(struct db *db, int ms)
{
	PGconn *conn = db_conn(db);
	struct pollfd pfd = { .fd = PQsocket(conn), .events = POLLIN };
	PGnotify *n;

	if (pfd.fd < 0)
		return -1;
	if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
		return -1;
	if (PQconsumeInput(conn) == 0)
		return -1;
	while ((n = PQnotifies(conn)) != NULL) {
		int ret = suppress_update(db, n->extra);

		PQfreemem(n);
		if (ret < 0)
			return -1;
	}
	return PQstatus(conn) == CONNECTION_OK ? 0 : -1;
}

static unsigned
suppress_refresh_interval(void)
{
	struct msnap *snap = snap_get();
	unsigned secs = snap->cfg->suppression_refresh;

	snap_put(&snap);
	return secs;
}

static void *
suppress_main(void *arg)
{
	struct db *db = NULL;
	time_t next_load = 0, next_try = 0;
	bool warned = false;

	(void)arg;
	while (!atomic_load(&s.stop)) {
		char *error;
		time_t now = time(NULL);

		if (db == NULL) {
			if (now < next_try) {
				struct timespec ts = { 0, 200 * 1000 * 1000 };

				nanosleep(&ts, NULL);
				continue;
			}
			if (db_connect(&s.params, &db, &error) < 0 ||
			    db_exec(db, sql_listen, &error) < 0) {
				if (!warned)
					msg_warn("suppression list unavailable: %s", error);
				warned = true;
				free(error);
				db_free(&db);
				next_try = now + SUPPRESS_RETRY;
				continue;
			}
			if (warned)
				msg_info("suppression list available again");
			warned = false;
			next_load = 0;
		}
		if (now >= next_load) {
			if (suppress_load(db) < 0) {
				db_free(&db);
				next_try = now + SUPPRESS_RETRY;
				continue;
			}
			next_load = now + (time_t)suppress_refresh_interval();
		}
		if (suppress_listen(db, 500) < 0) {
			msg_warn("suppression list connection lost; reconnecting");
			db_free(&db);
			next_try = 0;
		}
	}
	db_free(&db);
	return NULL;
}

int
suppress_start(const char *conninfo, unsigned connect_timeout, unsigned statement_timeout)
{
	sigset_t all, old;
	int err;

	s.conninfo = xstrdup(conninfo);
	s.params.conninfo = s.conninfo;
	s.params.connect_timeout = connect_timeout;
	s.params.statement_timeout = statement_timeout;
	s.params.application_name = "rebound-milter";
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&s.thread, NULL, suppress_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0)
		return -1;
	s.running = true;
	return 0;
}

void
suppress_stop(void)
{
	struct suppset *old;

	if (!s.running)
		return;
	atomic_store(&s.stop, true);
	pthread_join(s.thread, NULL);
	s.running = false;
	/* SMTP sessions may outlive smfi_main(): they then see "not loaded". */
	pthread_rwlock_wrlock(&s.lock);
	old = s.set;
	s.set = NULL;
	pthread_rwlock_unlock(&s.lock);
	suppset_free(&old);
	free(s.conninfo);
}
