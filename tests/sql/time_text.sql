-- time_text.sql - rebound.time_text(), the one way the tool writes a time
-- (pgTAP).
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
SET client_min_messages = error;
BEGIN;
SELECT plan(7);
SET LOCAL TimeZone = 'Europe/Berlin';

SELECT is(rebound.time_text('2026-03-01 13:05:09.75+00', 'second'), '2026-03-01 14:05:09',
          'second: local time to the second, fraction cut');
SELECT is(rebound.time_text('2026-03-01 13:05:09+00'), '2026-03-01 14:05:09',
          'second is the default');
SELECT is(rebound.time_text('2026-03-01 13:05:09+00', 'minute'), '2026-03-01 14:05',
          'minute: local time to the minute');
SELECT is(rebound.time_text('2026-03-01 13:05:09+00', 'utc'), '2026-03-01T13:05:09Z',
          'utc: ISO 8601 in UTC, whatever the session time zone');
SELECT is(rebound.time_text(NULL, 'utc'), NULL, 'no time, no text');
SELECT is(rebound.time_text(now(), 'hour'), NULL, 'an unknown style gives NULL');
SELECT is((SELECT count(*)::int FROM rebound.schema_version WHERE version = 5), 1,
          'migration 005 records itself');

SELECT * FROM finish();
ROLLBACK;
