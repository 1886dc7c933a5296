/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * writer_sql - the statements that store a batch of the milter's records,
 * and their parameters.  The writer thread (writer.c) decides when and
 * what; this file only turns records into two statements.
 */
#include <stdio.h>
#include <string.h>

#include "mail/db.h"
#include "milter.h"
#include "sql.h"
#include "util/buf.h"

#define MESSAGE_FIELDS	5	/* token, queue id, Message-ID, sender, tags; recipients follow */
#define EVENT_FIELDS	10
/* An event's fields and its time; more than a message's, its time and two. */
#define COLUMNS_MAX	(EVENT_FIELDS + 1)

bool
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

int
writer_insert(struct db *db, const struct mrec *const *recs, size_t n, char **error_r)
{
	if (writer_insert_messages(db, recs, n, error_r) < 0)
		return -1;
	return writer_insert_events(db, recs, n, error_r);
}
