/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pq_lazy - libpq, loaded only when rebound-pipe talks to the database.
 *
 * Linking libpq pulls some twenty shared libraries into the process
 * (OpenSSL, Kerberos, LDAP, GnuTLS...), and mapping them costs several
 * milliseconds at every exec: more than classifying a bounce.  Batch mode
 * (--classify) never needs them, and delivery needs them only once it has
 * a report to store.  So rebound-pipe is linked without -lpq, and these
 * definitions of the libpq functions that common/mail/db.c and common/store/store.c
 * call load libpq.so.5 on first use and forward to it.
 *
 * Every libpq function that rebound-pipe's code calls is here (those of
 * the rebound tool too, should they move into db.c).  One that is missing
 * is a link error of rebound-pipe, not a silent failure: add a PQ_FORWARD
 * line for it.  If libpq cannot be loaded, msg_fatal() ends the process
 * with the program's fatal status (EX_TEMPFAIL for rebound-pipe), so
 * Postfix keeps the bounce.
 */
#include <dlfcn.h>
#include <libpq-fe.h>

#include "util/fault.h"
#include "util/msg.h"

/* The soname of libpq 10 and later. */
#define PQ_LIBRARY "libpq.so.5"

/* pq_symbol - the address of a libpq function, loading libpq first */
static void *
pq_symbol(const char *name)
{
	static void *handle;
	void *sym;

	if (handle == NULL && (handle = dlopen(PQ_LIBRARY, RTLD_NOW | RTLD_LOCAL)) == NULL)
		msg_fatal("cannot load %s: %s", PQ_LIBRARY, dlerror());
	if ((sym = dlsym(handle, name)) == NULL)
		msg_fatal("%s has no %s: %s", PQ_LIBRARY, name, dlerror());
	return sym;
}

/*
 * PQ_FORWARD - define a libpq function that forwards to the real one.  A
 * union converts the object pointer dlsym() returns to a function pointer
 * without a cast ISO C forbids.
 */
#define PQ_FORWARD(ret, name, params, args)                        \
	ret name params                                            \
	{                                                          \
		static union {                                     \
			void *obj;                                 \
			ret(*fn) params;                           \
		} u;                                               \
		if (u.obj == NULL)                                 \
			u.obj = pq_symbol(#name);                  \
		return u.fn args;                                  \
	}

/*
 * PQ_FORWARD_FAULT - the same for a call that can report failure; the
 * fault-injection build (common/util/fault.h) makes it return fail instead,
 * the way libpq reports running out of memory or losing the server.
 */
#define PQ_FORWARD_FAULT(ret, name, params, args, fail)            \
	ret name params                                            \
	{                                                          \
		static union {                                     \
			void *obj;                                 \
			ret(*fn) params;                           \
		} u;                                               \
		if (fault_inject(FAULT_PQ, #name))                 \
			return fail;                               \
		if (u.obj == NULL)                                 \
			u.obj = pq_symbol(#name);                  \
		return u.fn args;                                  \
	}

PQ_FORWARD_FAULT(PGconn *, PQconnectdbParams,
		 (const char *const *keywords, const char *const *values, int expand_dbname),
		 (keywords, values, expand_dbname), NULL)
PQ_FORWARD_FAULT(ConnStatusType, PQstatus, (const PGconn *conn), (conn), CONNECTION_BAD)
PQ_FORWARD(char *, PQerrorMessage, (const PGconn *conn), (conn))
PQ_FORWARD_FAULT(PGTransactionStatusType, PQtransactionStatus, (const PGconn *conn), (conn),
		 PQTRANS_UNKNOWN)
PQ_FORWARD_FAULT(PGresult *, PQexec, (PGconn *conn, const char *query), (conn, query), NULL)
PQ_FORWARD_FAULT(PGresult *, PQexecParams,
		 (PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
		  const char *const *paramValues, const int *paramLengths,
		  const int *paramFormats, int resultFormat),
		 (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats,
		  resultFormat),
		 NULL)
PQ_FORWARD_FAULT(PGresult *, PQprepare,
		 (PGconn *conn, const char *stmtName, const char *query, int nParams,
		  const Oid *paramTypes),
		 (conn, stmtName, query, nParams, paramTypes), NULL)
PQ_FORWARD_FAULT(PGresult *, PQexecPrepared,
		 (PGconn *conn, const char *stmtName, int nParams, const char *const *paramValues,
		  const int *paramLengths, const int *paramFormats, int resultFormat),
		 (conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat),
		 NULL)
PQ_FORWARD_FAULT(ExecStatusType, PQresultStatus, (const PGresult *res), (res),
		 PGRES_FATAL_ERROR)
PQ_FORWARD(char *, PQresultErrorMessage, (const PGresult *res), (res))
/* A COMMIT whose status is not "COMMIT" was rolled back (common/mail/db.c). */
static char pq_rolled_back[] = "ROLLBACK";
PQ_FORWARD_FAULT(char *, PQcmdStatus, (PGresult *res), (res), pq_rolled_back)
PQ_FORWARD(int, PQntuples, (const PGresult *res), (res))
PQ_FORWARD(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num),
	   (res, tup_num, field_num))
PQ_FORWARD(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num),
	   (res, tup_num, field_num))
PQ_FORWARD(int, PQnfields, (const PGresult *res), (res))
PQ_FORWARD(char *, PQfname, (const PGresult *res, int field_num), (res, field_num))
PQ_FORWARD(Oid, PQftype, (const PGresult *res, int field_num), (res, field_num))
PQ_FORWARD(char *, PQresultErrorField, (const PGresult *res, int fieldcode), (res, fieldcode))
PQ_FORWARD(int, PQsocket, (const PGconn *conn), (conn))
PQ_FORWARD(int, PQconsumeInput, (PGconn *conn), (conn))
PQ_FORWARD(PGnotify *, PQnotifies, (PGconn *conn), (conn))
PQ_FORWARD(PQnoticeProcessor, PQsetNoticeProcessor,
	   (PGconn *conn, PQnoticeProcessor proc, void *arg), (conn, proc, arg))

/*
 * PQ_FORWARD_FREE - the same for a function that releases a libpq object:
 * it returns nothing, and NULL is nothing to release, which needs no
 * libpq loaded.
 */
#define PQ_FORWARD_FREE(name, type)                                \
	void name(type *ptr)                                       \
	{                                                          \
		static union {                                     \
			void *obj;                                 \
			void (*fn)(type *);                        \
		} u;                                               \
		if (ptr == NULL)                                   \
			return;                                    \
		if (u.obj == NULL)                                 \
			u.obj = pq_symbol(#name);                  \
		u.fn(ptr);                                         \
	}

PQ_FORWARD_FREE(PQfreemem, void)
PQ_FORWARD_FREE(PQclear, PGresult)
PQ_FORWARD_FREE(PQfinish, PGconn)
