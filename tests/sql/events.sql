-- events.sql - the NOTIFY payload of recorded events (pgTAP).  Delivery of
-- the notification itself is tested through Postfix in events.t.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
SET client_min_messages = error;
BEGIN;
SELECT plan(8);

SELECT has_trigger('rebound', 'events', 'events_notify', 'notify trigger on events');
SELECT has_function('rebound', 'event_payload', ARRAY['rebound.events'], 'payload function');

INSERT INTO rebound.messages (id, token, tags)
VALUES (900001, 'tok3n', '{"campaign": "nov", "list": "news"}'),
       (900002, NULL, jsonb_build_object('big', repeat('x', 9000)));
INSERT INTO rebound.events (id, kind, sync, source, recipient, reason, hard, message_id, dedup_key)
VALUES (800001, 'bounced', false, 'pipe', 'bob@bad.example', 'userunknown', true, 900001, 'k1'),
       (800002, 'delayed', false, 'pipe', NULL, NULL, false, NULL, 'k2'),
       (800003, 'rejected', true, 'milter', 'q"uote@x.example', 'mailboxfull', false, 900002, 'k3'),
       (800004, 'complaint', false, 'pipe', 'c@x.example', 'feedback', false, NULL, 'k4');

SELECT is(rebound.event_payload(e), '{"id":800001,"kind":"bounced","recipient":"bob@bad.example",'
          '"reason":"userunknown","hard":true,"provenance":"unverified","token":"tok3n","tags":{"list": "news", "campaign": "nov"}}',
          'compact payload: id, kind, recipient, reason, hard, provenance, token and tags')
  FROM rebound.events e WHERE id = 800001;
SELECT is(rebound.event_payload(e), '{"id":800002,"kind":"delayed","recipient":null,'
          '"reason":null,"hard":false,"provenance":"unverified","token":null,"tags":null}', 'unknown values are null')
  FROM rebound.events e WHERE id = 800002;
SELECT is(rebound.event_payload(e), '{"id":800003,"kind":"rejected","recipient":"q\"uote@x.example",'
          '"reason":"mailboxfull","hard":false,"provenance":"unverified","token":null,"tags":null,"truncated":true}',
          'tags too large for NOTIFY are left out and the payload says so')
  FROM rebound.events e WHERE id = 800003;
SELECT ok(octet_length(rebound.event_payload(e)) < 8000, 'payload under the NOTIFY limit')
  FROM rebound.events e WHERE id = 800003;
SELECT is((rebound.event_payload(e)::json)->>'kind', 'complaint', 'payload is valid JSON')
  FROM rebound.events e WHERE id = 800004;

-- The trigger queues the notification in the writer's transaction; it is
-- delivered at COMMIT, which this test never does.
SELECT lives_ok($$INSERT INTO rebound.events (kind, sync, source, recipient, dedup_key)
                  VALUES ('bounced', false, 'pipe', 'n@x.example', 'k5')$$,
                'insert with the notify trigger');

SELECT * FROM finish();
ROLLBACK;
