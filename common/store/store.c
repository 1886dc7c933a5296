/* SPDX-License-Identifier: BSD-2-Clause */
/* store - bounce events into PostgreSQL, one transaction per bounce. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/caps.h"
#include "store/store.h"
#include "util/sha256.h"
#include "util/utf8.h"
#include "util/xalloc.h"

static const char sql_raw[] =
	"WITH ins AS ("
	" INSERT INTO rebound.raw_messages"
	"  (queue_id, envelope_recipient, size, truncated, digest, parse_error, content,"
	"   local_origin)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
	" ON CONFLICT (digest, (coalesce(envelope_recipient, ''))) DO NOTHING RETURNING id)"
	" SELECT id FROM ins"
	" UNION ALL SELECT id FROM rebound.raw_messages"
	"  WHERE digest = $5 AND coalesce(envelope_recipient, '') = coalesce($2::text, '')"
	" LIMIT 1";

/*
 * An event is what rebound.event_draft() (migration 007) makes of the
 * recipient: it links the message the signed token names, or else the
 * newest with the Message-ID the report quotes, and that message's
 * recipient.  rebound-pipe inserts it; "rebound reclassify" stages it, to
 * compare it with the event the same bounce made before.
 */
#define STORE_DRAFT1 "rebound.event_draft($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
#define STORE_DRAFT2 " $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,"
#define STORE_DRAFT3 " $24, $25, $26, $27) d"
#define STORE_NPARAMS 27

static const char sql_event[] =
	"INSERT INTO rebound.events"
	" (kind, sync, source, recipient, reason, category, hard, status, reply_code,"
	"  action, diagnostic, remote_mta, reporting_mta, feedback_type, rule,"
	"  queue_id, orig_queue_id, bounce_address, raw_message_id, dedup_key,"
	"  message_id, recipient_id, provenance, token_verified, report_recipients,"
	"  rules_digest)"
	" SELECT d.kind, d.sync, d.source, d.recipient, d.reason, d.category, d.hard, d.status,"
	"  d.reply_code, d.action, d.diagnostic, d.remote_mta, d.reporting_mta, d.feedback_type,"
	"  d.rule, d.queue_id, d.orig_queue_id, d.bounce_address, d.raw_message_id, d.dedup_key,"
	"  d.message_id, d.recipient_id, d.provenance, d.token_verified, d.report_recipients,"
	"  d.rules_digest"
	" FROM " STORE_DRAFT1 STORE_DRAFT2 STORE_DRAFT3
	" ON CONFLICT (dedup_key) DO NOTHING RETURNING id";

static const char sql_stage[] =
	"INSERT INTO pg_temp.reclassify_draft (raw_id, ordinal, draft)"
	" SELECT $21::bigint, $28::integer, d FROM " STORE_DRAFT1 STORE_DRAFT2 STORE_DRAFT3;

void
store_dedup_key(const char *identity, const struct report_rcpt *rc, char out[65])
{
	unsigned char digest[SHA256_SIZE];
	struct sha256 sum;
	const char *parts[] = { identity, rc->recipient, kind_name(rc->kind), rc->status,
				rc->action, rc->feedback_type };

	sha256_init(&sum);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const char *p = parts[i] != NULL ? parts[i] : "";

		sha256_update(&sum, p, strlen(p));
		sha256_update(&sum, "\n", 1);
	}
	sha256_final(&sum, digest);
	sha256_hex(digest, out);
}

/* store_raw - insert or find the raw copy; its id into raw_id */
static int
store_raw(struct db *db, const struct store_bounce *b, char raw_id[24], char **error_r)
{
	char size[24];
	size_t keep = b->data_len < b->raw_limit ? b->data_len : b->raw_limit;
	char *err_text = utf8_copy(b->parse_error, 500);
	const char *values[8] = { b->queue_id, b->bounce_address, size,
				  (b->truncated || keep < b->data_len) ? "t" : "f", b->digest,
				  err_text, b->data, b->local ? "t" : "f" };
	int lengths[8] = { 0, 0, 0, 0, 0, 0, (int)keep, 0 };
	int formats[8] = { 0, 0, 0, 0, 0, 0, 1, 0 };
	PGresult *res;

	snprintf(size, sizeof(size), "%zu", b->size);
	res = db_query_binary(db, sql_raw, 8, values, lengths, formats, PGRES_TUPLES_OK,
			      error_r);
	free(err_text);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		*error_r = xstrdup("raw message insert returned no row");
		PQclear(res);
		return -1;
	}
	snprintf(raw_id, 24, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* The parameters of one recipient's draft, and the copies they point to. */
struct store_values {
	const char *v[STORE_NPARAMS + 1];	/* the stage adds the ordinal */
	char reply[8], key[65], nrcpt[24], ordinal[24];
	char *owned[8];
};

/* store_values_fill - the draft parameters of recipient rc of r */
static void
store_values_fill(struct store_values *sv, const struct store_bounce *b, const struct report *r,
		  const struct report_rcpt *rc, const char *raw_id)
{
	const char **v = sv->v;
	char **own = sv->owned;

	own[0] = utf8_copy(rc->diagnostic, LIMIT_DIAGNOSTIC_LEN);
	own[1] = utf8_copy(rc->remote_mta, 255);
	own[2] = utf8_copy(r->reporting_mta, 255);
	own[3] = utf8_copy(rc->recipient, LIMIT_ADDRESS_LEN);
	own[4] = utf8_copy(r->orig_queue_id, 32);
	own[5] = utf8_copy(r->orig_message_id, 998);
	own[6] = utf8_copy(rc->action, 32);
	own[7] = utf8_copy(rc->feedback_type, 64);
	snprintf(sv->reply, sizeof(sv->reply), "%d", rc->reply_code);
	store_dedup_key(b->identity, rc, sv->key);
	v[0] = kind_name(rc->kind);
	v[1] = rc->sync ? "t" : "f";
	v[2] = "pipe";
	v[3] = own[3];
	v[4] = reason_name(rc->reason);
	v[5] = reason_category(rc->reason);
	v[6] = rc->hard ? "t" : "f";
	v[7] = rc->status[0] != '\0' ? rc->status : NULL;
	v[8] = rc->reply_code > 0 ? sv->reply : NULL;
	v[9] = own[6];
	v[10] = own[0];
	v[11] = own[1];
	v[12] = own[2];
	v[13] = own[7];
	v[14] = rc->rule;
	v[15] = b->queue_id;
	v[16] = own[4];
	v[17] = b->bounce_address;
	v[18] = b->token;
	v[19] = own[5];
	v[20] = raw_id;
	v[21] = sv->key;
	/* A single-recipient token names the recipient even when the report does not. */
	v[22] = b->single_recipient ? "t" : "f";
	/*
	 * Classic VERP names the recipient the bounce is about; a report that
	 * names the same one is as good as VERP itself.  Everything else
	 * starts unverified, and the database looks at the token.
	 */
	v[23] = b->verp_recipient != NULL && rc->recipient != NULL &&
				strcasecmp(b->verp_recipient, rc->recipient) == 0
			? "verp"
			: "unverified";
	v[24] = b->token != NULL && b->token_valid ? "t" : "f";
	snprintf(sv->nrcpt, sizeof(sv->nrcpt), "%zu", b->report_recipients);
	v[25] = sv->nrcpt;
	v[26] = b->rules_digest;
}

static void
store_values_release(struct store_values *sv)
{
	for (size_t i = 0; i < sizeof(sv->owned) / sizeof(sv->owned[0]); i++)
		xfree(&sv->owned[i]);
}

/* store_event - insert one recipient's event; *inserted_r is 0 or 1 */
static int
store_event(struct db *db, const struct store_bounce *b, const struct report *r,
	    const struct report_rcpt *rc, const char *raw_id, int *inserted_r, char **error_r)
{
	struct store_values sv;
	PGresult *res;

	store_values_fill(&sv, b, r, rc, raw_id);
	res = db_query(db, sql_event, STORE_NPARAMS, sv.v, PGRES_TUPLES_OK, error_r);
	store_values_release(&sv);
	if (res == NULL)
		return -1;
	*inserted_r = PQntuples(res);
	PQclear(res);
	return 0;
}

int
store_stage(struct db *db, const struct store_bounce *b, const struct report *r,
	    const char *raw_id, char **error_r)
{
	for (size_t i = 0; i < r->nrcpt; i++) {
		struct store_values sv;
		PGresult *res;

		store_values_fill(&sv, b, r, &r->rcpt[i], raw_id);
		snprintf(sv.ordinal, sizeof(sv.ordinal), "%zu", i);
		sv.v[STORE_NPARAMS] = sv.ordinal;
		res = db_query(db, sql_stage, STORE_NPARAMS + 1, sv.v, PGRES_COMMAND_OK, error_r);
		store_values_release(&sv);
		if (res == NULL)
			return -1;
		PQclear(res);
	}
	return 0;
}

int
store_bounce(struct db *db, const struct store_bounce *b, const struct report *r,
	     size_t *new_r, char **error_r)
{
	char raw_id[24] = "";

	*new_r = 0;
	if (db_exec(db, "BEGIN", error_r) < 0)
		return -1;
	/* Exit 0 promises Postfix a durable commit, whatever the server default. */
	if (db_exec(db, "SET LOCAL synchronous_commit TO on", error_r) < 0)
		goto fail;
	if (b->keep_raw && store_raw(db, b, raw_id, error_r) < 0)
		goto fail;
	for (size_t i = 0; i < r->nrcpt; i++) {
		int inserted;

		if (store_event(db, b, r, &r->rcpt[i], raw_id[0] ? raw_id : NULL, &inserted,
				error_r) < 0)
			goto fail;
		*new_r += (size_t)inserted;
	}
	if (db_commit(db, error_r) < 0)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	*new_r = 0;
	return -1;
}
