/* SPDX-License-Identifier: BSD-2-Clause */
/* deliver - one bounce from stdin to PostgreSQL. */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "classifier.h"
#include "db.h"
#include "deliver.h"
#include "msg.h"
#include "report.h"
#include "return_path.h"
#include "store.h"
#include "verp.h"
#include "xalloc.h"

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

/* deliver_sha256 - hex SHA-256 of data */
static void
deliver_sha256(const char *data, size_t len, char out[65])
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);

	g_checksum_update(sum, (const guchar *)data, (gssize)len);
	snprintf(out, 65, "%s", g_checksum_get_string(sum));
	g_checksum_free(sum);
}

/*
 * deliver_postfix_msgid - whether mid is the Message-ID that our own
 * Postfix gave this very message because it came without one: cleanup(8)
 * writes "<YYYYMMDDhhmmss.QUEUEID@myhostname>", with the queue id that
 * pipe(8) passes us as ${queue_id}.  Such an id is new at every delivery
 * of the same report, so it must not make two copies look different.
 */
static bool
deliver_postfix_msgid(const char *mid, const char *queue_id)
{
	const char *at = strrchr(mid, '@');
	size_t qlen = queue_id != NULL ? strlen(queue_id) : 0;

	return at != NULL && qlen > 0 && (size_t)(at - mid) > qlen &&
	       *(at - qlen - 1) == '.' && strncmp(at - qlen, queue_id, qlen) == 0;
}

/*
 * deliver_identity - what makes a report unique across deliveries: its
 * body and Message-ID.  Headers are left out, because one report sent
 * twice differs in its Received lines alone; the Message-ID alone is not
 * enough, because some MTAs reuse it.  Only the report's own Message-ID
 * counts: one that our Postfix added (deliver_postfix_msgid) is left out.
 */
static char *
deliver_identity(const struct report *r, const char *queue_id, const char *return_path,
		 const char *data, size_t len)
{
	const char *body = data;
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	const char *mid = r->message_id != NULL ? r->message_id : "";
	size_t size;
	char *id;

	if (deliver_postfix_msgid(mid, queue_id))
		mid = "";

	for (size_t i = 0; i + 1 < len; i++) {
		if (data[i] == '\n' && (data[i + 1] == '\n' ||
					(data[i + 1] == '\r' && i + 2 < len && data[i + 2] == '\n'))) {
			body = data + i + 1;
			break;
		}
	}
	g_checksum_update(sum, (const guchar *)mid, (gssize)strlen(mid));
	g_checksum_update(sum, (const guchar *)"\n", 1);
	g_checksum_update(sum, (const guchar *)body, (gssize)(len - (size_t)(body - data)));
	size = strlen(return_path) + 80;
	id = xmalloc(size);
	snprintf(id, size, "%s %s", g_checksum_get_string(sum), return_path);
	g_checksum_free(sum);
	return id;
}

/* deliver_fill_unknown - give a report we could not read one event */
static void
deliver_fill_unknown(struct report *r, const char *verp_rcpt)
{
	struct report_rcpt *rc = report_add_rcpt(r);

	rc->recipient = verp_rcpt != NULL ? xstrdup(verp_rcpt) : NULL;
	rc->kind = KIND_UNKNOWN;
	rc->reason = REASON_UNDEFINED;
	rc->rule = "unparsed";
}

/* deliver_log - the one log line per bounce */
static void
deliver_log(const struct deliver_request *req, const struct report *r, const char *token,
	    const struct deliver_outcome *out)
{
	const struct report_rcpt *rc = r->nrcpt > 0 ? &r->rcpt[0] : NULL;

	msg_info("%s: to=<%s>, orig_queue_id=%s, size=%zu, recipients=%zu, new=%zu, "
		 "rcpt=<%s>, kind=%s, dsn=%s, reason=%s, rule=%s, token=%s, status=%s",
		 req->queue_id, req->recipient,
		 r->orig_queue_id != NULL ? r->orig_queue_id : "none", req->size, out->events,
		 out->new_events, rc && rc->recipient ? rc->recipient : "",
		 rc ? kind_name(rc->kind) : "unknown",
		 rc && rc->status[0] ? rc->status : "none",
		 rc ? reason_name(rc->reason) : "undefined", rc && rc->rule ? rc->rule : "none", token,
		 out->status == EX_OK ? "recorded" : "deferred");
}

/* deliver_store - connect and commit; EX_OK or EX_TEMPFAIL */
static int
deliver_store(const struct cfg *cfg, const struct store_bounce *sb, const struct report *r,
	      struct deliver_outcome *out)
{
	struct db_params params = {
		.conninfo = cfg->database,
		.connect_timeout = cfg->db_connect_timeout,
		.statement_timeout = cfg->db_statement_timeout,
		.application_name = "rebound-pipe",
	};
	struct db *db = NULL;
	char *error = NULL;
	int ret = EX_OK;

	if (db_connect(&params, &db, &error) < 0 ||
	    store_bounce(db, sb, r, &out->new_events, &error) < 0) {
		msg_warn("%s: %s", sb->queue_id, error);
		/* pipe(8) puts this line in its log and in any delay notice. */
		snprintf(out->text, sizeof(out->text), "4.3.0 %s", error);
		msg_printable(out->text, sizeof(out->text), out->text, sizeof(out->text));
		ret = EX_TEMPFAIL;
	}
	free(error);
	db_free(&db);
	return ret;
}

/*
 * deliver_return_path - the VERP recipient and verified token of the
 * bounce's address.  Keys are read only when the address holds a token,
 * so plain VERP costs nothing.  -1 when the configured keys cannot be
 * read: a configuration error, which defers rather than storing events
 * that should have been linked.
 */
static int
deliver_return_path(const struct cfg *cfg, const char *address, struct return_path *rp,
		    char **error_r)
{
	struct token_keys *keys = NULL;
	unsigned today = token_day(time(NULL));

	if (return_path_inspect(address, cfg->verp_delimiters, NULL, today, rp) < 0) {
		memset(rp, 0, sizeof(*rp));
		return 0;
	}
	if (rp->verdict != RP_TOKEN_UNVERIFIED || cfg->token_key_file[0] == '\0')
		return 0;
	return_path_release(rp);
	if (token_keys_load(cfg->token_key_file, cfg->token_previous_key_file, &keys,
			    error_r) < 0)
		return -1;
	(void)return_path_inspect(address, cfg->verp_delimiters, keys, today, rp);
	token_keys_free(&keys);
	return 0;
}

void
deliver_bounce(const struct cfg *cfg, struct classifier *clf,
	       const struct deliver_request *req, struct deliver_outcome *out)
{
	struct store_bounce sb = { 0 };
	struct return_path rp = { 0 };
	char digest[65];
	char *identity, *error = NULL;
	struct report *r;

	memset(out, 0, sizeof(*out));
	if (deliver_return_path(cfg, req->recipient, &rp, &error) < 0) {
		msg_warn("%s: %s", req->queue_id, error);
		snprintf(out->text, sizeof(out->text), "4.3.5 %s", error);
		msg_printable(out->text, sizeof(out->text), out->text, sizeof(out->text));
		out->status = EX_TEMPFAIL;
		free(error);
		return;
	}
	r = classifier_run(clf, req->data, req->len);
	if (classifier_error(clf) != NULL)
		msg_warn("%s: %s", req->queue_id, classifier_error(clf));
	/* A report that names nobody (a redacted complaint) is about the VERP recipient. */
	if (r->nrcpt == 1 && r->rcpt[0].recipient == NULL && rp.recipient != NULL)
		r->rcpt[0].recipient = xstrdup(rp.recipient);
	if (r->nrcpt == 0)
		deliver_fill_unknown(r, rp.recipient);

	deliver_sha256(req->data, req->len, digest);
	identity = deliver_identity(r, req->queue_id, req->recipient, req->data, req->len);
	sb.queue_id = req->queue_id;
	sb.bounce_address = req->recipient;
	sb.token = rp.token;
	sb.single_recipient = rp.token != NULL && (rp.info.flags & TOKEN_SINGLE_RECIPIENT);
	sb.identity = identity;
	sb.data = req->data;
	sb.data_len = req->len;
	sb.size = req->size;
	sb.truncated = req->truncated;
	sb.keep_raw = r->format == FORMAT_NONE || cfg->raw_messages == CFG_RAW_ALL;
	sb.raw_limit = cfg->raw_message_limit;
	sb.digest = digest;
	sb.parse_error = r->format == FORMAT_NONE ? "no delivery report recognised" : NULL;

	out->events = r->nrcpt;
	out->status = deliver_store(cfg, &sb, r, out);
	if (out->status == EX_OK)
		snprintf(out->text, sizeof(out->text), "%zu event%s recorded, %zu new",
			 out->events, out->events == 1 ? "" : "s", out->new_events);
	deliver_log(req, r, return_path_token_name(rp.verdict), out);
	free(identity);
	return_path_release(&rp);
	report_free(&r);
}
