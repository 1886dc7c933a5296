-- examples.sql - the user trigger examples of sql/examples/ do what their
-- comments say, and never make an event insert fail (pgTAP).
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
SET client_min_messages = error;
BEGIN;
SELECT plan(12);

CREATE SCHEMA app;
CREATE TABLE app.users (
    id              bigserial PRIMARY KEY,
    email           text NOT NULL,
    mail_ok         boolean NOT NULL DEFAULT true,
    failures        integer NOT NULL DEFAULT 0,
    complaints      integer NOT NULL DEFAULT 0,
    last_problem    text,
    last_problem_at timestamptz
);
INSERT INTO app.users (email) VALUES
    ('Bob@Bad.Example'), ('carol@slow.example'), ('dave@x.example'), ('erin@x.example');

\ir ../../sql/examples/flag-users.sql
\ir ../../sql/examples/daily-stats.sql

CREATE FUNCTION pg_temp.ev(p_kind text, p_recipient text, p_reason text, p_hard boolean DEFAULT false)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO rebound.events (kind, sync, source, recipient, reason, hard, dedup_key, provenance)
    VALUES (p_kind, false, 'pipe', p_recipient, p_reason, p_hard, gen_random_uuid()::text,
            'verified')
$$;
CREATE FUNCTION pg_temp.u(p_email text) RETURNS text LANGUAGE sql AS $$
    SELECT format('%s|%s|%s|%s', mail_ok, failures, complaints, last_problem)
      FROM app.users WHERE lower(email) = p_email
$$;

SELECT ok((SELECT bool_and(tgname > 'events_policy') FROM pg_trigger
            WHERE tgrelid = 'rebound.events'::regclass AND tgname IN ('users_flag', 'stats_count')),
          'the example triggers fire after the policy');

SELECT pg_temp.ev('bounced', 'bob@bad.example', 'userunknown', true);
SELECT is(pg_temp.u('bob@bad.example'), 'f|1|0|bounced: userunknown',
          'a hard failure flags the user at once');
SELECT pg_temp.ev('bounced', 'carol@slow.example', 'mailboxfull');
SELECT is(pg_temp.u('carol@slow.example'), 't|1|0|bounced: mailboxfull',
          'a soft failure is counted, the user still mailable');
SELECT pg_temp.ev('expired', 'carol@slow.example', 'expired') FROM generate_series(1, 4);
SELECT is(pg_temp.u('carol@slow.example'), 'f|5|0|expired: expired',
          'once the policy suppresses the address, the user is flagged');
SELECT pg_temp.ev('complaint', 'dave@x.example', 'feedback');
SELECT is(pg_temp.u('dave@x.example'), 'f|0|1|complaint: feedback', 'a complaint flags the user');
SELECT pg_temp.ev('delayed', 'erin@x.example', 'expired');
SELECT pg_temp.ev('auto_reply', 'erin@x.example', 'vacation');
SELECT is(pg_temp.u('erin@x.example'), 't|0|0|', 'delays and auto-replies leave the user alone');
SELECT pg_temp.ev('bounced', 'stranger@x.example', 'userunknown', true);
SELECT is((SELECT count(*)::int FROM app.users WHERE NOT mail_ok), 3, 'unknown addresses touch no user');

SELECT is((SELECT events::int FROM app.mail_stats WHERE day = current_date AND kind = 'expired'), 4,
          'daily-stats counts per day, kind and reason');
SELECT is((SELECT sum(events)::int FROM app.mail_stats), 10, 'every event counted once');

-- A broken user trigger must not lose events.
ALTER TABLE app.users DROP COLUMN complaints;
DROP TABLE app.mail_stats;
SELECT lives_ok($$SELECT pg_temp.ev('bounced', 'erin@x.example', 'userunknown', true)$$,
                'an event is recorded even when the user''s triggers fail');
SELECT is((SELECT count(*)::int FROM rebound.events WHERE recipient = 'erin@x.example' AND kind = 'bounced'),
          1, 'the event row is there');
SELECT ok(rebound.is_suppressed('erin@x.example'), 'and the policy still ran');

SELECT * FROM finish();
ROLLBACK;
