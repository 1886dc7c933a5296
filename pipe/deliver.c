/* SPDX-License-Identifier: BSD-2-Clause */
/* deliver - one bounce from stdin to PostgreSQL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "classify/classifier.h"
#include "mail/db.h"
#include "deliver.h"
#include "util/msg.h"
#include "report/report.h"
#include "mail/return_path.h"
#include "store/bounce.h"
#include "store/store.h"

int
deliver_read(int fd, size_t max, char **data_r, size_t *len_r, size_t *size_r)
{
	struct buf *b = buf_create(max);
	char chunk[65536];
	size_t total = 0;

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			buf_free(&b);
			return -1;
		}
		if (n == 0)
			break;
		/* Past the cap we keep reading, so that Postfix sees us take it all. */
		buf_append_partial(b, chunk, (size_t)n);
		total += (size_t)n;
	}
	*size_r = total;
	*data_r = buf_detach(&b, len_r);
	return 0;
}

/* deliver_log - the one log line per bounce */
static void
deliver_log(const struct deliver_request *req, const struct report *r, const char *token,
	    const struct deliver_outcome *out)
{
	const struct report_rcpt *rc = r->nrcpt > 0 ? &r->rcpt[0] : NULL;

	msg_info("%s: to=<%s>, orig_queue_id=%s, size=%zu, recipients=%zu, new=%zu, "
		 "rcpt=<%s>, kind=%s, dsn=%s, reason=%s, rule=%s, token=%s, origin=%s, status=%s",
		 req->queue_id, req->recipient,
		 r->orig_queue_id != NULL ? r->orig_queue_id : "none", req->size, out->events,
		 out->new_events, rc && rc->recipient ? rc->recipient : "",
		 rc ? kind_name(rc->kind) : "unknown",
		 rc && rc->status[0] ? rc->status : "none",
		 rc ? reason_name(rc->reason) : "undefined", rc && rc->rule ? rc->rule : "none", token,
		 req->client_address == NULL ? "unknown" : req->local ? "local" : "remote",
		 out->status == EX_OK ? "recorded" : "deferred");
}

/* deliver_try - connect when *dbp is NULL, then store; -1 and *error_r */
static int
deliver_try(const struct cfg *cfg, struct db **dbp, const struct store_bounce *sb,
	    const struct report *r, size_t *new_r, char **error_r)
{
	struct db_params params = {
		.conninfo = cfg->database,
		.connect_timeout = cfg->db_connect_timeout,
		.statement_timeout = cfg->db_statement_timeout,
		.application_name = "rebound-pipe",
	};

	if (*dbp == NULL && db_connect(&params, dbp, error_r) < 0)
		return -1;
	return store_bounce(*dbp, sb, r, new_r, error_r);
}

/*
 * deliver_store - commit over *dbp, connecting first when it is NULL;
 * EX_OK or EX_TEMPFAIL.  A connection that failed is closed, so that the
 * next bounce of an LMTP session starts on a new one.
 */
static int
deliver_store(const struct cfg *cfg, struct db **dbp, const struct store_bounce *sb,
	      const struct report *r, struct deliver_outcome *out)
{
	bool reused = *dbp != NULL && db_connection_ok(*dbp);
	char *error = NULL;

	if (*dbp != NULL && !reused)
		db_free(dbp);
	if (deliver_try(cfg, dbp, sb, r, &out->new_events, &error) == 0)
		return EX_OK;

	/*
	 * A connection kept from an earlier bounce may have been closed by the
	 * server since (a restart, idle_session_timeout): that is no reason to
	 * defer this bounce, so it is tried once more on a new connection.
	 */
	if (reused && !db_connection_ok(*dbp)) {
		msg_info("%s: the database connection of the last bounce was lost (%s); "
			 "connecting again", sb->queue_id, error);
		free(error);
		error = NULL;
		db_free(dbp);
		if (deliver_try(cfg, dbp, sb, r, &out->new_events, &error) == 0)
			return EX_OK;
	}
	msg_warn("%s: %s", sb->queue_id, error);
	/* pipe(8) puts this line in its log and in any delay notice. */
	snprintf(out->text, sizeof(out->text), "4.3.0 %s", error);
	msg_printable(out->text, sizeof(out->text), out->text, sizeof(out->text));
	free(error);
	db_free(dbp);
	return EX_TEMPFAIL;
}

/* deliver_fail - a transient failure before anything was stored */
static void
deliver_fail(const char *queue_id, const char *dsn, char *error, struct deliver_outcome *out)
{
	msg_warn("%s: %s", queue_id, error);
	snprintf(out->text, sizeof(out->text), "%s %s", dsn, error);
	msg_printable(out->text, sizeof(out->text), out->text, sizeof(out->text));
	out->status = EX_TEMPFAIL;
	free(error);
}

void
deliver_bounce(const struct cfg *cfg, struct classifier *clf, struct db **dbp,
	       const struct deliver_request *req, struct deliver_outcome *out)
{
	struct bounce_input in = {
		.queue_id = req->queue_id, .recipient = req->recipient, .local = req->local,
		.data = req->data, .len = req->len, .size = req->size,
		.truncated = req->truncated, .day = token_day(time(NULL)),
	};
	struct bounce b;
	char *error = NULL;

	memset(out, 0, sizeof(*out));
	if (bounce_prepare(cfg, clf, &in, &b, &error) < 0) {
		deliver_fail(req->queue_id, "4.3.5", error, out);
		return;
	}
	if (classifier_error(clf) != NULL)
		msg_warn("%s: %s", req->queue_id, classifier_error(clf));
	if (b.refused != NULL)
		msg_warn("%s: report to <%s> %s", req->queue_id, req->recipient, b.refused);
	out->events = b.report->nrcpt;
	out->status = deliver_store(cfg, dbp, &b.sb, b.report, out);
	if (out->status == EX_OK)
		snprintf(out->text, sizeof(out->text), "%zu event%s recorded, %zu new",
			 out->events, out->events == 1 ? "" : "s", out->new_events);
	deliver_log(req, b.report, return_path_token_name(b.ev.rp.verdict), out);
	bounce_release(&b);
}
