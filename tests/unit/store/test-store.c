/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-store - one bounce and its events in one transaction.
 *
 * The dedup key is pure and always tested.  The database half needs a
 * real PostgreSQL with the rebound schema: tests/integration/pipe-units.t
 * starts one and runs this program with REBOUND_TEST_DATABASE set to its
 * connection string.  Without it the program says so in its output and
 * tests the pure half only; with it, a database it cannot reach fails.
 * What it checks there: events are stored and a second delivery of the
 * same report adds nothing; the raw copy is kept and cut at its limit; a
 * verified token makes the message row its events link to; a quoted
 * Message-ID links an event to its message's recipient; and a failure in
 * the middle of a bounce leaves nothing of it behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/db.h"
#include "report/report.h"
#include "store/store.h"
#include "tap.h"
#include "util/xalloc.h"

/* rcpt - add a failed recipient to r */
static struct report_rcpt *
rcpt(struct report *r, const char *addr, const char *status, int code)
{
	struct report_rcpt *rc = report_add_rcpt(r);

	rc->recipient = xstrdup(addr);
	rc->action = xstrdup("failed");
	snprintf(rc->status, sizeof(rc->status), "%s", status);
	rc->reply_code = code;
	rc->kind = KIND_BOUNCED;
	rc->reason = REASON_USERUNKNOWN;
	rc->hard = true;
	rc->rule = "test.rule";
	return rc;
}

/* check_dedup_key - the same outcome, the same key; any difference, another */
static void
check_dedup_key(void)
{
	struct report *r = report_create();
	struct report_rcpt *a = rcpt(r, "ann@a.example", "5.1.1", 550);
	char k1[65], k2[65], k3[65];

	store_dedup_key("identity one", a, k1);
	store_dedup_key("identity one", a, k2);
	tap_is_str(k1, k2, "the dedup key is a function of its inputs");
	tap_is_int((long long)strlen(k1), 64, "a SHA-256 in hex");
	store_dedup_key("identity two", a, k3);
	tap_ok(strcmp(k1, k3) != 0, "another report, another key");
	strcpy(a->status, "4.2.2");
	store_dedup_key("identity one", a, k3);
	tap_ok(strcmp(k1, k3) != 0, "another status, another key");
	strcpy(a->status, "5.1.1");
	a->kind = KIND_DELAYED;
	store_dedup_key("identity one", a, k3);
	tap_ok(strcmp(k1, k3) != 0, "another kind, another key");
	report_free(&r);
}

/* count - the single number sql (with one parameter) returns, or -1 */
static long
count(struct db *db, const char *sql, const char *param)
{
	const char *values[1] = { param };
	char *error = NULL;
	PGresult *res = db_query(db, sql, 1, values, PGRES_TUPLES_OK, &error);
	long n = -1;

	if (res == NULL) {
		tap_diag("%s: %s", sql, error);
		free(error);
		return -1;
	}
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		n = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

/* store - store_bounce() of r as b; its return, *new_r set */
static int
store(struct db *db, const struct store_bounce *b, const struct report *r, size_t *new_r)
{
	char *error = NULL;
	int ret = store_bounce(db, b, r, new_r, &error);

	if (error != NULL)
		tap_diag("store_bounce: %s", error);
	free(error);
	return ret;
}

static void
check_store(struct db *db, const char *run)
{
	struct report *r = report_create();
	char qid[64], token[64], digest[64], mid[64];
	struct store_bounce b = {
		.queue_id = qid, .bounce_address = "bounces@bounce.example", .token = token,
		.local = true, .rules_digest = "rules-digest-1",
		.identity = qid, .data = "raw bytes", .data_len = 9, .size = 9,
		.keep_raw = true, .raw_limit = 4, .digest = digest,
	};
	size_t new_events = 99;

	snprintf(qid, sizeof(qid), "S1%s", run);
	snprintf(token, sizeof(token), "tok-%s", run);
	snprintf(digest, sizeof(digest), "digest-%s", run);
	rcpt(r, "ann@a.example", "5.1.1", 550);
	rcpt(r, "ben@b.example", "5.2.2", 552);
	tap_is_int(store(db, &b, r, &new_events), 0, "a bounce of two recipients is stored");
	tap_is_int((long long)new_events, 2, "two new events");
	tap_is_int(count(db, "SELECT count(*) FROM rebound.events WHERE queue_id = $1", qid), 2,
		   "two rows");
	tap_is_int(count(db, "SELECT count(*) FROM rebound.events e JOIN rebound.messages m"
			     " ON m.id = e.message_id WHERE m.token = $1", token), 2,
		   "the token made the message row both events link to");
	tap_is_int(count(db, "SELECT length(content) FROM rebound.raw_messages WHERE digest = $1"
			     " AND truncated AND size = 9", digest), 4,
		   "the raw copy, cut at raw_limit and marked so");
	tap_is_int(count(db, "SELECT count(*) FROM rebound.raw_messages WHERE digest = $1"
			     " AND local_origin", digest), 1,
		   "the raw copy records that it came from Postfix itself");
	tap_is_int(count(db, "SELECT count(*) FROM rebound.events WHERE queue_id = $1"
			     " AND rules_digest = 'rules-digest-1'", qid), 2,
		   "each event records the digest of the rules that classified it");
	tap_is_int(store(db, &b, r, &new_events), 0, "the same report again is accepted");
	tap_is_int((long long)new_events, 0, "and adds nothing");
	tap_is_int(count(db, "SELECT count(*) FROM rebound.events WHERE queue_id = $1", qid), 2,
		   "still two rows");
	report_free(&r);

	/* A message the milter recorded, found by the Message-ID the report quotes. */
	snprintf(mid, sizeof(mid), "mid-%s@example.com", run);
	tap_is_int(count(db, "WITH m AS (INSERT INTO rebound.messages (token, message_id_header)"
			     " VALUES ('m-' || $1, $1) RETURNING id)"
			     " INSERT INTO rebound.recipients (message_id, address)"
			     " SELECT id, 'cat@c.example' FROM m RETURNING 1", mid), 1,
		   "a message and its recipient, as the milter records them");
	r = report_create();
	report_set(&r->orig_message_id, mid);
	rcpt(r, "cat@c.example", "5.1.1", 550);
	snprintf(qid, sizeof(qid), "S2%s", run);
	b.token = NULL;
	b.keep_raw = false;
	tap_is_int(store(db, &b, r, &new_events), 0, "a bounce without a token is stored");
	tap_is_int(count(db, "SELECT count(*) FROM rebound.events e JOIN rebound.recipients rc"
			     " ON rc.id = e.recipient_id WHERE e.queue_id = $1"
			     " AND rc.address = 'cat@c.example'", qid), 1,
		   "its event links to the recipient of the message it quotes");
	report_free(&r);

	/* The second event cannot be stored (a reply code beyond smallint). */
	r = report_create();
	rcpt(r, "dan@d.example", "5.1.1", 550);
	rcpt(r, "eve@e.example", "5.1.1", 99999);
	snprintf(qid, sizeof(qid), "S3%s", run);
	tap_is_int(store(db, &b, r, &new_events), -1, "a bounce whose second event fails fails");
	tap_is_int((long long)new_events, 0, "with no new events");
	tap_is_int(count(db, "SELECT count(*) FROM rebound.events WHERE queue_id = $1", qid), 0,
		   "and leaves nothing behind, not even its first event");
	report_free(&r);
}

int
main(void)
{
	const char *conninfo = getenv("REBOUND_TEST_DATABASE");
	struct db_params params = { .conninfo = conninfo, .connect_timeout = 5,
				    .application_name = "test-store" };
	struct db *db = NULL;
	char *error = NULL, run[32];

	check_dedup_key();
	if (conninfo == NULL || *conninfo == '\0') {
		tap_diag("REBOUND_TEST_DATABASE is not set: the database half of this test "
			 "runs from tests/integration/pipe-units.t");
		return tap_done();
	}
	if (!tap_ok(db_connect(&params, &db, &error) == 0, "connect to %s (%s)", conninfo,
		    error ? error : "ok")) {
		free(error);
		return tap_done();
	}
	snprintf(run, sizeof(run), "%ld", (long)getpid());
	check_store(db, run);
	db_free(&db);
	return tap_done();
}
