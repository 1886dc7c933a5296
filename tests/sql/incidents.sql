-- incidents.sql - reply templates, bursts that open incidents, the
-- suppressions they hold until closed as real or sender-side (pgTAP).
-- Run by tests/integration/sql.t in a transaction that is rolled back.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
SET client_min_messages = error;
BEGIN;
SELECT plan(36);

-- sent - n recipients at a domain, recorded as the milter records mail sent
CREATE FUNCTION pg_temp.sent(p_prefix text, p_domain text, p_n integer) RETURNS void
LANGUAGE sql AS $$
    WITH m AS (INSERT INTO rebound.messages (message_id_header)
               SELECT p_prefix || '-' || i || '@client.example' FROM generate_series(1, p_n) i
               RETURNING id, message_id_header)
    INSERT INTO rebound.recipients (message_id, address)
    SELECT id, split_part(message_id_header, '@', 1) || '@' || p_domain FROM m
$$;

-- fail - a verified failure of the recipient prefix-i@domain, as the
-- remote MX mx.<domain> worded it (%a: the address, %n: a number)
CREATE FUNCTION pg_temp.fail(p_prefix text, p_domain text, p_from integer, p_to integer,
                             p_text text, p_hard boolean DEFAULT true,
                             p_reason text DEFAULT 'userunknown',
                             p_provenance text DEFAULT 'verified') RETURNS void
LANGUAGE sql AS $$
    INSERT INTO rebound.events (kind, sync, source, recipient, reason, hard, status, reply_code,
                                diagnostic, remote_mta, dedup_key, provenance)
    SELECT 'rejected', true, 'pipe', p_prefix || '-' || i || '@' || p_domain, p_reason, p_hard,
           '5.1.1', 550,
           replace(replace(p_text, '%a', p_prefix || '-' || i || '@' || p_domain), '%n',
                   (i * 7919)::text),
           'mx' || (i % 3) || '.' || p_domain, gen_random_uuid()::text, p_provenance
      FROM generate_series(p_from, p_to) i
$$;

CREATE FUNCTION pg_temp.suppressed(p_prefix text, p_domain text) RETURNS integer
LANGUAGE sql AS $$
    SELECT count(*)::integer FROM rebound.suppressions
     WHERE address LIKE p_prefix || '-%@' || p_domain
$$;
CREATE FUNCTION pg_temp.held(p_prefix text, p_domain text) RETURNS integer
LANGUAGE sql AS $$
    SELECT count(*)::integer FROM rebound.provisional_suppressions
     WHERE address LIKE p_prefix || '-%@' || p_domain AND state = 'held'
$$;

-- Templates and providers ------------------------------------------------------
SELECT is(rebound.reply_template('5.1.1', 550::smallint,
              '550 5.1.1 <ann@x.example>: Recipient address rejected: 42 recipients this hour'),
          rebound.reply_template('5.1.1', 550::smallint,
              '550 5.1.1 <bob@y.example>: Recipient address rejected: 7 recipients this hour'),
          'one template whatever the address and the numbers');
SELECT is(rebound.reply_template('5.7.1', 554::smallint,
              '554 5.7.1 Service unavailable; client [192.0.2.1] blocked on Mon, 23 Nov 2026 10:00:00 +0000 id=AB12'),
          '554 5.7.1 service unavailable; client [#] blocked on <date> # # #',
          'codes first, then the text with hosts, dates and ids masked');
SELECT isnt(rebound.reply_template('5.1.1', 550::smallint, 'user unknown'),
            rebound.reply_template('5.1.1', 550::smallint, 'mailbox unavailable'),
            'another wording, another template');
SELECT is(rebound.provider_key('mx2.mail.example.co.uk', 'a@b.example') || ' '
          || rebound.provider_key('gmail-smtp-in.l.google.com', NULL) || ' '
          || rebound.provider_key(NULL, 'bob@Example.ORG') || ' '
          || rebound.provider_key('[192.0.2.7]', NULL),
          'example.co.uk google.com example.org 192.0.2.7',
          'the provider: the remote MTA''s domain, its address, or the recipient''s domain');

-- A normal campaign: scattered unknown users suppress at once ----------------------
SELECT pg_temp.sent('news', 'big.example', 2000);
SELECT pg_temp.fail('news', 'big.example', 1, 120, '550 5.1.1 <%a>: user unknown');
SELECT is(pg_temp.suppressed('news', 'big.example'), 120,
          '120 unknown users among 2000 recipients at one provider: all 120 suppressed');
SELECT is((SELECT count(*)::integer FROM rebound.incidents), 0, 'and no incident');

-- A provider block worded as unknown users --------------------------------------
SELECT pg_temp.sent('live', 'blocked.example', 80);
SELECT pg_temp.fail('live', 'blocked.example', 1, 49,
                    '550 5.1.1 <%a>: too many recipients this hour from 192.0.2.%n');
SELECT is(pg_temp.suppressed('live', 'blocked.example'), 49,
          '49 of the burst: below incident_recipients, suppressed as they come');
SELECT pg_temp.fail('live', 'blocked.example', 50, 50,
                    '550 5.1.1 <%a>: too many recipients this hour from 192.0.2.%n');
SELECT is((SELECT count(*)::integer FROM rebound.incidents WHERE status = 'open'), 1,
          'the 50th opens an incident');
SELECT is(pg_temp.suppressed('live', 'blocked.example'), 0,
          'and what the burst suppressed is taken back');
SELECT is(pg_temp.held('live', 'blocked.example'), 50, 'held instead, all 50');
SELECT is((SELECT string_agg(DISTINCT action || '/' || source || '/' || coalesce(actor, ''), ',')
             FROM rebound.suppression_history
            WHERE address = 'live-1@blocked.example'),
          'add/policy/,remove/policy/incident ' || (SELECT min(id) FROM rebound.incidents),
          'the history says the policy suppressed, then the incident held it');
SELECT pg_temp.fail('live', 'blocked.example', 51, 80,
                    '550 5.1.1 <%a>: too many recipients this hour from 192.0.2.%n');
SELECT is((SELECT count(*)::integer FROM rebound.incidents), 1, 'the rest of the burst: one incident');
SELECT is(pg_temp.held('live', 'blocked.example') || '/' || pg_temp.suppressed('live', 'blocked.example'),
          '80/0', 'every recipient held, nobody suppressed');
SELECT ok(NOT rebound.is_suppressed('live-60@blocked.example'),
          'a held address is not suppressed: the milter lets mail to it through');
SELECT is((SELECT events || '/' || recipients || '/' || held FROM rebound.incident_summary),
          '80/80/80', 'the incident: 80 events of 80 recipients, 80 held');
SELECT is((rebound.incident_payload(i)::jsonb)->>'status', 'open', 'its notification says open')
  FROM rebound.incidents i;
SELECT is((SELECT count(*)::integer FROM rebound.events WHERE incident_id IS NOT NULL
             AND recipient LIKE 'news-%'), 0, 'the campaign''s unknown users are in no incident');

-- Soft failures of an open incident wait --------------------------------------------
UPDATE rebound.settings SET value = '1' WHERE name = 'soft_failure_limit';
SELECT pg_temp.fail('live', 'blocked.example', 1, 1,
                    '550 5.1.1 <%a>: too many recipients this hour from 192.0.2.%n', false,
                    'mailboxfull');
SELECT is(pg_temp.suppressed('live', 'blocked.example'), 0,
          'a soft failure of the burst does not count while the incident is open');
UPDATE rebound.settings SET value = '5' WHERE name = 'soft_failure_limit';

-- Closed as real: what it held applies -------------------------------------------
SELECT is(rebound.incident_close((SELECT min(id) FROM rebound.incidents), 'real', 'alice',
                                 'they are gone'), 80::bigint,
          'closing as real resolves the 80 held');
SELECT is(pg_temp.suppressed('live', 'blocked.example'), 80, 'and suppresses them now');
SELECT is((SELECT count(*)::integer FROM rebound.provisional_suppressions WHERE state = 'applied'),
          80, 'the held entries stay on record as applied');
SELECT is((SELECT status || '/' || closed_by FROM rebound.incidents ORDER BY id LIMIT 1), 'real/alice',
          'with who closed it');
SELECT throws_ok($$SELECT rebound.incident_close((SELECT min(id) FROM rebound.incidents), 'sender_side')$$,
                 '22023', NULL,
                 'a closed incident cannot be closed again');
SELECT throws_ok($$SELECT rebound.incident_close(-1, 'real')$$, 'P0002', NULL,
                 'nor one that does not exist');

-- Closed as sender-side: what it held is released ------------------------------------
DELETE FROM rebound.suppressions WHERE address LIKE 'live-%';
SELECT pg_temp.sent('blk', 'rate.example', 60);
SELECT pg_temp.fail('blk', 'rate.example', 1, 60, '550 5.1.0 <%a>: listed at RBL %n');
SELECT is(pg_temp.held('blk', 'rate.example') || '/' || pg_temp.suppressed('blk', 'rate.example'),
          '60/0', 'a blocklist reply coded 5.1.0 to 60 recipients: all held');
SELECT is(rebound.incident_close((SELECT max(id) FROM rebound.incidents), 'sender_side', 'bob'),
          60::bigint, 'closing as sender-side resolves them');
SELECT is(pg_temp.suppressed('blk', 'rate.example') || '/' ||
          (SELECT count(*) FROM rebound.provisional_suppressions
            WHERE address LIKE 'blk-%' AND state = 'released'),
          '0/60', 'and releases them: nobody is suppressed');
SELECT pg_temp.fail('blk', 'rate.example', 7, 7, '550 5.1.1 <%a>: no such user here');
SELECT ok(rebound.is_suppressed('blk-7@rate.example'),
          'a later unknown user of its own, not part of the burst, suppresses as before');

-- Reports that come to our token, verified by the corroboration trigger ------------
SELECT pg_temp.sent('tok', 'signed.example', 55);
INSERT INTO rebound.events (kind, sync, source, recipient, reason, hard, status, reply_code,
                            diagnostic, remote_mta, dedup_key, provenance, token_verified,
                            message_id)
SELECT 'bounced', false, 'pipe', r.address, 'userunknown', true, '5.1.1', 550,
       '550 5.1.1 <' || r.address || '>: no thanks', 'mx.signed.example', gen_random_uuid()::text,
       'unverified', true, r.message_id
  FROM rebound.recipients r WHERE r.address LIKE 'tok-%@signed.example';
SELECT is(pg_temp.held('tok', 'signed.example') || '/' || pg_temp.suppressed('tok', 'signed.example')
          || '/' || (SELECT count(*) FROM rebound.events WHERE recipient LIKE 'tok-%'
                       AND provenance = 'verified'),
          '55/0/55', 'reports verified by our token on arrival make a burst too');

-- Untrusted events make no burst ------------------------------------------------
SELECT pg_temp.sent('fake', 'forged.example', 60);
SELECT pg_temp.fail('fake', 'forged.example', 1, 60, '550 5.1.1 <%a>: user unknown %n',
                    p_provenance => 'unverified');
SELECT is((SELECT count(*)::integer FROM rebound.incidents WHERE provider_key = 'forged.example'),
          0, 'forged reports cannot open an incident, nor hold genuine failures');

-- Without a record of what was sent, the share is unknown -----------------------------
SELECT pg_temp.fail('nosent', 'unmetered.example', 1, 60, '550 5.1.1 <%a>: user unknown');
SELECT is(pg_temp.suppressed('nosent', 'unmetered.example'), 60,
          'no mail recorded as sent to the domain: no incident, the failures suppress');
UPDATE rebound.settings SET value = '0' WHERE name = 'incident_share';
SELECT pg_temp.fail('cnt', 'unmetered2.example', 1, 50, '550 5.1.1 <%a>: user unknown');
SELECT is(pg_temp.held('cnt', 'unmetered2.example'), 50,
          'incident_share 0: the count alone opens an incident');
UPDATE rebound.settings SET value = '30' WHERE name = 'incident_share';

-- Closing by itself ---------------------------------------------------------------
UPDATE rebound.incidents SET last_at = now() - interval '73 hours' WHERE status = 'open';
SELECT is(rebound.close_due_incidents(), 2, 'the two incidents quiet for incident_close_hours close');
SELECT is((SELECT status || '/' || closed_by FROM rebound.incidents
            WHERE provider_key = 'unmetered2.example'),
          'sender_side/auto', 'by itself, as incident_auto_outcome says');

-- Settings ------------------------------------------------------------------------
SELECT throws_ok($$UPDATE rebound.settings SET value = 'maybe' WHERE name = 'incident_auto_outcome'$$,
                 '22023', NULL, 'incident_auto_outcome takes real or sender_side');
SELECT throws_ok($$UPDATE rebound.settings SET value = '101' WHERE name = 'incident_share'$$,
                 '22023', NULL, 'incident_share is a percentage');

SELECT * FROM finish();
ROLLBACK;
