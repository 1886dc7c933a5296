/* SPDX-License-Identifier: BSD-2-Clause */
/* deliver - one bounce from stdin to PostgreSQL. */
#include <ctype.h>
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "classify/classifier.h"
#include "classify/outcome.h"
#include "mail/db.h"
#include "deliver.h"
#include "util/msg.h"
#include "report/report.h"
#include "mail/return_path.h"
#include "store.h"
#include "mail/verp.h"
#include "util/xalloc.h"

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
 * What a bounce offers as evidence of where it belongs.  Only what we
 * signed counts: the token of the return path the report came to, or
 * else one the returned message carries (its X-Rebound-Token or its
 * Return-Path), each checked with our keys.  Classic VERP names a
 * recipient but proves nothing; the suppression policy decides how far to
 * trust it (rebound(7), "Trust").
 */
struct deliver_evidence {
	struct return_path rp;		/* the envelope recipient, taken apart */
	struct token_keys *keys;	/* loaded when something needs checking */
	char *token;			/* a token of ours, valid or expired, or NULL */
	bool token_valid;
	bool single_recipient;		/* the token's message had one recipient */
	const char *verp_recipient;	/* classic VERP recipient, or NULL */
};

/* evidence_keys - load the keys once; -1 and *error_r when they cannot be read */
static int
evidence_keys(const struct cfg *cfg, struct deliver_evidence *ev, char **error_r)
{
	if (ev->keys != NULL || cfg->token_key_file[0] == '\0')
		return 0;
	return token_keys_load(cfg->token_key_file, cfg->token_previous_key_file, &ev->keys,
			       error_r);
}

/* evidence_keep - a token of ours (valid or expired) is the evidence */
static void
evidence_keep(struct deliver_evidence *ev, const char *token, size_t len, bool valid,
	      unsigned flags)
{
	ev->token = xstrndup(token, len);
	for (char *p = ev->token; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	ev->token_valid = valid;
	ev->single_recipient = (flags & TOKEN_SINGLE_RECIPIENT) != 0;
}

/*
 * evidence_envelope - the return path the bounce came to.  Keys are read
 * only when it holds a token, so plain VERP costs nothing.  -1 when the
 * configured keys cannot be read: a configuration error, which defers
 * rather than storing events that should have been verified.
 */
static int
evidence_envelope(const struct cfg *cfg, const char *address, struct deliver_evidence *ev,
		  char **error_r)
{
	unsigned today = token_day(time(NULL)), days = cfg->token_lifetime / 86400;

	if (return_path_inspect(address, cfg->verp_delimiters, NULL, today, days, &ev->rp) < 0) {
		memset(&ev->rp, 0, sizeof(ev->rp));
		return 0;
	}
	if (ev->rp.verdict == RP_TOKEN_UNVERIFIED && cfg->token_key_file[0] != '\0') {
		return_path_release(&ev->rp);
		if (evidence_keys(cfg, ev, error_r) < 0)
			return -1;
		(void)return_path_inspect(address, cfg->verp_delimiters, ev->keys, today, days,
					  &ev->rp);
	}
	if (ev->rp.token != NULL)
		evidence_keep(ev, ev->rp.token, strlen(ev->rp.token),
			      ev->rp.verdict == RP_TOKEN_VALID, ev->rp.info.flags);
	else if (ev->rp.verdict == RP_TOKEN_NONE)
		ev->verp_recipient = ev->rp.recipient;
	return 0;
}

/*
 * evidence_returned - a report that came to no token of ours (a complaint
 * sent to the feedback address, an NDR to a plain bounce address) may
 * carry one in the returned message.  The recipients it names are still
 * checked against what the milter recorded for that message.
 */
static int
evidence_returned(const struct cfg *cfg, const struct report *r, struct deliver_evidence *ev,
		  char **error_r)
{
	unsigned today = token_day(time(NULL)), days = cfg->token_lifetime / 86400;
	struct return_path inner;
	struct token_info info;
	enum token_verdict v;

	if (ev->token != NULL || (r->orig_token == NULL && r->orig_return_path == NULL) ||
	    cfg->token_key_file[0] == '\0')
		return 0;
	if (evidence_keys(cfg, ev, error_r) < 0)
		return -1;
	if (r->orig_token != NULL) {
		v = token_decode(ev->keys, r->orig_token, strlen(r->orig_token), today, days, &info);
		if (v == TOKEN_VALID || v == TOKEN_EXPIRED) {
			evidence_keep(ev, r->orig_token, strlen(r->orig_token), v == TOKEN_VALID,
				      info.flags);
			return 0;
		}
	}
	if (r->orig_return_path != NULL &&
	    return_path_inspect(r->orig_return_path, cfg->verp_delimiters, ev->keys, today, days,
				&inner) == 0) {
		if (inner.token != NULL)
			evidence_keep(ev, inner.token, strlen(inner.token),
				      inner.verdict == RP_TOKEN_VALID, inner.info.flags);
		return_path_release(&inner);
	}
	return 0;
}

static void
evidence_release(struct deliver_evidence *ev)
{
	return_path_release(&ev->rp);
	token_keys_free(&ev->keys);
	xfree(&ev->token);
}

/* deliver_refuse_events - why a report gets no events, or NULL if it does */
static const char *
deliver_refuse_events(const struct deliver_evidence *ev, const struct report *r)
{
	if (ev->rp.verdict == RP_TOKEN_FORGED || ev->rp.verdict == RP_TOKEN_MALFORMED)
		return "sent to a forged return path: stored raw, no events";
	if (r->rcpt_overflow)
		return "names more recipients than any message of ours had "
		       "(LIMIT_RECIPIENTS): stored raw, no events";
	return NULL;
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
deliver_bounce(const struct cfg *cfg, struct classifier *clf,
	       const struct deliver_request *req, struct deliver_outcome *out)
{
	struct store_bounce sb = { 0 };
	struct deliver_evidence ev = { 0 };
	char digest[65];
	char *identity, *error = NULL;
	const char *refused;
	struct report *r;

	memset(out, 0, sizeof(*out));
	if (evidence_envelope(cfg, req->recipient, &ev, &error) < 0) {
		deliver_fail(req->queue_id, "4.3.5", error, out);
		evidence_release(&ev);
		return;
	}
	r = classifier_run(clf, req->data, req->len);
	if (classifier_error(clf) != NULL)
		msg_warn("%s: %s", req->queue_id, classifier_error(clf));
	if (req->local)
		outcome_mark_local(r);
	if (evidence_returned(cfg, r, &ev, &error) < 0) {
		deliver_fail(req->queue_id, "4.3.5", error, out);
		evidence_release(&ev);
		report_free(&r);
		return;
	}
	/* A report that names nobody (a redacted complaint) is about the VERP recipient. */
	if (r->nrcpt == 1 && r->rcpt[0].recipient == NULL && ev.rp.recipient != NULL)
		r->rcpt[0].recipient = xstrdup(ev.rp.recipient);
	if ((refused = deliver_refuse_events(&ev, r)) != NULL) {
		msg_warn("%s: report to <%s> %s", req->queue_id, req->recipient, refused);
		report_clear_rcpts(r);
	} else if (r->nrcpt == 0) {
		deliver_fill_unknown(r, ev.rp.recipient);
	}

	deliver_sha256(req->data, req->len, digest);
	identity = deliver_identity(r, req->queue_id, req->recipient, req->data, req->len);
	sb.queue_id = req->queue_id;
	sb.bounce_address = req->recipient;
	sb.token = ev.token;
	sb.token_valid = ev.token_valid;
	sb.single_recipient = ev.single_recipient;
	sb.verp_recipient = ev.verp_recipient;
	sb.report_recipients = r->nrcpt;
	sb.identity = identity;
	sb.data = req->data;
	sb.data_len = req->len;
	sb.size = req->size;
	sb.truncated = req->truncated;
	sb.keep_raw = refused != NULL || r->format == FORMAT_NONE ||
		      cfg->raw_messages == CFG_RAW_ALL;
	sb.raw_limit = cfg->raw_message_limit;
	sb.digest = digest;
	sb.parse_error = refused != NULL ? refused
		       : r->format == FORMAT_NONE ? "no delivery report recognised" : NULL;

	out->events = r->nrcpt;
	out->status = deliver_store(cfg, &sb, r, out);
	if (out->status == EX_OK)
		snprintf(out->text, sizeof(out->text), "%zu event%s recorded, %zu new",
			 out->events, out->events == 1 ? "" : "s", out->new_events);
	deliver_log(req, r, return_path_token_name(ev.rp.verdict), out);
	free(identity);
	evidence_release(&ev);
	report_free(&r);
}
