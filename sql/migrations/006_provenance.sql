-- 006: provenance.  How far each event is corroborated by what we signed
-- or by how the report reached us, and a policy that acts on evidence only.
--
-- Every byte of a bounce comes from a stranger, including the recipients
-- it names.  Until now any report that named an address with a permanent
-- status put that address on the suppression list.  From here on:
--
--   verified    the report came to (or carried) a valid token of ours and
--               the recipient is one the milter recorded for that message,
--               or the message had exactly one recipient and the report
--               names one; or the event is our own MTA's finding (the
--               milter);
--   verp        the report came to a classic VERP address whose encoded
--               recipient is the one the report names;
--   unverified  anything else.
--
-- Only verified events, and verp events while classic VERP is trusted
-- (the setting trust_verp), change the suppression list.  Classic VERP
-- is no evidence at all: anyone can write to bounces+user=domain@.  Its
-- default, auto, trusts it only while no message carries a token of ours:
-- a site that signs its return paths has better evidence and no reason to
-- let a forged VERP bounce suppress anyone, while a site that only uses
-- classic VERP has nothing else.  Unverified events are recorded,
-- counted in the views, and the ones that would have suppressed are
-- listed in rebound.awaiting_review.
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('rebound.schema'));

ALTER TABLE rebound.events
    ADD COLUMN provenance text NOT NULL DEFAULT 'unverified'
        CHECK (provenance IN ('verified', 'verp', 'unverified')),
    -- The report came to, or carried, a valid (unexpired) token we signed.
    ADD COLUMN token_verified boolean NOT NULL DEFAULT false,
    -- How many recipients the report named; NULL when not known.
    ADD COLUMN report_recipients integer CHECK (report_recipients >= 0),
    -- The address the report named, when the event is attributed to the
    -- message's only recipient instead (a forwarded address, say).
    ADD COLUMN reported_recipient text;

-- The milter's rows are our own MTA's findings.  Older rows of the pipe
-- cannot be judged again: they stay unverified, and the suppressions they
-- made stay until someone removes them.
UPDATE rebound.events SET provenance = 'verified' WHERE source = 'milter';

-- Settings -----------------------------------------------------------------

CREATE OR REPLACE FUNCTION rebound.setting_default(p_name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_name
        WHEN 'soft_failure_limit' THEN '5'
        WHEN 'soft_failure_days' THEN '30'
        WHEN 'soft_ignore_reasons' THEN
            'authfailure, badreputation, blocked, contenterror, emailtoolarge, '
            'exceedlimit, failedstarttls, filtered, mesgtoobig, norelaying, '
            'notcompliantrfc, policyviolation, ratelimited, rejected, requireptr, '
            'securityerror, spamdetected, speeding, syntaxerror, toomanyconn, '
            'virusdetected'
        WHEN 'suppress_unknown_domains' THEN 'on'
        WHEN 'report_days' THEN '30'
        WHEN 'trust_verp' THEN 'auto'
    END
$$;

CREATE OR REPLACE FUNCTION rebound.setting_error(p_name text, p_value text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF rebound.setting_default(p_name) IS NULL THEN
        RETURN 'unknown setting (see rebound(7) for the list)';
    END IF;
    IF p_value IS NULL THEN
        RETURN 'a value is required';
    END IF;
    IF p_name = 'soft_failure_limit' THEN
        IF p_value !~ '^\s*[0-9]{1,4}\s*$' THEN
            RETURN 'want a whole number from 0 (never) to 9999';
        END IF;
    ELSIF p_name IN ('soft_failure_days', 'report_days') THEN
        IF p_value !~ '^\s*[0-9]{1,4}\s*$' OR btrim(p_value)::integer < 1 THEN
            RETURN 'want a number of days from 1 to 9999';
        END IF;
    ELSIF p_name = 'suppress_unknown_domains' THEN
        IF lower(btrim(p_value)) NOT IN ('on', 'off', 'true', 'false', 'yes', 'no') THEN
            RETURN 'want on or off';
        END IF;
    ELSIF p_name = 'trust_verp' THEN
        IF lower(btrim(p_value)) NOT IN ('on', 'off', 'true', 'false', 'yes', 'no', 'auto') THEN
            RETURN 'want on, off or auto';
        END IF;
    ELSIF p_name = 'soft_ignore_reasons' THEN
        IF p_value !~ '^[a-z_,\s]*$' THEN
            RETURN 'want reason names (lower case) separated by commas';
        END IF;
    END IF;
    RETURN NULL;
END $$;

INSERT INTO rebound.settings (name, value, description)
VALUES ('trust_verp', 'auto',
        'Let a report to a classic VERP address that names the encoded recipient suppress it: '
        'on, off, or auto (only while no message carries a signed token).');

-- Corroboration --------------------------------------------------------------

-- event_corroborate - an event with the evidence the database holds.  A
-- report that came to a valid token of ours is verified when the message
-- it names was recorded by the milter and the report's recipient is one
-- of its recipients; when the message had one recipient and the report
-- names one (or none), the event is that recipient's, and the address
-- the report gave is kept in reported_recipient.  A report that names more
-- recipients than the message had cannot be all true: none of it counts.
-- While the message's recipients are not recorded yet (a bounce can come
-- before the milter's record), the event stays unverified; the trigger on
-- rebound.recipients looks again when they arrive.
CREATE FUNCTION rebound.event_corroborate(e rebound.events) RETURNS rebound.events
LANGUAGE plpgsql STABLE AS $$
DECLARE
    n        bigint;
    rid      bigint;
    raddr    text;
    found_id bigint;
BEGIN
    IF e.provenance <> 'unverified' OR NOT e.token_verified OR e.message_id IS NULL THEN
        RETURN e;
    END IF;
    SELECT count(*), min(id), min(address) INTO n, rid, raddr
      FROM rebound.recipients WHERE message_id = e.message_id;
    IF n = 0 OR coalesce(e.report_recipients, 1) > n THEN
        RETURN e;
    END IF;
    IF e.recipient IS NOT NULL THEN
        SELECT id INTO found_id FROM rebound.recipients
         WHERE message_id = e.message_id AND address = lower(e.recipient);
        IF FOUND THEN
            e.provenance := 'verified';
            e.recipient := lower(e.recipient);
            e.recipient_id := found_id;
            RETURN e;
        END IF;
    END IF;
    -- With one recipient, min() above is that recipient.
    IF n = 1 AND coalesce(e.report_recipients, 1) <= 1 THEN
        e.provenance := 'verified';
        IF e.recipient IS DISTINCT FROM raddr THEN
            e.reported_recipient := e.recipient;
        END IF;
        e.recipient := raddr;
        e.recipient_id := rid;
    END IF;
    RETURN e;
END $$;

-- Like the policy, corroboration never makes an insert fail: an error
-- leaves the event unverified, with a warning.
CREATE FUNCTION rebound.events_corroborate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN rebound.event_corroborate(NEW);
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'rebound: event left unverified: %', SQLERRM;
    RETURN NEW;
END $$;
CREATE TRIGGER events_corroborate BEFORE INSERT ON rebound.events
    FOR EACH ROW EXECUTE FUNCTION rebound.events_corroborate();

-- When the milter records a message's recipients, the reports that came
-- first are judged again, and linked to their recipient.  Their upgrade
-- fires the policy (below).  This runs after the milter's statement, in
-- statements of its own: it sees a report that rebound-pipe committed
-- while the milter's statement was running, which a link made inside that
-- statement, with its older snapshot, would miss.
CREATE FUNCTION rebound.recipients_corroborate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    e rebound.events;
    c rebound.events;
BEGIN
    FOR e IN SELECT * FROM rebound.events
              WHERE message_id IN (SELECT DISTINCT message_id FROM added)
                AND provenance = 'unverified' AND token_verified
              ORDER BY id
    LOOP
        c := rebound.event_corroborate(e);
        IF c.provenance <> e.provenance THEN
            UPDATE rebound.events
               SET provenance = c.provenance, recipient = c.recipient,
                   recipient_id = c.recipient_id, reported_recipient = c.reported_recipient
             WHERE id = e.id;
        END IF;
    END LOOP;
    -- The others: linked by address, or to the message's only recipient.
    UPDATE rebound.events ev SET recipient_id = a.id
      FROM added a
     WHERE ev.message_id = a.message_id AND ev.recipient_id IS NULL
       AND (ev.recipient = a.address
            OR (SELECT count(*) FROM added o WHERE o.message_id = a.message_id) = 1);
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    -- The milter's record is stored all the same; the links can be made later.
    RAISE WARNING 'rebound: reports not linked to their recipients: %', SQLERRM;
    RETURN NULL;
END $$;
-- The events that wait for their message's recipients, found cheaply.
CREATE INDEX events_pending_idx ON rebound.events (message_id)
    WHERE provenance = 'unverified' AND token_verified;
CREATE TRIGGER recipients_corroborate AFTER INSERT ON rebound.recipients
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION rebound.recipients_corroborate();

-- The policy -------------------------------------------------------------

-- verp_trusted - whether classic VERP counts as evidence (trust_verp).
CREATE FUNCTION rebound.verp_trusted() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN lower(rebound.setting('trust_verp')) = 'auto'
                THEN NOT EXISTS (SELECT 1 FROM rebound.messages WHERE token IS NOT NULL)
                ELSE rebound.setting_bool('trust_verp') END
$$;

-- event_trusted - whether an event may change the suppression list.
CREATE FUNCTION rebound.event_trusted(e rebound.events) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT e.provenance = 'verified' OR (e.provenance = 'verp' AND rebound.verp_trusted())
$$;

-- Soft failures count only when they are trusted, as above.
CREATE OR REPLACE VIEW rebound.soft_failure_counts AS
SELECT e.recipient AS address,
       count(*) AS failures,
       (SELECT rebound.setting_int('soft_failure_limit')) AS suppress_at,
       min(e.received_at) AS first_at,
       max(e.received_at) AS last_at
  FROM rebound.events e
  LEFT JOIN rebound.soft_resets r ON r.address = e.recipient
 WHERE e.recipient IS NOT NULL
   AND e.received_at > now() - make_interval(days => (SELECT rebound.setting_int('soft_failure_days')))
   AND e.id > coalesce(r.after_event_id, 0)
   AND NOT e.hard
   AND (e.kind = 'expired'
        OR (e.kind IN ('rejected', 'expired', 'bounced')
            AND coalesce(e.reason, '') <> ALL ((SELECT rebound.setting_list('soft_ignore_reasons'))::text[])))
   AND NOT (e.source = 'milter' AND coalesce(e.rule, '') = 'suppressed')
   AND (e.provenance = 'verified' OR (e.provenance = 'verp' AND (SELECT rebound.verp_trusted())))
 GROUP BY e.recipient;

-- apply_policy - what one event does to the suppression list.  Only
-- trusted events act (event_trusted); complaints only with a token of
-- ours (verified), since classic VERP says nothing about the message
-- complained of; a whole domain only from our own MTA's synchronous
-- finding.
CREATE OR REPLACE FUNCTION rebound.apply_policy(e rebound.events) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n      bigint;
    lim    integer;
    v_domain text;
BEGIN
    IF coalesce(e.recipient, '') = '' OR NOT rebound.event_trusted(e) THEN
        RETURN;
    END IF;
    -- The milter refusing a suppressed recipient is no new evidence.
    IF e.source = 'milter' AND e.rule = 'suppressed' THEN
        RETURN;
    END IF;
    IF e.kind = 'delivered' THEN
        PERFORM rebound.reset_soft_count(e.recipient, e.id, 'delivered');
    ELSIF e.kind = 'complaint' THEN
        -- RFC 6430 "not-spam" and RFC 6591 "auth-failure" are not complaints.
        IF e.provenance = 'verified'
           AND lower(coalesce(e.feedback_type, 'abuse')) NOT IN ('not-spam', 'auth-failure') THEN
            PERFORM rebound.policy_suppress(e.recipient, coalesce(e.reason, 'feedback'),
                                            'complaint', e.id);
        END IF;
    ELSIF e.kind IN ('rejected', 'expired', 'bounced') AND e.hard THEN
        PERFORM rebound.policy_suppress(e.recipient, e.reason, 'hard', e.id, e.status);
        -- Only our own MTA's finding condemns a whole domain: a remote's
        -- report may be about a forwarding target, not our recipient, and
        -- sync is set only for reports that our own Postfix wrote.
        v_domain := split_part(e.recipient, '@', 2);
        IF e.sync AND e.reason IN ('hostunknown', 'notaccept') AND v_domain <> ''
           AND rebound.setting_bool('suppress_unknown_domains') THEN
            PERFORM rebound.policy_suppress(v_domain, e.reason, 'unknown_domain', e.id, e.status);
        END IF;
    ELSIF e.kind IN ('rejected', 'expired', 'bounced') THEN
        IF e.kind <> 'expired'
           AND coalesce(e.reason, '') = ANY (rebound.setting_list('soft_ignore_reasons')) THEN
            RETURN;
        END IF;
        lim := rebound.setting_int('soft_failure_limit');
        IF lim = 0 OR EXISTS (SELECT 1 FROM rebound.suppressions WHERE address = e.recipient) THEN
            RETURN;
        END IF;
        SELECT c.failures INTO n FROM rebound.soft_failure_counts c WHERE c.address = e.recipient;
        IF coalesce(n, 0) >= lim THEN
            PERFORM rebound.policy_suppress(e.recipient, e.reason, 'soft', e.id,
                format('%s soft failures within %s days', n,
                       rebound.setting_int('soft_failure_days')));
        END IF;
    END IF;
    -- delayed, auto_reply and unknown never count.
END $$;

-- An event that becomes verified later (its message's recipients came
-- after it) gets the policy then.
CREATE FUNCTION rebound.events_policy_upgrade() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM rebound.apply_policy_guarded(NEW);
    RETURN NULL;
END $$;
CREATE TRIGGER events_policy_upgrade AFTER UPDATE OF provenance ON rebound.events
    FOR EACH ROW WHEN (OLD.provenance IS DISTINCT FROM NEW.provenance)
    EXECUTE FUNCTION rebound.events_policy_upgrade();

-- Live events ----------------------------------------------------------

CREATE OR REPLACE FUNCTION rebound.event_payload(e rebound.events) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    token text;
    tags  jsonb;
    head  text;
    p     text;
BEGIN
    SELECT m.token, m.tags INTO token, tags FROM rebound.messages m WHERE m.id = e.message_id;
    head := '{"id":' || e.id
         || ',"kind":' || to_json(e.kind)::text
         || ',"recipient":' || coalesce(to_json(e.recipient)::text, 'null')
         || ',"reason":' || coalesce(to_json(e.reason)::text, 'null')
         || ',"hard":' || CASE WHEN e.hard THEN 'true' ELSE 'false' END
         || ',"provenance":' || to_json(e.provenance)::text
         || ',"token":' || coalesce(to_json(token)::text, 'null');
    p := head || ',"tags":' || coalesce(tags::text, 'null') || '}';
    IF octet_length(p) >= 8000 THEN
        p := head || ',"tags":null,"truncated":true}';
    END IF;
    IF octet_length(p) >= 8000 THEN
        p := '{"id":' || e.id || ',"kind":' || to_json(e.kind)::text || ',"truncated":true}';
    END IF;
    RETURN p;
END $$;

-- An upgrade is news too: listeners hear the event again, now verified.
CREATE TRIGGER events_notify_upgrade AFTER UPDATE OF provenance ON rebound.events
    FOR EACH ROW WHEN (OLD.provenance IS DISTINCT FROM NEW.provenance)
    EXECUTE FUNCTION rebound.events_notify();

-- Views ----------------------------------------------------------------

CREATE OR REPLACE VIEW rebound.failures AS
SELECT e.id, e.received_at, e.received_at::date AS day, e.kind, e.sync, e.source,
       e.recipient, nullif(split_part(e.recipient, '@', 2), '') AS domain,
       e.reason, e.category, e.hard, e.status, e.reply_code, e.diagnostic,
       e.message_id, m.token,
       CASE WHEN jsonb_typeof(m.tags) = 'object' THEN m.tags ELSE '{}' END AS tags,
       e.provenance
  FROM rebound.events e
  LEFT JOIN rebound.messages m ON m.id = e.message_id
 WHERE e.kind IN ('rejected', 'expired', 'bounced')
   AND NOT (e.source = 'milter' AND coalesce(e.rule, '') = 'suppressed');

CREATE OR REPLACE VIEW rebound.failures_by_day AS
SELECT day,
       count(*) AS failures,
       count(*) FILTER (WHERE hard) AS hard,
       count(*) FILTER (WHERE NOT hard) AS soft,
       count(*) FILTER (WHERE kind = 'rejected') AS rejected,
       count(*) FILTER (WHERE kind = 'expired') AS expired,
       count(*) FILTER (WHERE kind = 'bounced') AS bounced,
       count(DISTINCT recipient) AS addresses,
       count(*) FILTER (WHERE provenance = 'unverified') AS unverified
  FROM rebound.failures
 GROUP BY day;

CREATE OR REPLACE VIEW rebound.failures_by_domain AS
SELECT day, domain,
       count(*) AS failures,
       count(*) FILTER (WHERE hard) AS hard,
       count(*) FILTER (WHERE NOT hard) AS soft,
       count(DISTINCT recipient) AS addresses,
       count(*) FILTER (WHERE provenance = 'unverified') AS unverified
  FROM rebound.failures
 GROUP BY day, domain;

-- Events that need a person.  New: "unverified", a hard failure or a
-- complaint that would have suppressed its address had it been
-- corroborated: a forgery, or a report whose evidence is missing.
CREATE OR REPLACE VIEW rebound.awaiting_review AS
SELECT e.id, e.received_at, p.problem, e.kind, e.recipient, e.reason, e.queue_id,
       e.bounce_address, e.raw_message_id, r.size AS raw_size, r.parse_error
  FROM rebound.events e
 CROSS JOIN LATERAL (SELECT CASE
        WHEN e.kind = 'unknown' THEN 'unparsed'
        WHEN e.recipient IS NULL THEN 'no_recipient'
        WHEN e.provenance = 'unverified'
             AND ((e.kind IN ('rejected', 'expired', 'bounced') AND e.hard)
                  OR e.kind = 'complaint') THEN 'unverified'
        WHEN e.message_id IS NULL
             AND e.kind IN ('rejected', 'expired', 'bounced', 'complaint')
             AND NOT (e.source = 'milter' AND coalesce(e.rule, '') = 'suppressed')
             AND EXISTS (SELECT 1 FROM rebound.messages) THEN 'unlinked'
    END AS problem) p
  LEFT JOIN rebound.raw_messages r ON r.id = e.raw_message_id
 WHERE p.problem IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM rebound.reviews v WHERE v.event_id = e.id)
 ORDER BY e.id;

INSERT INTO rebound.schema_version (version, description)
VALUES (6, 'provenance of events; the policy acts on evidence only');
COMMIT;
