-- policy.sql - the suppression policy, one rule at a time (pgTAP).
-- Run by tests/integration/sql.t in a transaction that is rolled back.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
SET client_min_messages = error;
BEGIN;
SELECT plan(70);

-- ev - record an event as a writer would; returns its id.  Events are
-- verified unless a test says otherwise: provenance has tests of its own
-- (provenance.sql).
CREATE FUNCTION pg_temp.ev(p_kind text, p_recipient text, p_reason text DEFAULT NULL,
                           p_hard boolean DEFAULT false, p_sync boolean DEFAULT false,
                           p_source text DEFAULT 'pipe', p_rule text DEFAULT NULL,
                           p_feedback text DEFAULT NULL, p_age interval DEFAULT '0',
                           p_status text DEFAULT NULL,
                           p_provenance text DEFAULT 'verified') RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO rebound.events (kind, sync, source, recipient, reason, hard, rule,
                                feedback_type, status, received_at, dedup_key, provenance)
    VALUES (p_kind, p_sync, p_source, p_recipient, p_reason, p_hard, p_rule, p_feedback,
            p_status, now() - p_age, gen_random_uuid()::text, p_provenance)
    RETURNING id
$$;

-- entry - basis|reason|source of an address's suppression, or NULL.
CREATE FUNCTION pg_temp.entry(p_address text) RETURNS text
LANGUAGE sql AS $$
    SELECT basis || '|' || reason || '|' || source FROM rebound.suppressions
     WHERE address = p_address
$$;

CREATE FUNCTION pg_temp.suppressed(p_address text) RETURNS boolean
LANGUAGE sql AS $$ SELECT EXISTS (SELECT 1 FROM rebound.suppressions WHERE address = p_address) $$;

-- The schema ----------------------------------------------------------------
SELECT has_table('rebound', 'settings', 'settings table');
SELECT has_table('rebound', 'suppression_history', 'suppression history table');
SELECT has_trigger('rebound', 'events', 'events_policy', 'policy trigger on events');
SELECT has_column('rebound', 'suppressions', 'basis', 'suppressions say why');
SELECT results_eq(
    $$SELECT name, value FROM rebound.settings
       WHERE name <> 'soft_ignore_reasons' ORDER BY name$$,
    $$VALUES ('incident_auto_outcome', 'sender_side'), ('incident_close_hours', '72'),
             ('incident_minutes', '60'), ('incident_recipients', '50'),
             ('incident_share', '30'), ('raw_retention_days', '90'),
             ('report_days', '30'), ('soft_failure_days', '30'), ('soft_failure_limit', '5'),
             ('suppress_unknown_domains', 'on'), ('trust_verp', 'auto')$$,
    'documented defaults');
SELECT ok(rebound.setting_list('soft_ignore_reasons') @> ARRAY['blocked', 'badreputation', 'spamdetected'],
          'reputation and content blocks are not counted by default');
SELECT ok(NOT rebound.setting_list('soft_ignore_reasons') && ARRAY['mailboxfull', 'expired', 'suspend', 'undefined'],
          'address-related soft reasons are counted by default');

-- Hard failures and complaints: at once ------------------------------------
SELECT pg_temp.ev('bounced', 'hard1@a.example', 'userunknown', true, p_status => '5.1.1');
SELECT is(pg_temp.entry('hard1@a.example'), 'hard|userunknown|policy', 'a hard failure suppresses at once');
SELECT is((SELECT s.event_id FROM rebound.suppressions s WHERE address = 'hard1@a.example'),
          (SELECT max(id) FROM rebound.events WHERE recipient = 'hard1@a.example'),
          'the entry names the event that caused it');
SELECT is((SELECT action || '|' || source || '|' || coalesce(actor, '-') || '|' || note
             FROM rebound.suppression_history WHERE address = 'hard1@a.example'),
          'add|policy|-|5.1.1', 'history records the policy addition');
SELECT pg_temp.ev('rejected', 'hard2@a.example', 'hasmoved', true, true);
SELECT is(pg_temp.entry('hard2@a.example'), 'hard|hasmoved|policy', 'a synchronous hard rejection suppresses');
SELECT pg_temp.ev('bounced', 'hard1@a.example', 'userunknown', true);
SELECT is((SELECT count(*)::int FROM rebound.suppression_history WHERE address = 'hard1@a.example'),
          1, 'a second hard failure changes nothing');

SELECT pg_temp.ev('complaint', 'cmp1@b.example', 'feedback', p_feedback => 'abuse');
SELECT is(pg_temp.entry('cmp1@b.example'), 'complaint|feedback|policy', 'a complaint suppresses at once');
SELECT pg_temp.ev('complaint', 'cmp2@b.example', 'feedback');
SELECT is(pg_temp.entry('cmp2@b.example'), 'complaint|feedback|policy',
          'a complaint without Feedback-Type suppresses');
SELECT pg_temp.ev('complaint', 'cmp3@b.example', 'feedback', p_feedback => 'not-spam');
SELECT pg_temp.ev('complaint', 'cmp4@b.example', 'feedback', p_feedback => 'auth-failure');
SELECT ok(NOT pg_temp.suppressed('cmp3@b.example') AND NOT pg_temp.suppressed('cmp4@b.example'),
          'not-spam and auth-failure reports are not complaints');

-- Soft failures: N within M days ---------------------------------------------
SELECT pg_temp.ev('bounced', 'soft1@c.example', 'mailboxfull') FROM generate_series(1, 4);
SELECT ok(NOT pg_temp.suppressed('soft1@c.example'), 'four soft failures: not suppressed');
SELECT is((SELECT failures::int FROM rebound.soft_failure_counts WHERE address = 'soft1@c.example'),
          4, 'soft_failure_counts shows the count');
SELECT pg_temp.ev('bounced', 'soft1@c.example', 'mailboxfull');
SELECT is(pg_temp.entry('soft1@c.example'), 'soft|mailboxfull|policy', 'the fifth suppresses');
SELECT is((SELECT note FROM rebound.suppressions WHERE address = 'soft1@c.example'),
          '5 soft failures within 30 days', 'the note says why');

SELECT pg_temp.ev('bounced', 'soft2@c.example', 'mailboxfull', p_age => '40 days')
  FROM generate_series(1, 4);
SELECT pg_temp.ev('bounced', 'soft2@c.example', 'mailboxfull');
SELECT ok(NOT pg_temp.suppressed('soft2@c.example'), 'failures older than the window do not count');

SELECT pg_temp.ev('expired', 'exp1@c.example', 'expired', p_status => '4.4.7')
  FROM generate_series(1, 5);
SELECT is(pg_temp.entry('exp1@c.example'), 'soft|expired|policy', 'expiries count as soft failures');
SELECT pg_temp.ev('expired', 'exp2@c.example', 'blocked') FROM generate_series(1, 5);
SELECT is(pg_temp.entry('exp2@c.example'), 'soft|blocked|policy',
          'an expiry counts whatever its reason');
SELECT pg_temp.ev('bounced', 'mix1@c.example', 'mailboxfull') FROM generate_series(1, 3);
SELECT pg_temp.ev('expired', 'mix1@c.example', 'expired') FROM generate_series(1, 2);
SELECT is(pg_temp.entry('mix1@c.example'), 'soft|expired|policy', 'bounces and expiries add up');

SELECT pg_temp.ev('delayed', 'dly1@c.example', 'expired', p_status => '4.2.0')
  FROM generate_series(1, 10);
SELECT pg_temp.ev('auto_reply', 'dly1@c.example', 'vacation') FROM generate_series(1, 10);
SELECT pg_temp.ev('unknown', 'dly1@c.example') FROM generate_series(1, 10);
SELECT ok(NOT pg_temp.suppressed('dly1@c.example'), 'delay notices, auto-replies and unknown reports never count');
SELECT is((SELECT count(*)::int FROM rebound.soft_failure_counts WHERE address = 'dly1@c.example'),
          0, 'and are not in the count');

SELECT pg_temp.ev('bounced', 'blk1@c.example', 'blocked') FROM generate_series(1, 6);
SELECT pg_temp.ev('rejected', 'blk1@c.example', 'spamdetected', p_sync => true) FROM generate_series(1, 6);
SELECT ok(NOT pg_temp.suppressed('blk1@c.example'), 'reasons in soft_ignore_reasons do not count');

SELECT pg_temp.ev('bounced', 'dlv1@c.example', 'mailboxfull') FROM generate_series(1, 4);
SELECT pg_temp.ev('delivered', 'dlv1@c.example', 'delivered');
SELECT pg_temp.ev('bounced', 'dlv1@c.example', 'mailboxfull') FROM generate_series(1, 4);
SELECT ok(NOT pg_temp.suppressed('dlv1@c.example'), 'a successful delivery resets the count');
SELECT is((SELECT failures::int FROM rebound.soft_failure_counts WHERE address = 'dlv1@c.example'),
          4, 'only failures after the delivery count');
SELECT pg_temp.ev('bounced', 'dlv1@c.example', 'mailboxfull');
SELECT is(pg_temp.entry('dlv1@c.example'), 'soft|mailboxfull|policy', 'five after the delivery suppress');

-- Manual actions ---------------------------------------------------------------
SELECT ok(rebound.suppress('  <Person@Example.ORG> ', 'unsubscribed', 'alice', 'asked by phone'),
          'manual add');
SELECT is((SELECT reason || '|' || basis || '|' || source || '|' || actor || '|' || note
             FROM rebound.suppressions WHERE address = 'person@example.org'),
          'unsubscribed|manual|manual|alice|asked by phone', 'stored lower case with reason and actor');
SELECT is((SELECT action || '|' || source || '|' || actor FROM rebound.suppression_history
            WHERE address = 'person@example.org'), 'add|manual|alice', 'history names the actor');
SELECT ok(NOT rebound.suppress('person@example.org'), 'adding it again returns false');
SELECT is(rebound.suppress('other@example.org', NULL, NULL, NULL), true, 'reason and actor are optional');
SELECT is((SELECT reason || '|' || actor FROM rebound.suppressions WHERE address = 'other@example.org'),
          'manual|' || session_user, 'default reason and actor');
SELECT throws_ok($$SELECT rebound.suppress('not an address')$$, '22023', NULL, 'an invalid address is refused');
SELECT throws_ok($$SELECT rebound.suppress('a@b@c.example')$$, '22023', NULL, 'two @ are refused');
SELECT throws_ok($$SELECT rebound.suppress('nodot')$$, '22023', NULL, 'a bare word is not a domain');
SELECT throws_ok($$SELECT rebound.suppress('r@x.example', E'spam\r\n250 ok')$$, '22023', NULL,
                 'a reason is one word, never a line break');

SELECT ok(rebound.unsuppress('soft1@c.example', 'bob', 'mailbox cleaned up'), 'manual removal');
SELECT is((SELECT action || '|' || source || '|' || actor || '|' || note || '|' || basis
             FROM rebound.suppression_history WHERE address = 'soft1@c.example' ORDER BY id DESC LIMIT 1),
          'remove|manual|bob|mailbox cleaned up|soft', 'history keeps the removal, its actor and note');
SELECT ok(NOT rebound.unsuppress('soft1@c.example'), 'removing it again returns false');
SELECT pg_temp.ev('bounced', 'soft1@c.example', 'mailboxfull');
SELECT ok(NOT pg_temp.suppressed('soft1@c.example'), 'a manual removal resets the count');
SELECT is((SELECT failures::int FROM rebound.soft_failure_counts WHERE address = 'soft1@c.example'),
          1, 'counting starts again after the removal');
SELECT is((SELECT count(*)::int FROM rebound.suppression_history WHERE address = 'soft1@c.example'),
          2, 'full history: added, removed');

DELETE FROM rebound.suppressions WHERE address = 'other@example.org';
SELECT is((SELECT action || '|' || source || '|' || actor FROM rebound.suppression_history
            WHERE address = 'other@example.org' ORDER BY id DESC LIMIT 1),
          'remove|manual|' || session_user, 'a plain DELETE is recorded with the database user');

-- Domains ------------------------------------------------------------------
SELECT ok(rebound.suppress('Gone.Example', 'hostunknown', 'alice'), 'manual domain-wide entry');
SELECT ok(rebound.is_suppressed('anyone@gone.example'), 'is_suppressed matches the domain');
SELECT ok(NOT rebound.is_suppressed('anyone@here.example'), 'is_suppressed: other domains are not');
SELECT pg_temp.ev('rejected', 'x@nxdomain.example', 'hostunknown', true, true, p_status => '5.1.2');
SELECT is(pg_temp.entry('nxdomain.example'), 'unknown_domain|hostunknown|policy',
          'our MTA finding a domain does not exist suppresses the domain');
SELECT is(pg_temp.entry('x@nxdomain.example'), 'hard|hostunknown|policy', 'and the address');
SELECT pg_temp.ev('rejected', 'x@nullmx.example', 'notaccept', true, true, p_status => '5.1.10');
SELECT is(pg_temp.entry('nullmx.example'), 'unknown_domain|notaccept|policy', 'so does a null MX');
SELECT pg_temp.ev('bounced', 'y@fwd.example', 'hostunknown', true, false);
SELECT ok(NOT pg_temp.suppressed('fwd.example') AND pg_temp.suppressed('y@fwd.example'),
          'a remote report of an unknown host suppresses only the address');
UPDATE rebound.settings SET value = 'off' WHERE name = 'suppress_unknown_domains';
SELECT pg_temp.ev('rejected', 'z@nx2.example', 'hostunknown', true, true);
SELECT ok(NOT pg_temp.suppressed('nx2.example'), 'suppress_unknown_domains = off');
UPDATE rebound.settings SET value = 'on' WHERE name = 'suppress_unknown_domains';

-- The milter's own refusals ------------------------------------------------------
SELECT rebound.unsuppress('hard2@a.example');
SELECT pg_temp.ev('rejected', 'hard2@a.example', 'hasmoved', true, true, 'milter', 'suppressed');
SELECT ok(NOT pg_temp.suppressed('hard2@a.example'),
          'a milter refusal of a suppressed recipient is no new evidence');
SELECT pg_temp.ev('rejected', 'ms1@d.example', 'mailboxfull', false, true, 'milter', 'suppressed')
  FROM generate_series(1, 6);
SELECT ok(NOT pg_temp.suppressed('ms1@d.example'), 'and never counts as a soft failure');
SELECT pg_temp.ev('rejected', 'ms2@d.example', 'userunknown', true, true, 'milter', 'postfix');
SELECT is(pg_temp.entry('ms2@d.example'), 'hard|userunknown|policy',
          'Postfix''s own RCPT rejection seen by the milter does suppress');

-- Settings ---------------------------------------------------------------------
SELECT throws_ok($$UPDATE rebound.settings SET value = 'many' WHERE name = 'soft_failure_limit'$$,
                 '22023', NULL, 'a bad value is refused');
SELECT throws_ok($$UPDATE rebound.settings SET value = '0' WHERE name = 'soft_failure_days'$$,
                 '22023', NULL, 'a window of 0 days is refused');
SELECT throws_ok($$INSERT INTO rebound.settings VALUES ('bogus', '1', 'x')$$,
                 '22023', NULL, 'an unknown setting is refused');
UPDATE rebound.settings SET value = '2' WHERE name = 'soft_failure_limit';
SELECT pg_temp.ev('bounced', 'lim2@e.example', 'suspend') FROM generate_series(1, 2);
SELECT is(pg_temp.entry('lim2@e.example'), 'soft|suspend|policy', 'soft_failure_limit = 2');
UPDATE rebound.settings SET value = '0' WHERE name = 'soft_failure_limit';
SELECT pg_temp.ev('bounced', 'lim0@e.example', 'suspend') FROM generate_series(1, 20);
SELECT ok(NOT pg_temp.suppressed('lim0@e.example'), 'soft_failure_limit = 0 never suppresses');
DELETE FROM rebound.settings WHERE name = 'soft_failure_limit';
SELECT is(rebound.setting_int('soft_failure_limit'), 5, 'a deleted setting falls back to its default');
UPDATE rebound.settings SET value = '' WHERE name = 'soft_ignore_reasons';
SELECT pg_temp.ev('bounced', 'blk2@e.example', 'blocked') FROM generate_series(1, 5);
SELECT is(pg_temp.entry('blk2@e.example'), 'soft|blocked|policy', 'an empty soft_ignore_reasons counts every reason');

-- The policy never makes an insert fail --------------------------------------------
ALTER TABLE rebound.suppressions ADD CONSTRAINT test_refuse CHECK (address <> 'boom@f.example');
SELECT lives_ok($$SELECT pg_temp.ev('bounced', 'boom@f.example', 'userunknown', true)$$,
                'an event is recorded even when the policy fails');
SELECT is((SELECT count(*)::int FROM rebound.events WHERE recipient = 'boom@f.example'), 1, 'the event row is there');
SELECT alike((SELECT error FROM rebound.policy_errors pe JOIN rebound.events e ON e.id = pe.event_id
              WHERE e.recipient = 'boom@f.example'), '%test_refuse%', 'the failure is kept in policy_errors');
ALTER TABLE rebound.suppressions DROP CONSTRAINT test_refuse;
SELECT lives_ok($$SELECT pg_temp.ev('bounced', NULL, 'userunknown', true)$$, 'an event without recipient is fine');

-- Purging old events is not a change of the list ---------------------------------
DELETE FROM rebound.events WHERE recipient = 'hard1@a.example';
SELECT is((SELECT count(*)::int FROM rebound.suppression_history WHERE address = 'hard1@a.example'), 1,
          'deleting the causing event adds no history');
SELECT ok(pg_temp.suppressed('hard1@a.example'), 'and keeps the entry');

SELECT * FROM finish();
ROLLBACK;
