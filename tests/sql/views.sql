-- views.sql - the views users query, on a small known data set (pgTAP).
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
SET client_min_messages = error;
BEGIN;
SELECT plan(22);

-- Sent messages, as the milter records them: tags and recipients.
INSERT INTO rebound.messages (id, token, tags, created_at) VALUES
    (1001, 't1', '{"campaign": "nov", "list": "news"}', now() - interval '1 day'),
    (1002, 't2', '{"campaign": "dec"}', now()),
    (1003, 't3', '["not", "an", "object"]', now());
INSERT INTO rebound.recipients (message_id, address) VALUES
    (1001, 'a@one.example'), (1001, 'b@one.example'), (1001, 'c@two.example'),
    (1001, 'd@two.example'), (1002, 'e@one.example'), (1002, 'f@three.example'),
    (1003, 'g@x.example');
INSERT INTO rebound.raw_messages (id, size, truncated, digest, parse_error, content)
VALUES (2001, 17, false, 'digest1', 'no report found', 'this is not mail'::bytea);

INSERT INTO rebound.events (id, received_at, kind, sync, source, recipient, reason, category,
                            hard, rule, message_id, raw_message_id, dedup_key, provenance) VALUES
    (3001, now(), 'bounced', false, 'pipe', 'a@one.example', 'userunknown', 'user_unknown', true, 'rfc3463', 1001, NULL, 'v1', 'verified'),
    (3002, now() - interval '1 day', 'expired', false, 'pipe', 'c@two.example', 'expired', 'expired', false, 'dsn-expired', 1001, NULL, 'v2', 'verified'),
    (3003, now(), 'complaint', false, 'pipe', 'd@two.example', 'feedback', 'feedback_complaint', false, 'arf', 1001, NULL, 'v3', 'verified'),
    (3004, now(), 'rejected', true, 'pipe', 'e@one.example', 'hasmoved', 'user_unknown', true, 'rfc3463', 1002, NULL, 'v4', 'verified'),
    (3005, now(), 'bounced', false, 'pipe', 'h@four.example', 'mailboxfull', 'mailbox_full', false, 'rfc3463', NULL, NULL, 'v5', 'verified'),
    (3006, now(), 'unknown', false, 'pipe', NULL, 'undefined', 'other', false, 'none', NULL, 2001, 'v6', 'verified'),
    (3007, now(), 'bounced', false, 'pipe', NULL, 'onhold', 'other', false, 'none', NULL, NULL, 'v7', 'verified'),
    (3008, now(), 'rejected', true, 'milter', 'b@one.example', 'userunknown', 'user_unknown', true, 'suppressed', 1001, NULL, 'v8', 'verified'),
    (3009, now(), 'delayed', false, 'pipe', 'f@three.example', 'expired', 'expired', false, 'dsn-delayed', 1002, NULL, 'v9', 'verified'),
    (3010, now() - interval '60 days', 'bounced', false, 'pipe', 'z@five.example', 'mailboxfull', 'mailbox_full', false, 'rfc3463', NULL, NULL, 'v10', 'verified');
SELECT rebound.suppress('spam.example', 'spamtrap', 'alice', 'known trap domain');

-- failures -------------------------------------------------------------------
SELECT is((SELECT string_agg(id::text, ',' ORDER BY id) FROM rebound.failures),
          '3001,3002,3004,3005,3007,3010',
          'failures: rejected, expired, bounced; not complaints, delays, unknown or milter refusals');
SELECT is((SELECT domain || '|' || token || '|' || (tags->>'campaign') FROM rebound.failures WHERE id = 3001),
          'one.example|t1|nov', 'failures carry domain, token and tags');

SELECT is((SELECT format('%s|%s|%s|%s|%s|%s|%s', failures, hard, soft, rejected, expired, bounced, addresses)
             FROM rebound.failures_by_day WHERE day = current_date),
          '4|2|2|1|0|3|3', 'failures_by_day today');
SELECT is((SELECT format('%s|%s', failures, expired) FROM rebound.failures_by_day
            WHERE day = (now() - interval '1 day')::date), '1|1', 'failures_by_day yesterday');

SELECT is((SELECT string_agg(format('%s:%s/%s', coalesce(domain, '-'), failures, hard), ',' ORDER BY domain)
             FROM rebound.failures_by_domain WHERE day = current_date),
          'four.example:1/0,one.example:2/2,-:1/0', 'failures_by_domain');

SELECT is((SELECT string_agg(format('%s:%s:%s/%s', reason, category, failures, hard), ',' ORDER BY reason)
             FROM rebound.failures_by_reason WHERE day = current_date),
          'hasmoved:user_unknown:1/1,mailboxfull:mailbox_full:1/0,onhold:other:1/0,userunknown:user_unknown:1/1',
          'failures_by_reason');

SELECT is((SELECT string_agg(format('%s=%s:%s', tag, value, failures), ',' ORDER BY tag, value)
             FROM rebound.failures_by_tag WHERE day = current_date),
          'campaign=dec:1,campaign=nov:1,list=news:1', 'failures_by_tag today');
SELECT is((SELECT string_agg(format('%s=%s:%s', tag, value, failures), ',' ORDER BY tag, value)
             FROM rebound.failures_by_tag WHERE day = (now() - interval '1 day')::date),
          'campaign=nov:1,list=news:1', 'failures_by_tag yesterday');

-- campaign rates -----------------------------------------------------------------
SELECT is((SELECT format('%s|%s|%s|%s|%s|%s|%s', messages, recipients, bounced, hard_bounced,
                         complaints, bounce_rate, complaint_rate)
             FROM rebound.campaign_rates WHERE tag = 'campaign' AND value = 'nov'),
          '1|4|2|1|1|0.5000|0.2500', 'campaign_rates: nov (the milter refusal is not a bounce)');
SELECT is((SELECT format('%s|%s|%s|%s|%s', recipients, bounced, hard_bounced, bounce_rate, complaint_rate)
             FROM rebound.campaign_rates WHERE tag = 'campaign' AND value = 'dec'),
          '2|1|1|0.5000|0.0000', 'campaign_rates: dec (a delay is not a bounce)');
SELECT is((SELECT bounce_rate::text FROM rebound.campaign_rates WHERE tag = 'list' AND value = 'news'),
          '0.5000', 'campaign_rates: every tag of a message');
SELECT is((SELECT count(*)::int FROM rebound.campaign_rates), 3, 'messages with tags that are not an object are left out');

-- top failing domains ------------------------------------------------------------
SELECT is((SELECT string_agg(format('%s:%s/%s/%s/%s', domain, failures, hard, soft, addresses), ',')
             FROM rebound.top_failing_domains),
          'one.example:2/2/0/2,four.example:1/0/1/1,two.example:1/0/1/1',
          'top_failing_domains: most failures first, within report_days');
UPDATE rebound.settings SET value = '90' WHERE name = 'report_days';
SELECT ok((SELECT count(*) FROM rebound.top_failing_domains WHERE domain = 'five.example') = 1,
          'report_days widens the period');
SELECT rebound.suppress('four.example', 'hostunknown', 'alice');
SELECT ok((SELECT suppressed FROM rebound.top_failing_domains WHERE domain = 'four.example'),
          'top_failing_domains says whether the domain is suppressed');

-- suppression list -------------------------------------------------------------
SELECT is((SELECT string_agg(format('%s:%s:%s', address, basis, domain_wide), ',' ORDER BY address)
             FROM rebound.suppression_list),
          'a@one.example:hard:f,d@two.example:complaint:f,e@one.example:hard:f,'
          'four.example:manual:t,spam.example:manual:t',
          'suppression_list: the policy''s entries and manual ones');
SELECT is((SELECT format('%s|%s|%s', event_kind, reason, actor) FROM rebound.suppression_list
            WHERE address = 'a@one.example'), 'bounced|userunknown|', 'with the causing event');
SELECT is((SELECT format('%s|%s|%s', reason, actor, note) FROM rebound.suppression_list
            WHERE address = 'spam.example'), 'spamtrap|alice|known trap domain', 'manual entries with actor and note');

-- awaiting review -----------------------------------------------------------------
SELECT is((SELECT string_agg(format('%s:%s', id, problem), ',' ORDER BY id) FROM rebound.awaiting_review),
          '3005:unlinked,3006:unparsed,3007:no_recipient,3010:unlinked',
          'awaiting_review: unlinked, unparsed, no recipient, however old');
SELECT is((SELECT format('%s|%s', raw_size, parse_error) FROM rebound.awaiting_review WHERE id = 3006),
          '17|no report found', 'with the raw copy''s size and parse error');
INSERT INTO rebound.reviews (event_id, note) VALUES (3005, 'old list, ignore');
SELECT is((SELECT string_agg(id::text, ',' ORDER BY id) FROM rebound.awaiting_review), '3006,3007,3010',
          'a reviewed event leaves the queue');
DELETE FROM rebound.messages;
SELECT is((SELECT string_agg(problem, ',' ORDER BY id) FROM rebound.awaiting_review), 'unparsed,no_recipient',
          'without sent records, failures are not expected to be linked');

SELECT * FROM finish();
ROLLBACK;
