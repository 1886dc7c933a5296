/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pq_wrap - the libpq calls of rebound-milter's fault build
 * (tests/fault/rebound-milter-fault), through the linker's --wrap.
 *
 * rebound-milter links libpq, unlike rebound-pipe whose pq_lazy.c holds
 * the hooks: here the Makefile links with --wrap=PQexecParams and so on,
 * which sends every call of ours (common/mail/db.c, milter/suppress.c) to
 * __wrap_PQexecParams below and leaves libpq's own calls alone.  Each
 * wrapper counts the call (common/util/fault.h; only those of the writer
 * thread count) and, when it is the one to fail, returns what libpq
 * returns when it fails, without making the call:
 *
 *	PQconnectdbParams	NULL, as when libpq runs out of memory
 *	PQstatus		CONNECTION_BAD: the server went away
 *	PQtransactionStatus	PQTRANS_UNKNOWN: the same
 *	PQexec, PQexecParams,	NULL: out of memory, or nothing could be sent
 *	PQprepare, PQexecPrepared
 *	PQresultStatus		PGRES_FATAL_ERROR, for a statement that ran:
 *				a lost acknowledgement
 *	PQcmdStatus		"ROLLBACK", for a COMMIT that committed
 *
 * These are the calls whose result our code checks; the others (PQclear,
 * PQerrorMessage, PQgetvalue...) cannot report a failure.  The list is the
 * one of pipe/pq_lazy.c's PQ_FORWARD_FAULT lines, and FAULT_PQ_CALLS in
 * the Makefile names the same calls.
 */
#include <libpq-fe.h>

#include "util/fault.h"

/*
 * PQ_WRAP - declare the real call and define its wrapper.  The
 * declarations keep -Wmissing-prototypes quiet; the linker provides the
 * __real_ symbols.
 */
#define PQ_WRAP(ret, name, params, args, fail)       \
	ret __real_##name params;                    \
	ret __wrap_##name params;                    \
	ret __wrap_##name params                     \
	{                                            \
		if (fault_inject(FAULT_PQ, #name))   \
			return fail;                 \
		return __real_##name args;           \
	}

/* A COMMIT whose status is not "COMMIT" was rolled back (common/mail/db.c). */
static char pq_rolled_back[] = "ROLLBACK";

PQ_WRAP(PGconn *, PQconnectdbParams,
	(const char *const *keywords, const char *const *values, int expand_dbname),
	(keywords, values, expand_dbname), NULL)
PQ_WRAP(ConnStatusType, PQstatus, (const PGconn *conn), (conn), CONNECTION_BAD)
PQ_WRAP(PGTransactionStatusType, PQtransactionStatus, (const PGconn *conn), (conn),
	PQTRANS_UNKNOWN)
PQ_WRAP(PGresult *, PQexec, (PGconn *conn, const char *query), (conn, query), NULL)
PQ_WRAP(PGresult *, PQexecParams,
	(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
	 const char *const *paramValues, const int *paramLengths, const int *paramFormats,
	 int resultFormat),
	(conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats,
	 resultFormat),
	NULL)
PQ_WRAP(PGresult *, PQprepare,
	(PGconn *conn, const char *stmtName, const char *query, int nParams, const Oid *paramTypes),
	(conn, stmtName, query, nParams, paramTypes), NULL)
PQ_WRAP(PGresult *, PQexecPrepared,
	(PGconn *conn, const char *stmtName, int nParams, const char *const *paramValues,
	 const int *paramLengths, const int *paramFormats, int resultFormat),
	(conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat), NULL)
PQ_WRAP(ExecStatusType, PQresultStatus, (const PGresult *res), (res), PGRES_FATAL_ERROR)
PQ_WRAP(char *, PQcmdStatus, (PGresult *res), (res), pq_rolled_back)
