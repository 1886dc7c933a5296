/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_DB_H
#define REBOUND_DB_H

#include <stddef.h>

#include <libpq-fe.h>

/*
 * db - the libpq connection and the only way SQL is run.
 *
 * Statements are static strings with $n parameters; values never become
 * part of the SQL text.  Every result status is checked against the one
 * expected; anything else is an error returned as an allocated message.
 * Errors here are transient from the caller's point of view: the database
 * may come back, so rebound-pipe defers and the milter spools.
 */
struct db;

struct db_params {
	const char *conninfo;		/* libpq connection string */
	unsigned connect_timeout;	/* seconds */
	unsigned statement_timeout;	/* seconds */
	const char *application_name;
};

/* db_connect - open a connection; -1 and *error_r on failure */
int db_connect(const struct db_params *params, struct db **db_r, char **error_r);

/* db_free - close and release *dbp, set it to NULL; accepts NULL */
void db_free(struct db **dbp);

/* db_conn - the libpq handle, for LISTEN/NOTIFY and COPY users */
PGconn *db_conn(struct db *db);

/* db_exec - run a statement without parameters or rows (BEGIN, COMMIT...) */
int db_exec(struct db *db, const char *sql, char **error_r);

/*
 * db_query - run sql with nparams text parameters (NULL values are SQL
 * NULL).  Returns the result when its status is want; otherwise NULL and
 * *error_r.  The caller PQclear()s the result.
 */
PGresult *db_query(struct db *db, const char *sql, int nparams, const char *const *values,
		   ExecStatusType want, char **error_r);

/*
 * db_query_binary - as db_query, with explicit lengths and formats (1 =
 * binary) per parameter, for bytea values that may hold any byte.
 */
PGresult *db_query_binary(struct db *db, const char *sql, int nparams,
			  const char *const *values, const int *lengths, const int *formats,
			  ExecStatusType want, char **error_r);

/*
 * db_commit - COMMIT, and make sure it was one: PostgreSQL answers COMMIT
 * in a failed transaction with ROLLBACK and a success status.
 */
int db_commit(struct db *db, char **error_r);

/* db_rollback - best-effort ROLLBACK after an error */
void db_rollback(struct db *db);

/*
 * db_sqlstate - the SQLSTATE of the last statement that failed on db
 * ("42P01"...), or "" when it had none (the connection broke, or nothing
 * failed yet).  Valid until the next statement.
 */
const char *db_sqlstate(const struct db *db);

/* db_connection_ok - whether the connection is still usable */
int db_connection_ok(const struct db *db);

/*
 * db_exec_script - run trusted text holding several statements (a schema
 * migration) with the simple query protocol; no parameters.  -1 and
 * *error_r if any statement fails; the statements after it do not run.
 */
int db_exec_script(struct db *db, const char *sql, char **error_r);

/*
 * db_join_lines - libpq's message text as one line in out (of size size,
 * always terminated): line breaks and the indentation after them become
 * one space, or "; " where the next line begins a sentence of its own,
 * and the final newline goes.  Returns the length written.
 */
size_t db_join_lines(const char *text, char *out, size_t size);

#endif
