/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-deliver - rebound-pipe's delivery of one bounce: read, parse,
 * classify, store, and the sysexits status for pipe(8).
 *
 * Reading is tested always, and so is a database that cannot be reached
 * (the bounce is deferred with a 4.x.x line).  The database half needs a
 * real PostgreSQL with the rebound schema: tests/integration/pipe-units.t
 * starts one and runs this program with REBOUND_TEST_DATABASE set.
 * Without it the program says so and tests the rest only; with it, a
 * database it cannot use fails.  There: a DSN is recorded with one event
 * per recipient, the same bounce delivered again adds nothing, and input
 * that is no report is kept raw as one event of kind unknown.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "classify/classifier.h"
#include "deliver.h"
#include "mail/cfg.h"
#include "mail/db.h"
#include "tap.h"
#include "util/xalloc.h"

#define DSN_FILE REBOUND_SRCDIR "/tests/data/postfix-multi.eml"

/* check_read - everything is read and counted; at most max is kept */
static void
check_read(void)
{
	int fds[2];
	size_t len = 0, size = 0;
	char *data = NULL;
	char chunk[1000];
	pid_t pid;

	memset(chunk, 'x', sizeof(chunk));
	if (!tap_ok(pipe(fds) == 0, "a pipe"))
		return;
	if ((pid = fork()) == 0) {
		close(fds[0]);
		for (int i = 0; i < 300; i++)
			if (write(fds[1], chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
				_exit(1);
		_exit(0);
	}
	close(fds[1]);
	tap_is_int(deliver_read(fds[0], 100000, &data, &len, &size), 0, "deliver_read reads");
	close(fds[0]);
	tap_is_int((long long)size, 300000, "it counts every byte offered");
	tap_is_int((long long)len, 100000, "and keeps the cap");
	tap_is_int(data != NULL ? data[len - 1] : 0, 'x', "the bytes themselves");
	free(data);
	tap_is_int(deliver_read(-1, 10, &data, &len, &size), -1, "a read error is an error");
}

/* load - the configuration, parsed from text; NULL on error */
static struct cfg *
load(const char *database)
{
	char text[2048];
	struct cfg *cfg = NULL;
	char *error = NULL;

	snprintf(text, sizeof(text),
		 "database = %s\n"
		 "db_connect_timeout = 3s\n"
		 "local_mta_names = mx.test.invalid\n"
		 "bounce_domains = bounce.example.test\n"
		 "builtin_rules_directory = %s/rules\n"
		 "rules_directory =\n",
		 database, REBOUND_SRCDIR);
	if (cfg_parse(text, strlen(text), "test-deliver.conf", &cfg, &error) < 0) {
		tap_diag("%s", error);
		free(error);
	}
	return cfg;
}

/* deliver - deliver data as queue id qid; the outcome in *out */
static void
deliver(const char *database, const char *qid, const char *data, size_t len,
	struct deliver_outcome *out)
{
	struct cfg *cfg = load(database);
	struct classifier *clf = NULL;
	struct db *db = NULL;
	char *error = NULL;
	struct deliver_request req = {
		.queue_id = qid, .recipient = "bounces@bounce.example.test",
		.client_address = "", .data = data, .len = len, .size = len,
	};

	memset(out, 0, sizeof(*out));
	out->status = -1;
	if (cfg == NULL || classifier_create(cfg, &clf, &error) < 0) {
		tap_diag("classifier: %s", error ? error : "no configuration");
		free(error);
		cfg_free(&cfg);
		return;
	}
	deliver_bounce(cfg, clf, &db, &req, out);
	db_free(&db);
	classifier_free(&clf);
	cfg_free(&cfg);
}

/* slurp - the whole of a file, or NULL */
static char *
slurp(const char *path, size_t *len_r)
{
	int fd = open(path, O_RDONLY);
	size_t size;
	char *data = NULL;

	if (fd < 0 || deliver_read(fd, 1 << 20, &data, len_r, &size) < 0)
		data = NULL;
	if (fd >= 0)
		close(fd);
	return data;
}

/* check_database - recorded, not twice, raw when unknown */
static void
check_database(const char *database, const char *dsn, size_t len)
{
	static const char junk[] = "Subject: hello\n\nJust some words, no report at all.\n";
	struct db_params params = { .conninfo = database, .connect_timeout = 5 };
	struct deliver_outcome out;
	struct db *db = NULL;
	char *error = NULL, qid[32], junk_qid[32];
	const char *v[1] = { qid };
	PGresult *res;

	snprintf(qid, sizeof(qid), "D%ld", (long)getpid());
	snprintf(junk_qid, sizeof(junk_qid), "J%ld", (long)getpid());
	deliver(database, qid, dsn, len, &out);
	tap_is_int(out.status, EX_OK, "a DSN is recorded: EX_OK (%s)", out.text);
	tap_is_int((long long)out.events, 2, "one event per recipient");
	tap_is_int((long long)out.new_events, 2, "both new");
	tap_is_str(out.text, "2 events recorded, 2 new", "the summary pipe(8) logs");
	deliver(database, qid, dsn, len, &out);
	tap_ok(out.status == EX_OK && out.events == 2 && out.new_events == 0,
	       "the same bounce again: EX_OK, nothing new");

	deliver(database, junk_qid, junk, strlen(junk), &out);
	tap_ok(out.status == EX_OK && out.events == 1 && out.new_events == 1,
	       "input that is no report: EX_OK, one event (%s)", out.text);

	if (!tap_ok(db_connect(&params, &db, &error) == 0, "connect (%s)", error ? error : "ok")) {
		free(error);
		return;
	}
	res = db_query(db, "SELECT count(*) FROM rebound.events WHERE queue_id = $1", 1, v,
		       PGRES_TUPLES_OK, &error);
	tap_is_str(res != NULL ? PQgetvalue(res, 0, 0) : error, "2", "two rows for the DSN");
	PQclear(res);
	v[0] = junk_qid;
	res = db_query(db, "SELECT e.kind || ' ' || r.parse_error FROM rebound.events e"
			   " JOIN rebound.raw_messages r ON r.id = e.raw_message_id"
			   " WHERE e.queue_id = $1", 1, v, PGRES_TUPLES_OK, &error);
	tap_is_str(res != NULL && PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : error,
		   "unknown no delivery report recognised",
		   "the unknown event points at the raw copy and says why");
	PQclear(res);
	free(error);
	db_free(&db);
}

int
main(void)
{
	const char *database = getenv("REBOUND_TEST_DATABASE");
	struct deliver_outcome out;
	size_t len = 0;
	char *dsn;

	check_read();
	dsn = slurp(DSN_FILE, &len);
	tap_ok(dsn != NULL && len > 0, "read %s", DSN_FILE);
	deliver("host=/nonexistent/rebound-test dbname=rebound", "U1", dsn, len, &out);
	tap_is_int(out.status, EX_TEMPFAIL, "an unreachable database defers: EX_TEMPFAIL");
	tap_ok(strncmp(out.text, "4.3.0 ", 6) == 0, "with a 4.x.x line for pipe(8) (%s)", out.text);
	if (database == NULL || *database == '\0')
		tap_diag("REBOUND_TEST_DATABASE is not set: the database half of this test "
			 "runs from tests/integration/pipe-units.t");
	else
		check_database(database, dsn, len);
	free(dsn);
	return tap_done();
}
