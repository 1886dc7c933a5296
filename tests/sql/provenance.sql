-- provenance.sql - how far an event is corroborated, and the policy acting
-- on evidence only (pgTAP).  Run by tests/integration/sql.t in a
-- transaction that is rolled back.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
SET client_min_messages = error;
BEGIN;
SELECT plan(40);

-- A message the milter recorded: token t1, two recipients; t2 one recipient.
INSERT INTO rebound.messages (id, token) VALUES (7001, 't1'), (7002, 't2'), (7003, 't3');
INSERT INTO rebound.recipients (message_id, address) VALUES
    (7001, 'ann@a.example'), (7001, 'bea@a.example'), (7002, 'cat@c.example');

-- ev - an event as rebound-pipe records it.
CREATE FUNCTION pg_temp.ev(p_kind text, p_recipient text, p_hard boolean,
                           p_message bigint DEFAULT NULL, p_token boolean DEFAULT false,
                           p_provenance text DEFAULT 'unverified', p_count integer DEFAULT 1,
                           p_sync boolean DEFAULT false, p_reason text DEFAULT 'userunknown',
                           p_feedback text DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO rebound.events (kind, sync, source, recipient, reason, hard, message_id,
                                token_verified, provenance, report_recipients, feedback_type,
                                dedup_key)
    VALUES (p_kind, p_sync, 'pipe', p_recipient, p_reason, p_hard, p_message, p_token,
            p_provenance, p_count, p_feedback, gen_random_uuid()::text)
    RETURNING id
$$;
CREATE FUNCTION pg_temp.prov(p_id bigint) RETURNS text
LANGUAGE sql AS $$ SELECT provenance FROM rebound.events WHERE id = p_id $$;
CREATE FUNCTION pg_temp.suppressed(p_address text) RETURNS boolean
LANGUAGE sql AS $$ SELECT EXISTS (SELECT 1 FROM rebound.suppressions WHERE address = p_address) $$;

SELECT has_column('rebound', 'events', 'provenance', 'events carry their provenance');
SELECT throws_ok($$INSERT INTO rebound.events (kind, sync, source, dedup_key, provenance)
                   VALUES ('bounced', false, 'pipe', 'x', 'trusted')$$,
                 '23514', NULL, 'provenance is one of three words');
SELECT is((SELECT provenance FROM rebound.events WHERE false UNION ALL
           SELECT column_default FROM information_schema.columns
            WHERE table_schema = 'rebound' AND table_name = 'events'
              AND column_name = 'provenance'), '''unverified''::text',
          'an event is unverified unless its writer or the evidence says more');

-- verified: a valid token and a recipient of that message ----------------------
SELECT is(pg_temp.prov(pg_temp.ev('bounced', 'ann@a.example', true, 7001, true)), 'verified',
          'valid token, recorded recipient: verified');
SELECT ok(pg_temp.suppressed('ann@a.example'), 'a verified hard failure suppresses');
SELECT is((SELECT rc.address FROM rebound.events e JOIN rebound.recipients rc ON rc.id = e.recipient_id
            WHERE e.recipient = 'ann@a.example'), 'ann@a.example', 'and is linked to its recipient');

-- unverified: a recipient the message never had --------------------------------
SELECT is(pg_temp.prov(pg_temp.ev('bounced', 'victim@v.example', true, 7001, true)), 'unverified',
          'valid token, a recipient the message never had: unverified');
SELECT ok(NOT pg_temp.suppressed('victim@v.example'), 'an unverified hard failure suppresses nobody');
SELECT is((SELECT problem FROM rebound.awaiting_review WHERE recipient = 'victim@v.example'),
          'unverified', 'it is listed for review');

-- unverified: more recipients than the message had -----------------------------
SELECT is(pg_temp.prov(pg_temp.ev('bounced', 'bea@a.example', true, 7001, true, p_count => 3)),
          'unverified', 'a report naming more recipients than the message had: unverified');
SELECT ok(NOT pg_temp.suppressed('bea@a.example'), 'even for a real recipient of it');

-- unverified: no token, or an expired one --------------------------------------
SELECT is(pg_temp.prov(pg_temp.ev('bounced', 'bea@a.example', true, 7001, false)), 'unverified',
          'no valid token (expired, forged or none): unverified');
SELECT ok(NOT pg_temp.suppressed('bea@a.example'), 'and it suppresses nobody');
SELECT is(pg_temp.prov(pg_temp.ev('bounced', 'dan@d.example', true)), 'unverified',
          'no message at all: unverified');

-- the token's own recipient ------------------------------------------------------
SELECT is(pg_temp.prov(pg_temp.ev('bounced', 'cat.forward@elsewhere.example', true, 7002, true)),
          'verified', 'one recipient, one named: the event is that recipient''s');
SELECT is((SELECT recipient || '|' || reported_recipient FROM rebound.events
            WHERE reported_recipient = 'cat.forward@elsewhere.example'),
          'cat@c.example|cat.forward@elsewhere.example',
          'attributed to the recorded recipient; the named address kept');
SELECT ok(pg_temp.suppressed('cat@c.example') AND NOT pg_temp.suppressed('cat.forward@elsewhere.example'),
          'the recorded recipient is suppressed, never the address the report chose');

-- verp ---------------------------------------------------------------------------
-- The messages above carry tokens: with trust_verp = auto, classic VERP
-- is then no evidence.
SELECT pg_temp.ev('bounced', 'vera@v.example', true, p_provenance => 'verp');
SELECT ok(NOT pg_temp.suppressed('vera@v.example'),
          'auto: verp suppresses nobody while messages carry our tokens');
UPDATE rebound.settings SET value = 'on' WHERE name = 'trust_verp';
SELECT pg_temp.ev('bounced', 'vera@v.example', true, p_provenance => 'verp');
SELECT ok(pg_temp.suppressed('vera@v.example'), 'on: verp suppresses');
UPDATE rebound.settings SET value = 'off' WHERE name = 'trust_verp';
SELECT pg_temp.ev('bounced', 'vic@v.example', true, p_provenance => 'verp');
SELECT ok(NOT pg_temp.suppressed('vic@v.example'), 'off: verp suppresses nobody');
SELECT pg_temp.ev('bounced', 'vim@v.example', false, p_provenance => 'verp', p_reason => 'mailboxfull')
  FROM generate_series(1, 6);
SELECT ok(NOT pg_temp.suppressed('vim@v.example')
          AND NOT EXISTS (SELECT 1 FROM rebound.soft_failure_counts WHERE address = 'vim@v.example'),
          'nor do its soft failures count');
UPDATE rebound.settings SET value = 'auto' WHERE name = 'trust_verp';
SELECT throws_ok($$UPDATE rebound.settings SET value = 'maybe' WHERE name = 'trust_verp'$$,
                 '22023', NULL, 'trust_verp takes on, off or auto');

-- soft failures ----------------------------------------------------------------
SELECT pg_temp.ev('bounced', 'sue@s.example', false, p_reason => 'mailboxfull')
  FROM generate_series(1, 6);
SELECT ok(NOT pg_temp.suppressed('sue@s.example'), 'unverified soft failures never suppress');
SELECT is((SELECT count(*)::int FROM rebound.soft_failure_counts WHERE address = 'sue@s.example'), 0,
          'and are not counted');
SELECT is((SELECT sum(unverified)::int FROM rebound.failures_by_day), 10,
          'but the views count them: victim, bea twice, dan and sue six times');

-- complaints only with a token -----------------------------------------------------
SELECT pg_temp.ev('complaint', 'bea@a.example', false, p_provenance => 'verp', p_reason => 'feedback',
                  p_feedback => 'abuse');
SELECT ok(NOT pg_temp.suppressed('bea@a.example'), 'a complaint to a VERP address suppresses nobody');
SELECT pg_temp.ev('complaint', 'zed@z.example', false, p_reason => 'feedback', p_feedback => 'abuse');
SELECT is((SELECT problem FROM rebound.awaiting_review WHERE recipient = 'zed@z.example'),
          'unverified', 'an unverified complaint is listed for review');
SELECT is(pg_temp.prov(pg_temp.ev('complaint', 'bea@a.example', false, 7001, true,
                                  p_reason => 'feedback', p_feedback => 'abuse')),
          'verified', 'a complaint about a message with our token, for its recipient');
SELECT ok(pg_temp.suppressed('bea@a.example'), 'suppresses');

-- domain-wide only from our own synchronous finding ---------------------------------
SELECT pg_temp.ev('rejected', 'x@nodomain.example', true, p_sync => true, p_reason => 'hostunknown');
SELECT ok(NOT pg_temp.suppressed('nodomain.example') AND NOT pg_temp.suppressed('x@nodomain.example'),
          'an unverified synchronous unknown domain suppresses nothing');
UPDATE rebound.settings SET value = 'on' WHERE name = 'trust_verp';
SELECT pg_temp.ev('bounced', 'x@gone.example', true, p_provenance => 'verp', p_reason => 'hostunknown');
SELECT ok(pg_temp.suppressed('x@gone.example') AND NOT pg_temp.suppressed('gone.example'),
          'a remote report of an unknown domain suppresses the address, never the domain');
SELECT pg_temp.ev('rejected', 'y@gone2.example', true, p_provenance => 'verp', p_sync => true,
                  p_reason => 'hostunknown');
SELECT ok(pg_temp.suppressed('gone2.example'), 'our own Postfix finding it, trusted: the domain');
UPDATE rebound.settings SET value = 'auto' WHERE name = 'trust_verp';

-- a bounce before its message's recipients: judged again when they come ------------
SELECT pg_temp.ev('bounced', 'pat@p.example', true, 7003, true);
SELECT ok(NOT pg_temp.suppressed('pat@p.example'), 'before the milter''s record: not yet');
SELECT is((SELECT provenance FROM rebound.events WHERE recipient = 'pat@p.example'), 'unverified',
          'and unverified for now');
INSERT INTO rebound.recipients (message_id, address) VALUES (7003, 'pat@p.example');
SELECT is((SELECT provenance FROM rebound.events WHERE recipient = 'pat@p.example'), 'verified',
          'the recipients arrive: verified');
SELECT ok(pg_temp.suppressed('pat@p.example'), 'and the policy acts then');
INSERT INTO rebound.messages (id, token) VALUES (7004, 't4');
SELECT pg_temp.ev('bounced', 'mallory@m.example', true, 7004, true);
SELECT pg_temp.ev('bounced', 'quinn@q.example', true, 7004, true);
SELECT pg_temp.ev('bounced', 'rita@q.example', false, 7004, false, p_reason => 'mailboxfull');
INSERT INTO rebound.recipients (message_id, address) VALUES
    (7004, 'quinn@q.example'), (7004, 'rita@q.example');
SELECT ok((SELECT recipient_id IS NOT NULL AND provenance = 'unverified' FROM rebound.events
            WHERE recipient = 'rita@q.example'),
          'a report with no token is linked to its recipient when the recipients come, unverified');
SELECT is((SELECT string_agg(recipient || ':' || provenance, ',' ORDER BY recipient)
             FROM rebound.events WHERE message_id = 7004 AND token_verified),
          'mallory@m.example:unverified,quinn@q.example:verified',
          'when the recipients arrive, only the ones the message had become verified');

-- the notification says it -----------------------------------------------------------
SELECT is((rebound.event_payload(e)::json)->>'provenance', 'verified', 'the payload names the provenance')
  FROM rebound.events e WHERE recipient = 'ann@a.example';

-- auto, at a site that signs nothing -------------------------------------------------
UPDATE rebound.messages SET token = NULL;
SELECT pg_temp.ev('bounced', 'walt@w.example', true, p_provenance => 'verp');
SELECT ok(pg_temp.suppressed('walt@w.example'),
          'auto: with no signed message at all, classic VERP is the evidence there is');

SELECT * FROM finish();
ROLLBACK;
