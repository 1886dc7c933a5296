/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_DELIVER_H
#define REBOUND_DELIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/cfg.h"
#include "classify/classifier.h"
#include "mail/db.h"

/*
 * deliver - rebound-pipe's delivery of one bounce: parse, classify, store,
 * log one line.  The outcome is a sysexits status for pipe(8):
 *
 *	EX_OK		the events (or the raw copy) are durably committed;
 *	EX_TEMPFAIL	anything transient (database, resources); Postfix keeps
 *			the bounce queued and retries.
 *
 * Input that cannot be understood is still committed, raw, as one event
 * of kind unknown: nothing is ever bounced back, because Postfix would
 * silently drop a bounce that bounces.
 */
struct deliver_request {
	const char *queue_id;		/* ${queue_id} */
	const char *recipient;		/* ${original_recipient}: the return path */
	const char *client_address;	/* ${client_address}, or NULL when not passed */
	bool local;			/* Postfix wrote it itself: no SMTP client */
	const char *data;		/* message as read, at most the cap */
	size_t len;
	size_t size;			/* bytes offered on stdin in all */
	bool truncated;			/* size > len */
};

struct deliver_outcome {
	int status;			/* EX_OK or EX_TEMPFAIL */
	char text[160];			/* for pipe(8): "4.3.0 reason" or a summary */
	size_t events;
	size_t new_events;
};

/*
 * deliver_bounce - deliver one bounce, classified by clf (the process's
 * one classifier, as batch mode uses it), stored over *dbp: the
 * connection of earlier bounces of the same LMTP session, or NULL, and
 * then connected here and left open for the next.  Always fills *out.
 */
void deliver_bounce(const struct cfg *cfg, struct classifier *clf, struct db **dbp,
		    const struct deliver_request *req, struct deliver_outcome *out);

/*
 * deliver_read - read fd to the end, keeping at most max bytes in *data_r
 * (caller frees) and counting all bytes in *size_r.  -1 on read error.
 */
int deliver_read(int fd, size_t max, char **data_r, size_t *len_r, size_t *size_r);

#endif
