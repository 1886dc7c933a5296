/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_events - "rebound events": the latest events, or --follow them.
 *
 * With --follow the tool LISTENs on channel rebound_events, where the
 * trigger of migration 004 announces every event its writer commits, and
 * prints one line per event.  With --json each line is the notification
 * payload as PostgreSQL sent it; otherwise the events are read back by id
 * (one query per wake-up, not per event) and shown with their time and
 * status, in the key=value style of Postfix's log.
 *
 * When the connection breaks (PostgreSQL restarts), it connects again,
 * one, two, four... up to thirty seconds apart, LISTENs again and then
 * reads what was committed meanwhile: the events above the highest id it
 * had seen when it started that it has not printed, payloads made by the
 * same function the trigger uses.  Ids are not committed in order (two
 * writers at once), so "printed" is a set of ids, not a high-water mark,
 * and a notification for an id already printed is dropped: no event is
 * printed twice, none is missed.
 *
 * A revision is news of its own: "rebound reclassify" announces each
 * event it changes again, with "reclassified":RUN at the end of the
 * payload, and its undo with "restored":RUN.  Those are printed whatever
 * the event's id, marked as such; a catch-up finds new events only, so a
 * revision made while the connection was down is not printed (the run
 * itself is on record, see "rebound reclassify").
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "cli.h"
#include "util/msg.h"
#include "util/xalloc.h"

#define EVENTS_CHANNEL		"rebound_events"

/* Longest value shown in a followed line; diagnostics can be long. */
#define EVENTS_VALUE_MAX	300

/* Seconds between attempts to connect again, at most. */
#define FOLLOW_RETRY_MAX	30

/*
 * Ids printed that a catch-up must skip.  Past this many, the oldest half
 * is forgotten: an event whose transaction stayed open while that many
 * newer ones were committed is the only one that could then be missed.
 */
#define FOLLOW_SEEN_MAX		20000

/* events_payload_id - the event id at the start of our payload, or -1 */
static long long
events_payload_id(const char *payload)
{
	static const char prefix[] = "{\"id\":";
	char *end;
	long long id;

	if (strncmp(payload, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	id = strtoll(payload + sizeof(prefix) - 1, &end, 10);
	return (end > payload + sizeof(prefix) - 1 && (*end == ',' || *end == '}')) ? id : -1;
}

/*
 * events_payload_revision - for the payload of a revision, the key that
 * says so ("reclassified" or "restored", see event_payload_revised() of
 * migration 008) and its run in *run_r; NULL for a plain event.
 */
static const char *
events_payload_revision(const char *payload, long long *run_r)
{
	static const char *const keys[] = { "reclassified", "restored" };
	size_t len = strlen(payload), start;

	if (len < 3 || payload[len - 1] != '}')
		return NULL;
	/* start: where the run's digits begin, after the key and its ':' */
	start = len - 1;
	while (start > 0 && payload[start - 1] >= '0' && payload[start - 1] <= '9')
		start--;
	if (start == len - 1 || start < 2 || payload[start - 1] != ':')
		return NULL;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		size_t klen = strlen(keys[k]);
		const char *at;

		if (start < klen + 4)
			continue;
		at = payload + start - klen - 4;	/* the ',' before the key */
		if (at[0] == ',' && at[1] == '"' && strncmp(at + 2, keys[k], klen) == 0 &&
		    at[2 + klen] == '"') {
			*run_r = strtoll(payload + start, NULL, 10);
			return keys[k];
		}
	}
	return NULL;
}

/* events_field - ", key=value" with the value made printable; NULL skipped */
static void
events_field(FILE *fp, const char *key, const char *value, int first)
{
	char text[EVENTS_VALUE_MAX];

	if (value == NULL)
		return;
	table_printable(value, text, sizeof(text));
	fprintf(fp, "%s%s=%s", first ? "" : ", ", key, text);
}

/*
 * events_line - one followed event from a row of the detail query; a
 * revision's payload adds what revised it
 */
static void
events_line(FILE *fp, const PGresult *res, int r, const char *payload)
{
	const char *revision;
	long long run;
	const char *v[11];
	char rcpt[EVENTS_VALUE_MAX + 2];

	for (int c = 0; c < 11; c++)
		v[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
	fprintf(fp, "%s event %s: ", v[1], v[0]);
	if (v[3] != NULL) {
		char text[EVENTS_VALUE_MAX];

		table_printable(v[3], text, sizeof(text));
		snprintf(rcpt, sizeof(rcpt), "<%s>", text);
		events_field(fp, "rcpt", rcpt, 1);
	} else {
		fputs("rcpt=<>", fp);
	}
	events_field(fp, "kind", v[2], 0);
	events_field(fp, "reason", v[4], 0);
	events_field(fp, "hard", strcmp(v[5], "t") == 0 ? "yes" : "no", 0);
	events_field(fp, "dsn", v[6], 0);
	events_field(fp, "source", v[7], 0);
	events_field(fp, "provenance", v[10], 0);
	events_field(fp, "token", v[8], 0);
	events_field(fp, "tags", v[9], 0);
	if ((revision = events_payload_revision(payload, &run)) != NULL)
		fprintf(fp, ", %s=run %lld", revision, run);
	fputc('\n', fp);
}

/* events_row - the row of res (ordered by id) of event id, or -1 */
static int
events_row(const PGresult *res, long long id)
{
	int lo = 0, hi = PQntuples(res);

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		long long at = strtoll(PQgetvalue(res, mid, 0), NULL, 10);

		if (at == id)
			return mid;
		if (at < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* events_payload_cmp - qsort() order of payloads by their event id */
static int
events_payload_cmp(const void *a, const void *b)
{
	long long x = events_payload_id(*(char *const *)a), y = events_payload_id(*(char *const *)b);

	return (x > y) - (x < y);
}

/* events_print_batch - the followed events whose payloads are given */
static int
events_print_batch(struct cli *cli, char **payloads, size_t n)
{
	static const char sql[] =
		"SELECT e.id, rebound.time_text(e.received_at, 'second'), e.kind, e.recipient,"
		"       e.reason, e.hard, e.status, e.source, m.token, m.tags, e.provenance"
		"  FROM rebound.events e LEFT JOIN rebound.messages m ON m.id = e.message_id"
		" WHERE e.id = ANY ($1::bigint[]) ORDER BY e.id";
	struct buf *ids = buf_create(n * 24 + 3);
	const char *values[1];
	char **by_id;
	PGresult *res;
	int status = 0;

	buf_putc(ids, '{');
	for (size_t i = 0; i < n; i++)
		buf_printf(ids, "%s%lld", i ? "," : "", events_payload_id(payloads[i]));
	buf_putc(ids, '}');
	values[0] = buf_str(ids);
	res = cli_query(cli, "read events", sql, 1, values, PGRES_TUPLES_OK, &status);
	buf_free(&ids);
	if (res == NULL)
		return status;
	by_id = xmalloc(n * sizeof(*by_id));
	/* New events in the order of their ids, then revisions as they came. */
	memcpy(by_id, payloads, n * sizeof(*by_id));
	qsort(by_id, n, sizeof(*by_id), events_payload_cmp);
	for (int pass = 0; pass < 2; pass++) {
		char **batch = pass == 0 ? by_id : payloads;

		for (size_t i = 0; i < n; i++) {
			long long run;
			bool revision = events_payload_revision(batch[i], &run) != NULL;
			int r;

			if (revision != (pass == 1))
				continue;
			if ((r = events_row(res, events_payload_id(batch[i]))) >= 0)
				events_line(cli->out, res, r, batch[i]);
		}
	}
	free(by_id);
	/* An event deleted since: show what the notification said. */
	for (size_t i = 0; i < n; i++) {
		char text[EVENTS_VALUE_MAX];

		if (events_row(res, events_payload_id(payloads[i])) < 0) {
			table_printable(payloads[i], text, sizeof(text));
			fprintf(cli->out, "event %lld (no longer in the database): %s\n",
				events_payload_id(payloads[i]), text);
		}
	}
	PQclear(res);
	return 0;
}

/* What --follow has printed, and how much more it may print. */
struct follow {
	struct cli *cli;
	long long low;		/* ids up to here were there before, or forgotten */
	long long *seen;	/* ids above low printed so far, ascending */
	size_t nseen, cap;
	char **payloads;	/* the batch to print */
	size_t npayloads, pcap;
	unsigned count;		/* --count, or 0 */
	unsigned printed;
};

/* follow_seen - whether id was printed; index where it goes in *at_r */
static bool
follow_seen(const struct follow *f, long long id, size_t *at_r)
{
	size_t lo = 0, hi = f->nseen;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->seen[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at_r = lo;
	return lo < f->nseen && f->seen[lo] == id;
}

/*
 * follow_want - whether the event id is new: not older than the start,
 * not printed already.  It is then counted as printed.
 */
static bool
follow_want(struct follow *f, long long id)
{
	size_t at;

	if (id <= f->low || follow_seen(f, id, &at))
		return false;
	if (f->nseen == FOLLOW_SEEN_MAX) {
		size_t half = f->nseen / 2;

		f->low = f->seen[half - 1];
		memmove(f->seen, f->seen + half, (f->nseen - half) * sizeof(*f->seen));
		f->nseen -= half;
		if (id <= f->low)
			return false;
		(void)follow_seen(f, id, &at);
	}
	if (f->nseen == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 256;
		f->seen = xrealloc(f->seen, f->cap * sizeof(*f->seen));
	}
	memmove(f->seen + at + 1, f->seen + at, (f->nseen - at) * sizeof(*f->seen));
	f->seen[at] = id;
	f->nseen++;
	return true;
}

/* follow_room - how many more events may be printed */
static size_t
follow_room(const struct follow *f)
{
	return f->count ? f->count - f->printed : SIZE_MAX;
}

/*
 * follow_add - queue one payload for printing, if its event is new or it
 * announces a revision
 */
static void
follow_add(struct follow *f, const char *payload)
{
	long long run;

	if (follow_room(f) <= f->npayloads)
		return;
	if (events_payload_revision(payload, &run) == NULL &&
	    !follow_want(f, events_payload_id(payload)))
		return;
	if (f->npayloads == f->pcap) {
		f->pcap = f->pcap ? f->pcap * 2 : 16;
		f->payloads = xrealloc(f->payloads, f->pcap * sizeof(*f->payloads));
	}
	f->payloads[f->npayloads++] = xstrdup(payload);
}

/*
 * follow_flush - print the queued payloads; 0 or an exit status.  When
 * reading the events back fails, they stay queued, to be printed once
 * the connection is back.
 */
static int
follow_flush(struct follow *f)
{
	int status;

	if (f->npayloads == 0)
		return 0;
	if (f->cli->args.json) {
		for (size_t i = 0; i < f->npayloads; i++)
			fprintf(f->cli->out, "%s\n", f->payloads[i]);
	} else if ((status = events_print_batch(f->cli, f->payloads, f->npayloads)) != 0) {
		return status;
	}
	for (size_t i = 0; i < f->npayloads; i++)
		free(f->payloads[i]);
	f->printed += (unsigned)f->npayloads;
	f->npayloads = 0;
	return fflush(f->cli->out) != 0 ? EX_IOERR : 0;
}

/* follow_take - queue the payloads of our pending notifications */
static void
follow_take(struct follow *f, PGconn *conn)
{
	PGnotify *note;

	while ((note = PQnotifies(conn)) != NULL) {
		if (strcmp(note->relname, EVENTS_CHANNEL) != 0 || events_payload_id(note->extra) < 0 ||
		    strchr(note->extra, '\n') != NULL)
			msg_warn("ignoring a notification that rebound did not send");
		else
			follow_add(f, note->extra);
		PQfreemem(note);
	}
}

/*
 * follow_catch_up - queue the events committed while we were not
 * listening: above low, and not printed.  -1 when the query failed
 * (*error_r set).
 */
static int
follow_catch_up(struct follow *f, char **error_r)
{
	static const char sql[] =
		"SELECT rebound.event_payload(e) FROM rebound.events e"
		" WHERE e.id > $1::bigint AND NOT (e.id = ANY ($2::bigint[])) ORDER BY e.id";
	struct buf *ids = buf_create((size_t)FOLLOW_SEEN_MAX * 24 + 3);
	const char *values[2];
	char low[24];
	PGresult *res;

	snprintf(low, sizeof(low), "%lld", f->low);
	buf_putc(ids, '{');
	for (size_t i = 0; i < f->nseen; i++)
		buf_printf(ids, "%s%lld", i ? "," : "", f->seen[i]);
	buf_putc(ids, '}');
	values[0] = low;
	values[1] = buf_str(ids);
	res = db_query(f->cli->db, sql, 2, values, PGRES_TUPLES_OK, error_r);
	buf_free(&ids);
	if (res == NULL)
		return -1;
	for (int r = 0; r < PQntuples(res); r++)
		follow_add(f, PQgetvalue(res, r, 0));
	PQclear(res);
	return 0;
}

/*
 * follow_listen - LISTEN on a new connection; the first time, note the
 * newest event so far (events up to it are not followed), later, catch up.
 * 0, or an exit status for errors that waiting would not cure.
 */
static int
follow_listen(struct follow *f, bool first)
{
	char *error = NULL;
	PGresult *res;

	if (db_exec(f->cli->db, "LISTEN " EVENTS_CHANNEL, &error) < 0)
		return cli_db_failure(f->cli, "listen", error);
	if (!first)
		return follow_catch_up(f, &error) < 0 ? cli_db_failure(f->cli, "catch up", error) : 0;
	res = db_query(f->cli->db, "SELECT coalesce(max(id), 0) FROM rebound.events", 0, NULL,
		       PGRES_TUPLES_OK, &error);
	if (res == NULL)
		return cli_db_failure(f->cli, "read events", error);
	f->low = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

/*
 * follow_reconnect - connect again, as often as it takes, further and
 * further apart; then LISTEN and catch up.  0, or an exit status.
 */
static int
follow_reconnect(struct follow *f)
{
	struct db_params params = {
		.conninfo = f->cli->args.database ? f->cli->args.database : f->cli->cfg->database,
		.connect_timeout = f->cli->cfg->db_connect_timeout,
		.statement_timeout = f->cli->cfg->db_statement_timeout,
		.application_name = "rebound",
	};
	unsigned wait = 1;
	char *error = NULL;

	db_free(&f->cli->db);
	for (;;) {
		int status;

		size_t before = f->npayloads;

		sleep(wait);
		if (db_connect(&params, &f->cli->db, &error) == 0) {
			status = follow_listen(f, false);
			if (status == 0) {
				msg_info("connected again; %zu events recorded meanwhile; following events",
					 f->npayloads - before);
				return 0;
			}
			if (status != EX_UNAVAILABLE)
				return status;
			db_free(&f->cli->db);
		} else {
			msg_info("still no database (%s); next try in %u s", error,
				 wait * 2 > FOLLOW_RETRY_MAX ? FOLLOW_RETRY_MAX : wait * 2);
			free(error);
		}
		wait = wait * 2 > FOLLOW_RETRY_MAX ? FOLLOW_RETRY_MAX : wait * 2;
	}
}

/*
 * follow_wait - wait for notifications; false when the connection broke
 * (said here)
 */
static bool
follow_wait(struct follow *f)
{
	PGconn *conn = db_conn(f->cli->db);
	struct pollfd pfd = { .fd = PQsocket(conn), .events = POLLIN };
	char text[512];

	if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
		msg_warn("poll: %s", strerror(errno));
	if (PQconsumeInput(conn))
		return true;
	db_join_lines(PQerrorMessage(conn), text, sizeof(text));
	msg_warn("lost the database connection, connecting again: %s", text);
	return false;
}

/* events_follow - print events as they are committed, until --count */
static int
events_follow(struct cli *cli)
{
	struct follow f = { .cli = cli };
	int status;

	f.count = cli->args.seen & CLI_OPT_COUNT ? cli->args.count : 0;
	if ((status = follow_listen(&f, true)) != 0)
		return status;
	msg_info("following events on channel " EVENTS_CHANNEL "; interrupt to stop");
	while (status == 0 && (f.count == 0 || f.printed < f.count)) {
		/*
		 * Notifications that came in during a query wait in libpq,
		 * not on the socket: take them before polling.
		 */
		follow_take(&f, db_conn(cli->db));
		if (f.npayloads > 0) {
			status = follow_flush(&f);
			if (status == EX_UNAVAILABLE && !db_connection_ok(cli->db))
				status = follow_reconnect(&f);
			continue;
		}
		if (!follow_wait(&f))
			status = follow_reconnect(&f);
	}
	for (size_t i = 0; i < f.npayloads; i++)
		free(f.payloads[i]);
	free(f.payloads);
	free(f.seen);
	return status;
}

int
cli_events(struct cli *cli, int argc, char **argv)
{
	static const char sql[] =
		"SELECT * FROM ("
		" SELECT e.id,"
		"        rebound.time_text(e.received_at, CASE WHEN $2 THEN 'utc' ELSE 'second' END)"
		"          AS received_at,"
		"        e.kind, e.recipient, e.reason, e.hard, e.provenance, e.status, e.source,"
		"        m.token, m.tags"
		"   FROM rebound.events e LEFT JOIN rebound.messages m ON m.id = e.message_id"
		"  ORDER BY e.id DESC LIMIT $1::int) latest"
		" ORDER BY id";
	char limit[16];
	const char *values[2] = { limit, cli->args.json ? "t" : "f" };
	struct table *t;
	PGresult *res;
	int status = 0;

	(void)argv;
	if (argc > 0)
		return cli_usage(cli->cmd, "events takes no operands");
	if (cli->args.follow)
		return events_follow(cli);
	if (cli->args.seen & CLI_OPT_COUNT)
		return cli_usage(cli->cmd, "--count goes with --follow");
	snprintf(limit, sizeof(limit), "%u", cli->args.seen & CLI_OPT_LIMIT ? cli->args.limit : 20);
	if ((res = cli_query(cli, "read events", sql, 2, values, PGRES_TUPLES_OK, &status)) == NULL)
		return status;
	t = cli_table(res);
	PQclear(res);
	cli_print(cli, t, "(no events yet)");
	table_free(&t);
	return 0;
}
