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
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "cli.h"
#include "util/msg.h"
#include "util/xalloc.h"

#define EVENTS_CHANNEL		"rebound_events"

/* Longest value shown in a followed line; diagnostics can be long. */
#define EVENTS_VALUE_MAX	300

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

/* events_line - one followed event from a row of the detail query */
static void
events_line(FILE *fp, const PGresult *res, int r)
{
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
	fputc('\n', fp);
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
	for (int r = 0; r < PQntuples(res); r++)
		events_line(cli->out, res, r);
	/* An event deleted since: show what the notification said. */
	for (size_t i = 0; (int)n > PQntuples(res) && i < n; i++) {
		char id[24], text[EVENTS_VALUE_MAX];
		int found = 0;

		snprintf(id, sizeof(id), "%lld", events_payload_id(payloads[i]));
		for (int r = 0; r < PQntuples(res) && !found; r++)
			found = strcmp(PQgetvalue(res, r, 0), id) == 0;
		if (!found) {
			table_printable(payloads[i], text, sizeof(text));
			fprintf(cli->out, "event %s (no longer in the database): %s\n", id, text);
		}
	}
	PQclear(res);
	return 0;
}

/* events_take - the payloads of our pending notifications, at most max */
static size_t
events_take(struct cli *cli, PGconn *conn, char ***payloads, size_t *cap, size_t max)
{
	PGnotify *note;
	size_t n = 0;

	while (n < max && (note = PQnotifies(conn)) != NULL) {
		if (strcmp(note->relname, EVENTS_CHANNEL) != 0 || events_payload_id(note->extra) < 0 ||
		    strchr(note->extra, '\n') != NULL) {
			msg_warn("ignoring a notification that rebound did not send");
		} else if (cli->args.json) {
			fprintf(cli->out, "%s\n", note->extra);
			n++;
		} else {
			if (n == *cap) {
				*cap = *cap ? *cap * 2 : 16;
				*payloads = xrealloc(*payloads, *cap * sizeof(**payloads));
			}
			(*payloads)[n++] = xstrdup(note->extra);
		}
		PQfreemem(note);
	}
	return n;
}

/* events_follow - print events as they are committed, until --count */
static int
events_follow(struct cli *cli)
{
	PGconn *conn = db_conn(cli->db);
	unsigned count = cli->args.seen & CLI_OPT_COUNT ? cli->args.count : 0;
	unsigned printed = 0;
	char **payloads = NULL, *error = NULL;
	size_t cap = 0;
	int status = 0;

	if (db_exec(cli->db, "LISTEN " EVENTS_CHANNEL, &error) < 0)
		return cli_db_failure(cli, "listen", error);
	msg_info("following events on channel " EVENTS_CHANNEL "; interrupt to stop");
	while (count == 0 || printed < count) {
		size_t n = events_take(cli, conn, &payloads, &cap, count ? count - printed : SIZE_MAX);
		struct pollfd pfd = { .fd = PQsocket(conn), .events = POLLIN };

		if (n > 0) {
			if (!cli->args.json)
				status = events_print_batch(cli, payloads, n);
			for (size_t i = 0; i < n && !cli->args.json; i++)
				free(payloads[i]);
			printed += (unsigned)n;
			if (status != 0 || fflush(cli->out) != 0)
				break;
			/*
			 * Notifications that came in during the query above wait
			 * in libpq, not on the socket: take them before polling.
			 */
			continue;
		}
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
			msg_error("poll: %s", strerror(errno));
			status = EX_OSERR;
			break;
		}
		if (!PQconsumeInput(conn)) {
			msg_error("lost the database connection: %s", PQerrorMessage(conn));
			msg_info("hint: run the command again when PostgreSQL is back");
			status = EX_UNAVAILABLE;
			break;
		}
	}
	free(payloads);
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
