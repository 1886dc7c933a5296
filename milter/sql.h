/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_MILTER_SQL_H
#define REBOUND_MILTER_SQL_H

/*
 * sql - every statement rebound-milter sends to PostgreSQL, in one place:
 * the writer's batch statements (writer_sql.c builds their parameters)
 * and the suppression list's queries (suppress.c).  What rebound-pipe
 * stores is in common/store/store.c; the
 * schema is sql/rebound.sql.
 */

/*
 * Each statement stores a whole batch: its parameters are arrays, one per
 * column, and a statement is a transaction of its own, so a batch costs
 * PostgreSQL one round trip per kind of record.  Recipients name their
 * message by token, which is unique.  A record keeps the time it was made
 * (made_us, microseconds since the epoch), so that one replayed from the
 * spool is stored with the time it was sent.
 *
 * A bounce that came before its message's record made the message's row
 * from its token (rebound-pipe): the record completes that row, and the
 * trigger on rebound.recipients (migration 006) links the bounce's event
 * to its recipient and judges its provenance.
 */
static const char sql_messages[] =
	"WITH m AS ("
	" INSERT INTO rebound.messages (token, queue_id, message_id_header, envelope_sender, tags,"
	" created_at)"
	" SELECT x.token, x.queue_id, x.message_id_header, x.envelope_sender,"
	" coalesce(x.tags, '{}'), coalesce(to_timestamp(x.made_us::float8 / 1000000), now())"
	" FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::bigint[])"
	" AS x (token, queue_id, message_id_header, envelope_sender, tags, made_us)"
	" ON CONFLICT (token) DO UPDATE SET queue_id = EXCLUDED.queue_id,"
	" message_id_header = EXCLUDED.message_id_header,"
	" envelope_sender = EXCLUDED.envelope_sender, tags = EXCLUDED.tags,"
	" created_at = EXCLUDED.created_at"
	" RETURNING id, token)"
	" INSERT INTO rebound.recipients (message_id, address)"
	" SELECT m.id, x.address FROM m JOIN unnest($7::text[], $8::text[]) AS x (token, address)"
	" ON x.token = m.token"
	" ON CONFLICT (message_id, address) DO NOTHING";

/* Postfix's own refusals and the milter's: our own MTA's findings, verified. */
static const char sql_events[] =
	"INSERT INTO rebound.events (kind, sync, source, provenance, dedup_key, recipient, status,"
	" reply_code, diagnostic, queue_id, rule, reason, category, hard, received_at)"
	" SELECT 'rejected', true, 'milter', 'verified', e.dedup_key, e.recipient, e.status,"
	" e.reply_code::smallint, e.diagnostic, e.queue_id, e.rule, e.reason, e.category,"
	" e.hard::boolean, coalesce(to_timestamp(e.made_us::float8 / 1000000), now())"
	" FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
	" $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[])"
	" AS e (dedup_key, recipient, status, reply_code, diagnostic, queue_id, rule, reason,"
	" category, hard, made_us)"
	" ON CONFLICT (dedup_key) DO NOTHING";

/* The whole suppression list, loaded at start and after a reconnection. */
static const char sql_suppressions[] = "SELECT address, reason FROM rebound.suppressions";

/* One address, after a NOTIFY on the channel below said it changed. */
static const char sql_suppression[] =
	"SELECT reason FROM rebound.suppressions WHERE address = $1";

static const char sql_listen[] = "LISTEN rebound_suppressions";

#endif
