/* SPDX-License-Identifier: BSD-2-Clause */
/* bounce - raw bytes to a classified report and the rows it makes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify/outcome.h"
#include "store/bounce.h"
#include "util/sha256.h"
#include "util/xalloc.h"

/* bounce_sha256 - hex SHA-256 of data */
static void
bounce_sha256(const char *data, size_t len, char out[SHA256_HEX_SIZE])
{
	unsigned char digest[SHA256_SIZE];
	struct sha256 sum;

	sha256_init(&sum);
	sha256_update(&sum, data, len);
	sha256_final(&sum, digest);
	sha256_hex(digest, out);
}

/*
 * bounce_postfix_msgid - whether mid is the Message-ID that our own
 * Postfix gave this very message because it came without one: cleanup(8)
 * writes "<YYYYMMDDhhmmss.QUEUEID@myhostname>", with the queue id that
 * pipe(8) passes us as ${queue_id}.  Such an id is new at every delivery
 * of the same report, so it must not make two copies look different.
 */
static bool
bounce_postfix_msgid(const char *mid, const char *queue_id)
{
	const char *at = strrchr(mid, '@');
	size_t qlen = queue_id != NULL ? strlen(queue_id) : 0;

	return at != NULL && qlen > 0 && (size_t)(at - mid) > qlen &&
	       *(at - qlen - 1) == '.' && strncmp(at - qlen, queue_id, qlen) == 0;
}

/*
 * bounce_identity - what makes a report unique across deliveries: its
 * body and Message-ID.  Headers are left out, because one report sent
 * twice differs in its Received lines alone; the Message-ID alone is not
 * enough, because some MTAs reuse it.  Only the report's own Message-ID
 * counts: one that our Postfix added (bounce_postfix_msgid) is left out.
 */
static char *
bounce_identity(const struct report *r, const char *queue_id, const char *return_path,
		const char *data, size_t len)
{
	const char *body = data;
	const char *mid = r->message_id != NULL ? r->message_id : "";
	unsigned char digest[SHA256_SIZE];
	char hex[SHA256_HEX_SIZE];
	struct sha256 sum;
	size_t size;
	char *id;

	if (bounce_postfix_msgid(mid, queue_id))
		mid = "";

	for (size_t i = 0; i + 1 < len; i++) {
		if (data[i] == '\n' && (data[i + 1] == '\n' ||
					(data[i + 1] == '\r' && i + 2 < len && data[i + 2] == '\n'))) {
			body = data + i + 1;
			break;
		}
	}
	sha256_init(&sum);
	sha256_update(&sum, mid, strlen(mid));
	sha256_update(&sum, "\n", 1);
	sha256_update(&sum, body, len - (size_t)(body - data));
	sha256_final(&sum, digest);
	sha256_hex(digest, hex);
	size = strlen(return_path) + 80;
	id = xmalloc(size);
	snprintf(id, size, "%s %s", hex, return_path);
	return id;
}

/* bounce_fill_unknown - give a report we could not read one event */
static void
bounce_fill_unknown(struct report *r, const char *verp_rcpt)
{
	struct report_rcpt *rc = report_add_rcpt(r);

	rc->recipient = verp_rcpt != NULL ? xstrdup(verp_rcpt) : NULL;
	rc->kind = KIND_UNKNOWN;
	rc->reason = REASON_UNDEFINED;
	rc->rule = "unparsed";
}

/* bounce_describe - the rows of a prepared bounce */
static void
bounce_describe(const struct cfg *cfg, struct classifier *clf, const struct bounce_input *in,
		struct bounce *b)
{
	struct store_bounce *sb = &b->sb;
	const struct report *r = b->report;

	bounce_sha256(in->data, in->len, b->digest);
	b->identity = bounce_identity(r, in->queue_id, in->recipient, in->data, in->len);
	sb->queue_id = in->queue_id;
	sb->bounce_address = in->recipient;
	sb->local = in->local;
	sb->rules_digest = classifier_digest(clf);
	sb->token = b->ev.token;
	sb->token_valid = b->ev.token_valid;
	sb->single_recipient = b->ev.single_recipient;
	sb->verp_recipient = b->ev.verp_recipient;
	sb->report_recipients = r->nrcpt;
	sb->identity = b->identity;
	sb->data = in->data;
	sb->data_len = in->len;
	sb->size = in->size;
	sb->truncated = in->truncated;
	sb->keep_raw = b->refused != NULL || r->format == FORMAT_NONE ||
		       cfg->raw_messages == CFG_RAW_ALL;
	sb->raw_limit = cfg->raw_message_limit;
	sb->digest = b->digest;
	sb->parse_error = b->refused != NULL ? b->refused
			: r->format == FORMAT_NONE ? "no delivery report recognised" : NULL;
}

int
bounce_prepare(const struct cfg *cfg, struct classifier *clf, const struct bounce_input *in,
	       struct bounce *b, char **error_r)
{
	memset(b, 0, sizeof(*b));
	if (evidence_envelope(cfg, in->recipient, in->day, &b->ev, error_r) < 0) {
		evidence_release(&b->ev);
		return -1;
	}
	b->report = classifier_run(clf, in->data, in->len);
	if (in->local)
		outcome_mark_local(b->report);
	if (evidence_returned(cfg, b->report, in->day, &b->ev, error_r) < 0) {
		evidence_release(&b->ev);
		report_free(&b->report);
		return -1;
	}
	/* A report that names nobody (a redacted complaint) is about the VERP recipient. */
	if (b->report->nrcpt == 1 && b->report->rcpt[0].recipient == NULL &&
	    b->ev.rp.recipient != NULL)
		b->report->rcpt[0].recipient = xstrdup(b->ev.rp.recipient);
	if ((b->refused = evidence_refusal(&b->ev, b->report)) != NULL)
		report_clear_rcpts(b->report);
	else if (b->report->nrcpt == 0)
		bounce_fill_unknown(b->report, b->ev.rp.recipient);
	bounce_describe(cfg, clf, in, b);
	return 0;
}

void
bounce_release(struct bounce *b)
{
	evidence_release(&b->ev);
	report_free(&b->report);
	xfree(&b->identity);
}
