-- revisions.sql - event drafts, the retention of raw copies, reclassify
-- runs and their undo, rule telemetry (pgTAP).  Run by
-- tests/integration/sql.t in a transaction that is rolled back.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
SET client_min_messages = error;
BEGIN;
SELECT plan(29);

-- draft - what rebound-pipe would record for one recipient of raw copy p_raw
CREATE FUNCTION pg_temp.draft(p_raw bigint, p_recipient text, p_reason text, p_hard boolean,
                              p_token text DEFAULT NULL, p_key text DEFAULT NULL,
                              p_kind text DEFAULT 'bounced') RETURNS rebound.events
LANGUAGE sql AS $$
    SELECT rebound.event_draft(p_kind, false, 'pipe', p_recipient, p_reason, 'x', p_hard,
                               '5.1.1', 550::smallint, 'failed', '550 5.1.1 no', 'mx.x.example',
                               'mx.x.example', NULL, 'test.' || p_reason, 'Q1', NULL,
                               'bounces@bounce.example', p_token, NULL, p_raw,
                               coalesce(p_key, p_raw || '/' || coalesce(p_recipient, '-') || '/' || p_kind),
                               false, 'verified', p_token IS NOT NULL, 1, 'digest-new')
$$;
-- record - a draft inserted as rebound-pipe inserts it
CREATE FUNCTION pg_temp.record(d rebound.events) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO rebound.events (kind, sync, source, recipient, reason, category, hard, status,
        reply_code, action, diagnostic, remote_mta, reporting_mta, rule, queue_id, bounce_address,
        raw_message_id, dedup_key, message_id, recipient_id, provenance, token_verified,
        report_recipients, rules_digest)
    VALUES (d.kind, d.sync, d.source, d.recipient, d.reason, d.category, d.hard, d.status,
        d.reply_code, d.action, d.diagnostic, d.remote_mta, d.reporting_mta, d.rule, d.queue_id,
        d.bounce_address, d.raw_message_id, d.dedup_key, d.message_id, d.recipient_id,
        d.provenance, d.token_verified, d.report_recipients, 'digest-old')
    RETURNING id
$$;
CREATE FUNCTION pg_temp.raw(p_id bigint, p_age interval DEFAULT '0') RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO rebound.raw_messages (id, received_at, envelope_recipient, size, truncated, digest,
                                      content)
    VALUES (p_id, now() - p_age, 'bounces@bounce.example', 3, false, 'd' || p_id, '\x616263')
    RETURNING id
$$;
-- everything a run may touch, as one value
CREATE FUNCTION pg_temp.state() RETURNS text
LANGUAGE sql AS $$
    SELECT concat_ws(' | ',
        (SELECT string_agg(e::text, ',' ORDER BY id) FROM rebound.events e),
        (SELECT string_agg(s::text, ',' ORDER BY address) FROM rebound.suppressions s),
        (SELECT string_agg(p::text, ',' ORDER BY address) FROM rebound.provisional_suppressions p),
        (SELECT string_agg(r::text, ',' ORDER BY address) FROM rebound.soft_resets r))
$$;

-- Drafts ----------------------------------------------------------------------
INSERT INTO rebound.messages (id, token) VALUES (8001, 'tok-8001');
INSERT INTO rebound.recipients (message_id, address) VALUES (8001, 'ann@a.example');
SELECT is((pg_temp.draft(NULL, 'ann@a.example', 'userunknown', true, 'tok-8001')).message_id,
          8001::bigint, 'a draft is linked to the message its token names');
SELECT is((pg_temp.draft(NULL, 'ann@a.example', 'userunknown', true, 'tok-8001')).recipient_id,
          (SELECT id FROM rebound.recipients WHERE address = 'ann@a.example'),
          'and to its recipient');
SELECT isnt((pg_temp.draft(NULL, 'x@a.example', 'userunknown', true, 'tok-new')).message_id,
            NULL, 'a valid token whose message is not recorded yet makes its row');
SELECT is((SELECT count(*)::integer FROM rebound.events), 0, 'a draft inserts no event');

-- Reclassify: a hard failure that was a block ---------------------------------------
SELECT pg_temp.raw(9001), pg_temp.raw(9002), pg_temp.raw(9003);
SELECT pg_temp.record(pg_temp.draft(9001, 'bob@b.example', 'userunknown', true));
SELECT pg_temp.record(pg_temp.draft(9002, 'cat@c.example', 'userunknown', true));
SELECT pg_temp.record(pg_temp.draft(9002, 'cat@c.example', 'userunknown', true,
                                    p_key => 'second report of cat'));
SELECT pg_temp.record(pg_temp.draft(9003, NULL, 'undefined', false, p_kind => 'unknown'));
SELECT is((SELECT string_agg(address, ',' ORDER BY address) FROM rebound.suppressions),
          'bob@b.example,cat@c.example', 'two unknown users suppressed');
CREATE TEMP TABLE before AS SELECT pg_temp.state() AS s;

SELECT rebound.reclassify_begin('tester', 'digest-new', NULL, NULL) AS run \gset
INSERT INTO pg_temp.reclassify_draft VALUES
    (9001, 0, pg_temp.draft(9001, 'bob@b.example', 'blocked', false)),
    (9002, 0, pg_temp.draft(9002, 'cat@c.example', 'blocked', false)),
    (9003, 0, pg_temp.draft(9003, 'dan@d.example', 'mailboxfull', false)),
    (9003, 1, pg_temp.draft(9003, 'eve@e.example', 'userunknown', true));
SELECT is(rebound.reclassify_apply(:run, '{"raw": 3}') - 'suppressed' - 'released',
          '{"raw": 3, "kept": 1, "events": 4, "changed": 3, "inserted": 1, "unchanged": 0}'::jsonb,
          'the run counts its changes');
SELECT is((SELECT reason || '/' || hard || '/' || rules_digest FROM rebound.events
            WHERE raw_message_id = 9001), 'blocked/false/digest-new',
          'the event says what the bounce means now, with the rules that say it');
SELECT ok(NOT rebound.is_suppressed('bob@b.example'),
          'bob: suppressed by that event alone, released');
SELECT is((SELECT event_id FROM rebound.suppressions WHERE address = 'cat@c.example'),
          (SELECT max(id) FROM rebound.events WHERE recipient = 'cat@c.example'),
          'cat: still suppressed, on the strength of the other report');
SELECT is((SELECT string_agg(recipient || ':' || kind || ':' || reason, ',' ORDER BY id)
             FROM rebound.events WHERE raw_message_id = 9003),
          'dan@d.example:bounced:mailboxfull,eve@e.example:bounced:userunknown',
          'a report nobody could read: its event revised, a recipient it names now added');
SELECT ok(rebound.is_suppressed('eve@e.example'), 'the added event goes through the policy');
SELECT is((SELECT counts->>'released' FROM rebound.reclassify_runs WHERE id = :run), '1',
          'the run counts one address released');
SELECT is((SELECT actor FROM rebound.suppression_history
            WHERE address = 'bob@b.example' AND action = 'remove'),
          'reclassify run ' || :run, 'the release is recorded with the run as actor');
SELECT is((SELECT source FROM rebound.suppression_history
            WHERE address = 'bob@b.example' AND action = 'remove'), 'policy',
          'as the policy''s change');
SELECT is((SELECT count(*)::integer FROM rebound.soft_resets WHERE address = 'bob@b.example'), 0,
          'which does not start the soft-failure count again');
SELECT is((SELECT string_agg(old || ' -> ' || new, ',' ORDER BY event)
             FROM rebound.reclassify_diff(:run)),
          'bounced userunknown hard -> bounced blocked soft,'
          'bounced userunknown hard -> bounced blocked soft,'
          'unknown undefined soft -> bounced mailboxfull soft,'
          '(new event) -> bounced userunknown hard',
          'reclassify_diff: every change of verdict and every new event');

-- Undo --------------------------------------------------------------------------
SELECT is(rebound.reclassify_undo(:run, 'tester'),
          jsonb_build_object('run', :run, 'events', 4, 'addresses', 3, 'left', 0),
          'undo restores four events and three addresses: bob released, cat''s entry '
          'naming the other report, eve added');
SELECT is(pg_temp.state(), (SELECT s FROM before), 'every row is back byte for byte');
SELECT throws_ok(format('SELECT rebound.reclassify_undo(%s)', :run), '22023', NULL,
                 'a run is undone once');
SELECT throws_ok('SELECT rebound.reclassify_undo(-1)', 'P0002', NULL, 'an unknown run cannot be');

-- A later run of the same events is undone first ------------------------------------
SELECT rebound.reclassify_begin('tester', 'digest-2', NULL, NULL) AS run2 \gset
INSERT INTO pg_temp.reclassify_draft VALUES
    (9001, 0, pg_temp.draft(9001, 'bob@b.example', 'blocked', false));
SELECT rebound.reclassify_apply(:run2);
DROP TABLE pg_temp.reclassify_draft;
SELECT rebound.reclassify_begin('tester', 'digest-3', NULL, NULL) AS run3 \gset
INSERT INTO pg_temp.reclassify_draft VALUES
    (9001, 0, pg_temp.draft(9001, 'bob@b.example', 'mailboxfull', false));
SELECT rebound.reclassify_apply(:run3);
SELECT throws_ok(format('SELECT rebound.reclassify_undo(%s)', :run2), '22023', NULL,
                 'a run whose events a later run changed again waits for that one''s undo');
SELECT lives_ok(format('SELECT rebound.reclassify_undo(%s); SELECT rebound.reclassify_undo(%s)',
                       :run3, :run2), 'undone in turn');
SELECT is(pg_temp.state(), (SELECT s FROM before), 'and the rows are as they were');

-- Retention ---------------------------------------------------------------------
SELECT pg_temp.raw(9101, '100 days'), pg_temp.raw(9102, '100 days'), pg_temp.raw(9103, '10 days'),
       pg_temp.raw(9104, '100 days');
SELECT pg_temp.record(pg_temp.draft(9101, 'old@o.example', 'mailboxfull', false));
SELECT pg_temp.record(pg_temp.draft(9102, NULL, 'undefined', false, p_kind => 'unknown'));
SELECT pg_temp.record(pg_temp.draft(9104, NULL, 'undefined', false, p_kind => 'unknown'));
INSERT INTO rebound.reviews (event_id) SELECT id FROM rebound.events WHERE raw_message_id = 9104;
SELECT is(rebound.purge_raw(), 2::bigint, 'purge_raw drops two copies older than 90 days');
SELECT is((SELECT string_agg(id::text, ',' ORDER BY id) FROM rebound.raw_messages WHERE id > 9100),
          '9102,9103', 'keeping a newer one, and an unreadable one that awaits review');
SELECT is((SELECT count(*)::integer FROM rebound.events
            WHERE recipient = 'old@o.example' AND raw_message_id IS NULL), 1,
          'the event of a dropped copy stays');
SELECT is(rebound.purge_raw(5), 1::bigint, 'purge_raw(days) overrides the setting');

-- Telemetry ---------------------------------------------------------------------
SELECT is((SELECT events FROM rebound.rule_decisions WHERE rule = 'test.userunknown'
             AND day = current_date), 3::bigint, 'rule_decisions: decisions per rule per day');
SELECT is((SELECT template || ' ' || events FROM rebound.unexplained_replies),
          NULL, 'unknown reports are not replies a rule missed');

SELECT * FROM finish();
ROLLBACK;
