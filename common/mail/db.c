/* SPDX-License-Identifier: BSD-2-Clause */
/* db - libpq wrapper: parameterised statements, checked results. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/db.h"
#include "util/xalloc.h"
#include "util/msg.h"

struct db {
	PGconn *conn;
	char sqlstate[6];	/* of the last failed statement, or "" */
};

size_t
db_join_lines(const char *text, char *out, size_t size)
{
	size_t n = 0;
	bool pending = false;	/* a line break seen, not yet written */

	if (size == 0)
		return 0;
	for (const char *p = text; *p != '\0' && n + 1 < size; p++) {
		if (*p == '\n' || *p == '\r') {
			pending = n > 0;
			while (p[1] == ' ' || p[1] == '\t' || p[1] == '\n' || p[1] == '\r')
				p++;
			continue;
		}
		if (pending) {
			/*
			 * A line that starts with a capital after one that ends
			 * without punctuation is a sentence of its own ("... No
			 * such file or directory" / "Is the server running...");
			 * otherwise it continues the sentence before.
			 */
			bool sentence = isupper((unsigned char)*p) && !ispunct((unsigned char)out[n - 1]);

			if (sentence && n + 2 < size)
				out[n++] = ';';
			if (n + 1 < size)
				out[n++] = ' ';
			pending = false;
			if (n + 1 >= size)
				break;
		}
		out[n++] = *p == '\t' ? ' ' : *p;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return n;
}

/* db_error - an allocated one-line error from libpq's message */
static char *
db_error(const char *what, const char *detail)
{
	char joined[512], text[sizeof(joined) + 128];

	/* libpq messages end in a newline and may span lines: join them. */
	db_join_lines(detail != NULL && *detail != '\0' ? detail : "unknown error", joined,
		      sizeof(joined));
	snprintf(text, sizeof(text), "%s: %s", what, joined);
	return xstrdup(text);
}

/* db_keep_sqlstate - remember the SQLSTATE of a failed result */
static void
db_keep_sqlstate(struct db *db, const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state != NULL ? state : "");
}

/*
 * db_notice - what the server says outside a result (a trigger's WARNING,
 * a FATAL when the connection is cut): one log line, not libpq's raw
 * lines on standard error, which is rebound-pipe's channel to Postfix
 */
static void
db_notice(void *arg, const char *message)
{
	char text[512];

	(void)arg;
	db_join_lines(message, text, sizeof(text));
	msg_warn("database: %s", text);
}

int
db_connect(const struct db_params *params, struct db **db_r, char **error_r)
{
	char connect_timeout[16], options[64];
	/* Our settings first: the administrator's conninfo, last, overrides them. */
	const char *keys[] = { "connect_timeout", "options", "application_name", "dbname", NULL };
	const char *values[5];
	struct db *db;

	snprintf(connect_timeout, sizeof(connect_timeout), "%u", params->connect_timeout);
	snprintf(options, sizeof(options), "-c statement_timeout=%u",
		 params->statement_timeout * 1000);
	values[0] = connect_timeout;
	values[1] = options;
	values[2] = params->application_name;
	values[3] = params->conninfo;
	values[4] = NULL;
	db = xcalloc(1, sizeof(*db));
	db->conn = PQconnectdbParams(keys, values, 1);
	if (db->conn == NULL) {
		*error_r = xstrdup("connect to database: out of memory");
		free(db);
		return -1;
	}
	if (PQstatus(db->conn) != CONNECTION_OK) {
		*error_r = db_error("connect to database", PQerrorMessage(db->conn));
		db_free(&db);
		return -1;
	}
	PQsetNoticeProcessor(db->conn, db_notice, NULL);
	*db_r = db;
	return 0;
}

void
db_free(struct db **dbp)
{
	if (*dbp == NULL)
		return;
	if ((*dbp)->conn != NULL)
		PQfinish((*dbp)->conn);
	free(*dbp);
	*dbp = NULL;
}

PGconn *
db_conn(struct db *db)
{
	return db->conn;
}

PGresult *
db_query(struct db *db, const char *sql, int nparams, const char *const *values,
	 ExecStatusType want, char **error_r)
{
	return db_query_binary(db, sql, nparams, values, NULL, NULL, want, error_r);
}

PGresult *
db_query_binary(struct db *db, const char *sql, int nparams, const char *const *values,
		const int *lengths, const int *formats, ExecStatusType want, char **error_r)
{
	PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, values, lengths, formats, 0);

	db->sqlstate[0] = '\0';
	if (res == NULL) {
		*error_r = db_error("database query", PQerrorMessage(db->conn));
		return NULL;
	}
	if (PQresultStatus(res) != want) {
		const char *msg = PQresultErrorMessage(res);

		db_keep_sqlstate(db, res);
		*error_r = db_error("database query",
				    msg != NULL && *msg != '\0' ? msg : PQerrorMessage(db->conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

int
db_exec(struct db *db, const char *sql, char **error_r)
{
	PGresult *res = db_query(db, sql, 0, NULL, PGRES_COMMAND_OK, error_r);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
db_commit(struct db *db, char **error_r)
{
	PGresult *res = db_query(db, "COMMIT", 0, NULL, PGRES_COMMAND_OK, error_r);

	if (res == NULL)
		return -1;
	if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		*error_r = db_error("commit", "transaction was rolled back");
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

void
db_rollback(struct db *db)
{
	PGresult *res;

	if (PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		return;
	res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
}

const char *
db_sqlstate(const struct db *db)
{
	return db->sqlstate;
}

int
db_connection_ok(const struct db *db)
{
	return PQstatus(db->conn) == CONNECTION_OK;
}

int
db_exec_script(struct db *db, const char *sql, char **error_r)
{
	PGresult *res = PQexec(db->conn, sql);
	ExecStatusType status;

	db->sqlstate[0] = '\0';
	if (res == NULL) {
		*error_r = db_error("database script", PQerrorMessage(db->conn));
		return -1;
	}
	/* PQexec returns the result of the last statement, or of the failed one. */
	status = PQresultStatus(res);
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
		const char *msg = PQresultErrorMessage(res);

		db_keep_sqlstate(db, res);
		*error_r = db_error("database script",
				    msg != NULL && *msg != '\0' ? msg : PQerrorMessage(db->conn));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}
