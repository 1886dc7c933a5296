/* SPDX-License-Identifier: BSD-2-Clause */
/* store - bounce events into PostgreSQL, one transaction per bounce. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/caps.h"
#include "store/store.h"
#include "util/utf8.h"
#include "util/xalloc.h"

static const char sql_raw[] =
	"WITH ins AS ("
	" INSERT INTO rebound.raw_messages"
	"  (queue_id, envelope_recipient, size, truncated, digest, parse_error, content)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7)"
	" ON CONFLICT (digest) DO NOTHING RETURNING id)"
	" SELECT id FROM ins"
	" UNION ALL SELECT id FROM rebound.raw_messages WHERE digest = $5"
	" LIMIT 1";

/*
 * The event's message: the one its signed token names, or else the newest
 * with the Message-ID the report quotes.  The milter stores a message a
 * moment after it is accepted, and a bounce can come sooner; so a verified
 * token whose message is not there yet makes its row, which the milter's
 * insert completes, and which then links the event to its recipient.
 */
static const char sql_event[] =
	"WITH by_token AS ("
	" SELECT id FROM rebound.messages WHERE $19::text IS NOT NULL AND token = $19::text),"
	" made AS ("
	" INSERT INTO rebound.messages (token)"
	"  SELECT $19::text WHERE $19::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM by_token)"
	"  ON CONFLICT (token) DO UPDATE SET token = EXCLUDED.token RETURNING id),"
	" m AS ("
	" SELECT id FROM (SELECT id, 1 AS rank FROM by_token UNION ALL SELECT id, 1 FROM made"
	"  UNION ALL (SELECT id, 2 FROM rebound.messages"
	"   WHERE $20::text IS NOT NULL AND message_id_header = $20::text"
	"   ORDER BY created_at DESC LIMIT 1)) AS candidates ORDER BY rank LIMIT 1),"
	" r AS (SELECT rc.id, rc.address FROM rebound.recipients rc, m"
	"  WHERE rc.message_id = m.id AND (rc.address = $4::text OR $23::boolean)"
	"  ORDER BY rc.address IS NOT DISTINCT FROM $4::text DESC LIMIT 1)"
	" INSERT INTO rebound.events"
	"  (kind, sync, source, recipient, reason, category, hard, status, reply_code,"
	"   action, diagnostic, remote_mta, reporting_mta, feedback_type, rule,"
	"   queue_id, orig_queue_id, bounce_address, raw_message_id, dedup_key,"
	"   message_id, recipient_id, provenance, token_verified, report_recipients)"
	" SELECT $1, $2, $3, coalesce($4::text, r.address), $5, $6, $7, $8, $9, $10, $11,"
	"   $12, $13, $14, $15, $16, $17, $18, $21, $22, m.id, r.id, $24, $25, $26"
	" FROM (SELECT 1) AS one LEFT JOIN m ON true LEFT JOIN r ON true"
	" ON CONFLICT (dedup_key) DO NOTHING RETURNING id";

void
store_dedup_key(const char *identity, const struct report_rcpt *rc, char out[65])
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	const char *parts[] = { identity, rc->recipient, kind_name(rc->kind), rc->status,
				rc->action, rc->feedback_type };

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const char *p = parts[i] != NULL ? parts[i] : "";

		g_checksum_update(sum, (const guchar *)p, (gssize)strlen(p));
		g_checksum_update(sum, (const guchar *)"\n", 1);
	}
	snprintf(out, 65, "%s", g_checksum_get_string(sum));
	g_checksum_free(sum);
}

/* store_raw - insert or find the raw copy; its id into raw_id */
static int
store_raw(struct db *db, const struct store_bounce *b, char raw_id[24], char **error_r)
{
	char size[24];
	size_t keep = b->data_len < b->raw_limit ? b->data_len : b->raw_limit;
	char *err_text = utf8_copy(b->parse_error, 500);
	const char *values[7] = { b->queue_id, b->bounce_address, size,
				  (b->truncated || keep < b->data_len) ? "t" : "f", b->digest,
				  err_text, b->data };
	int lengths[7] = { 0, 0, 0, 0, 0, 0, (int)keep };
	int formats[7] = { 0, 0, 0, 0, 0, 0, 1 };
	PGresult *res;

	snprintf(size, sizeof(size), "%zu", b->size);
	res = db_query_binary(db, sql_raw, 7, values, lengths, formats, PGRES_TUPLES_OK,
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

/* store_event - insert one recipient's event; *inserted_r is 0 or 1 */
static int
store_event(struct db *db, const struct store_bounce *b, const struct report *r,
	    const struct report_rcpt *rc, const char *raw_id, int *inserted_r, char **error_r)
{
	char reply[8], key[65], nrcpt[24];
	char *diag = utf8_copy(rc->diagnostic, LIMIT_DIAGNOSTIC_LEN);
	char *remote = utf8_copy(rc->remote_mta, 255);
	char *reporting = utf8_copy(r->reporting_mta, 255);
	char *recipient = utf8_copy(rc->recipient, LIMIT_ADDRESS_LEN);
	char *orig_qid = utf8_copy(r->orig_queue_id, 32);
	char *orig_mid = utf8_copy(r->orig_message_id, 998);
	char *action = utf8_copy(rc->action, 32);
	char *fbtype = utf8_copy(rc->feedback_type, 64);
	const char *values[26];
	PGresult *res;

	snprintf(reply, sizeof(reply), "%d", rc->reply_code);
	store_dedup_key(b->identity, rc, key);
	values[0] = kind_name(rc->kind);
	values[1] = rc->sync ? "t" : "f";
	values[2] = "pipe";
	values[3] = recipient;
	values[4] = reason_name(rc->reason);
	values[5] = reason_category(rc->reason);
	values[6] = rc->hard ? "t" : "f";
	values[7] = rc->status[0] != '\0' ? rc->status : NULL;
	values[8] = rc->reply_code > 0 ? reply : NULL;
	values[9] = action;
	values[10] = diag;
	values[11] = remote;
	values[12] = reporting;
	values[13] = fbtype;
	values[14] = rc->rule;
	values[15] = b->queue_id;
	values[16] = orig_qid;
	values[17] = b->bounce_address;
	values[18] = b->token;
	values[19] = orig_mid;
	values[20] = raw_id;
	values[21] = key;
	/* A single-recipient token names the recipient even when the report does not. */
	values[22] = b->single_recipient ? "t" : "f";
	/*
	 * Classic VERP names the recipient the bounce is about; a report that
	 * names the same one is as good as VERP itself.  Everything else
	 * starts unverified, and the database looks at the token.
	 */
	values[23] = b->verp_recipient != NULL && rc->recipient != NULL &&
				     strcasecmp(b->verp_recipient, rc->recipient) == 0
			     ? "verp"
			     : "unverified";
	values[24] = b->token != NULL && b->token_valid ? "t" : "f";
	snprintf(nrcpt, sizeof(nrcpt), "%zu", b->report_recipients);
	values[25] = nrcpt;
	res = db_query(db, sql_event, 26, values, PGRES_TUPLES_OK, error_r);
	free(diag);
	free(remote);
	free(reporting);
	free(recipient);
	free(orig_qid);
	free(orig_mid);
	free(action);
	free(fbtype);
	if (res == NULL)
		return -1;
	*inserted_r = PQntuples(res);
	PQclear(res);
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
