-- 007: decisions users can revise and trust.
--
--   * Every bounce is kept raw (rebound.conf raw_messages = all is the
--     new default), for raw_retention_days; rebound.purge_raw() drops
--     older raw copies and keeps their events.  A raw copy records how it
--     reached rebound-pipe (local_origin), so that it can be read again
--     exactly as it was read then.
--   * Every event records the digest of the rule set that classified it
--     (rules_digest), and rebound.event_draft() builds an event from what
--     rebound-pipe read, for rebound-pipe's insert and for "rebound
--     reclassify" alike.
--   * Each failure gets its reply template (codes and text, with
--     addresses, numbers, ids and dates masked) and its receiving
--     provider; a burst of one template from one provider for many
--     recipients opens an incident, which holds the suppressions the
--     burst would cause until it is closed as real or sender-side.
--   * "rebound reclassify" runs are recorded with the previous values of
--     what they changed, so that they can be undone.
--   * Rule telemetry: decisions per rule per day, and the templates no
--     rule understood.
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('rebound.schema'));

-- Raw copies ---------------------------------------------------------------

-- Events find their raw copy, and a purge of raw copies finds its events,
-- through this index: without it every raw copy deleted would scan the
-- events for the foreign key.
CREATE INDEX events_raw_message_id_idx ON rebound.events (raw_message_id);

-- Whether rebound-pipe got the bounce from Postfix itself, with no SMTP
-- client: our own Postfix wrote it, and its failures were synchronous.
-- Older copies did not record it; their events did (sync).
ALTER TABLE rebound.raw_messages ADD COLUMN local_origin boolean NOT NULL DEFAULT false;
UPDATE rebound.raw_messages r SET local_origin = true
 WHERE EXISTS (SELECT 1 FROM rebound.events e
                WHERE e.raw_message_id = r.id AND e.source = 'pipe' AND e.sync);

-- The rule set that decided ----------------------------------------------

ALTER TABLE rebound.events ADD COLUMN rules_digest text;

-- event_draft - the event rebound-pipe records for one recipient of a
-- report, not yet inserted.  Its message is the one its signed token
-- names, or else the newest with the Message-ID the report quotes.  The
-- milter stores a message a moment after it is accepted, and a bounce can
-- come sooner; so a verified token whose message is not there yet makes
-- its row, which the milter's insert completes.  A single-recipient token
-- names that recipient even when the report does not.  rebound-pipe
-- inserts the draft; "rebound reclassify" compares it with the event the
-- same bounce made before.  The triggers on rebound.events (corroboration,
-- incidents, the policy) act on the insert, not here.
CREATE FUNCTION rebound.event_draft(
    p_kind text, p_sync boolean, p_source text, p_recipient text, p_reason text,
    p_category text, p_hard boolean, p_status text, p_reply_code smallint, p_action text,
    p_diagnostic text, p_remote_mta text, p_reporting_mta text, p_feedback_type text,
    p_rule text, p_queue_id text, p_orig_queue_id text, p_bounce_address text,
    p_token text, p_orig_message_id text, p_raw_message_id bigint, p_dedup_key text,
    p_single_recipient boolean, p_provenance text, p_token_verified boolean,
    p_report_recipients integer, p_rules_digest text)
RETURNS rebound.events
LANGUAGE plpgsql AS $$
DECLARE
    e     rebound.events;
    mid   bigint;
    raddr text;
BEGIN
    IF p_token IS NOT NULL THEN
        SELECT id INTO mid FROM rebound.messages WHERE token = p_token;
        IF mid IS NULL THEN
            INSERT INTO rebound.messages (token) VALUES (p_token)
            ON CONFLICT (token) DO UPDATE SET token = EXCLUDED.token
            RETURNING id INTO mid;
        END IF;
    END IF;
    IF mid IS NULL AND p_orig_message_id IS NOT NULL THEN
        SELECT id INTO mid FROM rebound.messages WHERE message_id_header = p_orig_message_id
         ORDER BY created_at DESC LIMIT 1;
    END IF;
    IF mid IS NOT NULL THEN
        SELECT rc.id, rc.address INTO e.recipient_id, raddr FROM rebound.recipients rc
         WHERE rc.message_id = mid AND (rc.address = p_recipient OR p_single_recipient)
         ORDER BY rc.address IS NOT DISTINCT FROM p_recipient DESC LIMIT 1;
    END IF;
    e.kind := p_kind;
    e.sync := p_sync;
    e.source := p_source;
    e.recipient := coalesce(p_recipient, raddr);
    e.reason := p_reason;
    e.category := p_category;
    e.hard := p_hard;
    e.status := p_status;
    e.reply_code := p_reply_code;
    e.action := p_action;
    e.diagnostic := p_diagnostic;
    e.remote_mta := p_remote_mta;
    e.reporting_mta := p_reporting_mta;
    e.feedback_type := p_feedback_type;
    e.rule := p_rule;
    e.queue_id := p_queue_id;
    e.orig_queue_id := p_orig_queue_id;
    e.bounce_address := p_bounce_address;
    e.message_id := mid;
    e.raw_message_id := p_raw_message_id;
    e.dedup_key := p_dedup_key;
    e.provenance := p_provenance;
    e.token_verified := p_token_verified;
    e.report_recipients := p_report_recipients;
    e.rules_digest := p_rules_digest;
    RETURN e;
END $$;

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
        WHEN 'raw_retention_days' THEN '90'
        WHEN 'incident_recipients' THEN '50'
        WHEN 'incident_share' THEN '30'
        WHEN 'incident_minutes' THEN '60'
        WHEN 'incident_close_hours' THEN '72'
        WHEN 'incident_auto_outcome' THEN 'sender_side'
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
    ELSIF p_name = 'raw_retention_days' THEN
        IF p_value !~ '^\s*[0-9]{1,5}\s*$' THEN
            RETURN 'want a number of days from 0 (keep for ever) to 99999';
        END IF;
    ELSIF p_name = 'incident_recipients' THEN
        IF p_value !~ '^\s*[0-9]{1,6}\s*$' THEN
            RETURN 'want a number of recipients from 0 (no incidents) to 999999';
        END IF;
    ELSIF p_name = 'incident_share' THEN
        IF p_value !~ '^\s*[0-9]{1,3}\s*$' OR btrim(p_value)::integer > 100 THEN
            RETURN 'want a percentage from 0 (the count alone decides) to 100';
        END IF;
    ELSIF p_name = 'incident_minutes' THEN
        IF p_value !~ '^\s*[0-9]{1,5}\s*$' OR btrim(p_value)::integer NOT BETWEEN 1 AND 10080 THEN
            RETURN 'want a number of minutes from 1 to 10080 (a week)';
        END IF;
    ELSIF p_name = 'incident_close_hours' THEN
        IF p_value !~ '^\s*[0-9]{1,4}\s*$' THEN
            RETURN 'want a number of hours from 0 (never close by itself) to 9999';
        END IF;
    ELSIF p_name = 'incident_auto_outcome' THEN
        IF lower(btrim(p_value)) NOT IN ('real', 'sender_side') THEN
            RETURN 'want real or sender_side';
        END IF;
    END IF;
    RETURN NULL;
END $$;

INSERT INTO rebound.settings (name, value, description)
SELECT s.name, rebound.setting_default(s.name), s.description
  FROM (VALUES
    ('raw_retention_days',
     'Days raw copies of bounces are kept; rebound.purge_raw() drops older ones and keeps '
     'their events; 0: keep for ever.'),
    ('incident_recipients',
     'Distinct recipients failing with one reply template at one provider within '
     'incident_minutes that make an incident; 0: never.'),
    ('incident_share',
     'And the share of the recipients sent to at their domains, in percent, that they must '
     'make up; 0: the count alone decides.'),
    ('incident_minutes',
     'The window, in minutes, in which a burst is counted.'),
    ('incident_close_hours',
     'Hours after its last failure that an open incident closes by itself with '
     'incident_auto_outcome; 0: never.'),
    ('incident_auto_outcome',
     'How an incident closes by itself: sender_side (held suppressions released) or real '
     '(they apply).')
  ) AS s (name, description);

-- Retention ----------------------------------------------------------------

-- purge_raw - drop the raw copies older than raw_retention_days (or
-- p_days), keeping their events.  The one copy of a report nobody could
-- read is kept while its event awaits review.  Returns the number dropped.
CREATE FUNCTION rebound.purge_raw(p_days integer DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_days integer := coalesce(p_days, rebound.setting_int('raw_retention_days'));
    n      bigint;
BEGIN
    IF v_days <= 0 THEN
        RETURN 0;
    END IF;
    DELETE FROM rebound.raw_messages r
     WHERE r.received_at < now() - make_interval(days => v_days)
       AND NOT EXISTS (SELECT 1 FROM rebound.events e
                        WHERE e.raw_message_id = r.id AND e.kind = 'unknown'
                          AND NOT EXISTS (SELECT 1 FROM rebound.reviews v
                                           WHERE v.event_id = e.id));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- Reply templates and providers ---------------------------------------------

-- reply_template - a reply as a template: its reply code and status, then
-- its text in lower case with addresses, dates, times, and every word that
-- holds a digit (ids, numbers, addresses of hosts) masked, so that the same
-- refusal to many recipients is one template.  A single expression, so
-- that it can serve an index and a view.
CREATE FUNCTION rebound.reply_template(p_status text, p_code smallint, p_diagnostic text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(left(concat_ws(' ', p_code::text, p_status, nullif(btrim(
        regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
        regexp_replace(regexp_replace(regexp_replace(
            lower(left(coalesce(p_diagnostic, ''), 2000)),
            -- addresses, in brackets or not
            '<[^<>[:space:]]*@[^<>[:space:]]*>', '<addr>', 'g'),
            '[^][[:space:]<>()"'',;:]+@[a-z0-9.-]+', '<addr>', 'g'),
            -- reply codes and statuses: the template starts with them already
            '\m[245][0-9][0-9][ -]#?[245]\.[0-9]{1,3}\.[0-9]{1,3}\M', ' ', 'g'),
            '(^|[[:space:]#(])[245]\.[0-9]{1,3}\.[0-9]{1,3}\M', '\1 ', 'g'),
            '^[[:space:]]*[245][0-9][0-9]\M-?', ' '),
            -- dates and times
            '\m(((mon|tue|wed|thu|fri|sat|sun)[a-z]*,?[[:space:]]+)?[0-9]{1,2}[[:space:]]+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*[[:space:]]+[0-9]{2,4}|[0-9]{4}-[0-9]{2}-[0-9]{2}(t[0-9:.]+(z|[+-][0-9:]+)?)?)\M',
            '<date>', 'g'),
            -- whatever holds a digit: ids, counts, hosts' addresses, times
            '[^][[:space:]<>()"'',;]*[0-9][^][[:space:]<>()"'',;]*', '#', 'g'),
            '[[:space:]]+', ' ', 'g')), '')), 300), '')
$$;

-- provider_key - who refused: the domain of the remote MTA (its last two
-- labels, or three under a country's second-level domain such as co.uk),
-- an address as it is, or else the recipient's domain.
CREATE FUNCTION rebound.provider_key(p_remote_mta text, p_recipient text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN h = '' THEN nullif(lower(split_part(coalesce(p_recipient, ''), '@', 2)), '')
        WHEN h ~ '^[0-9.]+$' OR h ~ ':' THEN h
        WHEN n >= 3 AND length(l[n]) = 2
             AND l[n - 1] IN ('ac', 'co', 'com', 'edu', 'gov', 'go', 'ne', 'net', 'or', 'org',
                              'ltd', 'plc', 'gr', 'lg', 'ad', 'ed', 'mil', 'nic', 'sch')
            THEN l[n - 2] || '.' || l[n - 1] || '.' || l[n]
        WHEN n >= 2 THEN l[n - 1] || '.' || l[n]
        ELSE h
    END
      FROM (SELECT h, l, cardinality(l) AS n
              FROM (SELECT h, string_to_array(h, '.') AS l
                      FROM (SELECT lower(btrim(split_part(btrim(regexp_replace(
                                       coalesce(p_remote_mta, ''), '^[[:alnum:]-]+;', '')), ' ', 1),
                                       '[].;')) AS h) a) b) c
$$;

ALTER TABLE rebound.events
    ADD COLUMN provider_key text,
    ADD COLUMN reply_template text;
UPDATE rebound.events
   SET provider_key = rebound.provider_key(remote_mta, recipient),
       reply_template = rebound.reply_template(status, reply_code, diagnostic);

-- Incidents ----------------------------------------------------------------

-- A burst of failures from one provider with one reply template, for more
-- recipients (incident_recipients), and a larger share of the recipients
-- sent to at their domains (incident_share), than a normal mailing's
-- unknown users make.  While it is open, the suppressions its failures
-- would make are held (rebound.provisional_suppressions), not enforced.
CREATE TABLE rebound.incidents (
    id                 bigserial PRIMARY KEY,
    provider_key       text NOT NULL,
    reply_template     text NOT NULL,
    status             text NOT NULL DEFAULT 'open'
                           CHECK (status IN ('open', 'real', 'sender_side')),
    opened_at          timestamptz NOT NULL DEFAULT now(),
    first_at           timestamptz NOT NULL,   -- the first failure of the burst
    last_at            timestamptz NOT NULL,   -- the latest
    recipients_at_open integer NOT NULL,       -- distinct recipients when it opened
    sent_at_open       bigint,                 -- recipients sent to at their domains
    example            text,                   -- the diagnostic that opened it
    closed_at          timestamptz,
    closed_by          text,                   -- a person, or "auto"
    close_note         text
);
CREATE INDEX incidents_open_idx ON rebound.incidents (provider_key, reply_template)
    WHERE status = 'open';

ALTER TABLE rebound.events
    ADD COLUMN incident_id bigint REFERENCES rebound.incidents (id) ON DELETE SET NULL;
CREATE INDEX events_incident_idx ON rebound.events (incident_id) WHERE incident_id IS NOT NULL;
-- The failures of one template from one provider, by time: a burst.
CREATE INDEX events_burst_idx ON rebound.events (provider_key, reply_template, received_at)
    WHERE kind IN ('rejected', 'expired', 'bounced');

-- Suppressions an open incident holds: recorded, never enforced (the
-- milter reads rebound.suppressions only), never counted.  Closing the
-- incident as real applies them; as sender-side releases them.
CREATE TABLE rebound.provisional_suppressions (
    incident_id bigint NOT NULL REFERENCES rebound.incidents (id) ON DELETE CASCADE,
    address     text NOT NULL,
    reason      text NOT NULL,
    basis       text NOT NULL,
    event_id    bigint REFERENCES rebound.events (id) ON DELETE SET NULL,
    note        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    state       text NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'applied', 'released')),
    resolved_at timestamptz,
    PRIMARY KEY (incident_id, address)
);
CREATE INDEX provisional_suppressions_address_idx ON rebound.provisional_suppressions (address);

-- incident_counts - whether failure x counts in a burst: trusted, and one
-- the policy would act on (hard, an expiry, or a soft failure whose reason
-- is not ignored).  v_verp and v_ignore are verp_trusted() and
-- soft_ignore_reasons, read once by the caller.
CREATE FUNCTION rebound.incident_counts(x rebound.events, v_verp boolean, v_ignore text[])
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT x.kind IN ('rejected', 'expired', 'bounced')
       AND coalesce(x.recipient, '') <> ''
       AND NOT (x.source = 'milter' AND coalesce(x.rule, '') = 'suppressed')
       AND (x.hard OR x.kind = 'expired' OR coalesce(x.reason, '') <> ALL (v_ignore))
       AND (x.provenance = 'verified' OR (x.provenance = 'verp' AND v_verp))
$$;

-- suppressions_history - as in 004, and a change the policy itself makes
-- when it looks again (an incident holding what a burst suppressed,
-- "rebound reclassify") is recorded as the policy's, with the actor that
-- rebound.actor names, and does not start the soft-failure count again.
CREATE OR REPLACE FUNCTION rebound.suppressions_history() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_actor  text := coalesce(nullif(current_setting('rebound.actor', true), ''), session_user);
    v_note   text := nullif(current_setting('rebound.note', true), '');
    v_policy boolean := coalesce(current_setting('rebound.policy_change', true), '') = 'on';
    v_source text := CASE WHEN v_policy THEN 'policy' ELSE 'manual' END;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO rebound.suppression_history
            (address, action, reason, basis, source, actor, note, event_id)
        VALUES (NEW.address, 'add', NEW.reason, NEW.basis, NEW.source,
                CASE WHEN NEW.source = 'manual' THEN coalesce(NEW.actor, v_actor)
                     WHEN v_policy THEN v_actor END,
                coalesce(v_note, NEW.note), NEW.event_id);
        IF NEW.source = 'manual' AND NOT v_policy THEN
            PERFORM rebound.reset_soft_count(NEW.address, NULL, 'manual');
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        -- Purging old events nulls event_id: that is not a change of the list.
        IF (NEW.address, NEW.reason, NEW.source, NEW.basis, NEW.actor, NEW.note)
           IS NOT DISTINCT FROM
           (OLD.address, OLD.reason, OLD.source, OLD.basis, OLD.actor, OLD.note) THEN
            RETURN NULL;
        END IF;
        INSERT INTO rebound.suppression_history
            (address, action, reason, basis, source, actor, note, event_id)
        VALUES (NEW.address, 'update', NEW.reason, NEW.basis, v_source, v_actor,
                coalesce(v_note, NEW.note), NEW.event_id);
        IF NOT v_policy THEN
            PERFORM rebound.reset_soft_count(NEW.address, NULL, 'manual');
        END IF;
    ELSE
        INSERT INTO rebound.suppression_history
            (address, action, reason, basis, source, actor, note, event_id)
        VALUES (OLD.address, 'remove', OLD.reason, OLD.basis, v_source, v_actor, v_note,
                OLD.event_id);
        IF NOT v_policy THEN
            PERFORM rebound.reset_soft_count(OLD.address, NULL, 'manual');
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- policy_change - mark what follows in this transaction as the policy's
-- own revision, by actor, or (actor NULL) end that.
CREATE FUNCTION rebound.policy_change(p_actor text, p_note text DEFAULT NULL) RETURNS void
LANGUAGE sql AS $$
    SELECT set_config('rebound.policy_change', CASE WHEN p_actor IS NULL THEN '' ELSE 'on' END,
                      true),
           set_config('rebound.actor', coalesce(p_actor, ''), true),
           set_config('rebound.note', coalesce(p_note, ''), true);
$$;

-- incident_hold - the suppressions the events of incident p_id made
-- before it opened are held instead: out of the list (the milter stops
-- refusing those addresses), into provisional_suppressions.
CREATE FUNCTION rebound.incident_hold(p_id bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM rebound.policy_change('incident ' || p_id,
                                  'held while incident ' || p_id || ' is open');
    WITH moved AS (
        DELETE FROM rebound.suppressions s
         WHERE s.source = 'policy' AND s.basis IN ('hard', 'soft', 'unknown_domain')
           AND s.event_id IN (SELECT id FROM rebound.events WHERE incident_id = p_id)
        RETURNING s.*)
    INSERT INTO rebound.provisional_suppressions
        (incident_id, address, reason, basis, event_id, note, created_at)
    SELECT p_id, address, reason, basis, event_id, note, created_at FROM moved
    ON CONFLICT (incident_id, address) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM rebound.policy_change(NULL);
    RETURN n;
END $$;

-- incident_join - the incident failure e belongs to: the open one of its
-- provider and template while the burst goes on, or one it opens when it
-- makes the burst large enough.  The share of the recipients sent to is
-- looked at when the count reaches incident_recipients, and each time it
-- doubles, so that a large mailing's scattered unknown users cost a few
-- queries, not one per failure.
CREATE FUNCTION rebound.incident_join(e rebound.events) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_min     integer := rebound.setting_int('incident_recipients');
    v_share   integer := rebound.setting_int('incident_share');
    v_win     interval := make_interval(mins => rebound.setting_int('incident_minutes'));
    v_verp    boolean;
    v_ignore  text[];
    v_id      bigint;
    v_first   timestamptz;
    v_domains text[];
    n         bigint;
    v_sent    bigint;
BEGIN
    IF v_min = 0 OR e.provider_key IS NULL OR e.reply_template IS NULL THEN
        RETURN NULL;
    END IF;
    -- One burst, one incident: two writers must not both open it.
    PERFORM pg_advisory_xact_lock(hashtext('rebound.incident'),
                                  hashtext(e.provider_key || ' ' || e.reply_template));
    SELECT id INTO v_id FROM rebound.incidents
     WHERE status = 'open' AND provider_key = e.provider_key
       AND reply_template = e.reply_template AND last_at > e.received_at - v_win
     ORDER BY id DESC LIMIT 1;
    IF v_id IS NOT NULL THEN
        UPDATE rebound.incidents SET last_at = greatest(last_at, e.received_at) WHERE id = v_id;
        RETURN v_id;
    END IF;
    v_verp := rebound.verp_trusted();
    v_ignore := rebound.setting_list('soft_ignore_reasons');
    SELECT count(DISTINCT x.recipient) FILTER (WHERE x.recipient <> e.recipient) + 1,
           least(min(x.received_at), e.received_at),
           array_agg(DISTINCT split_part(x.recipient, '@', 2))
      INTO n, v_first, v_domains
      FROM rebound.events x
     WHERE x.kind IN ('rejected', 'expired', 'bounced')
       AND x.provider_key = e.provider_key AND x.reply_template = e.reply_template
       AND x.received_at > e.received_at - v_win AND x.received_at <= e.received_at
       AND x.incident_id IS NULL AND x.id <> e.id
       AND rebound.incident_counts(x, v_verp, v_ignore);
    IF n < v_min OR n % v_min <> 0 OR ((n / v_min) & (n / v_min - 1)) <> 0 THEN
        RETURN NULL;
    END IF;
    v_domains := array_append(coalesce(v_domains, '{}'), split_part(e.recipient, '@', 2));
    IF v_share > 0 THEN
        SELECT count(DISTINCT r.address) INTO v_sent
          FROM rebound.messages m JOIN rebound.recipients r ON r.message_id = m.id
         WHERE m.created_at > e.received_at - 2 * v_win AND m.created_at <= e.received_at
           AND split_part(r.address, '@', 2) = ANY (v_domains);
        IF v_sent = 0 OR n * 100 < v_share::bigint * v_sent THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO rebound.incidents (provider_key, reply_template, first_at, last_at,
                                   recipients_at_open, sent_at_open, example)
    VALUES (e.provider_key, e.reply_template, v_first, e.received_at, n, v_sent,
            left(e.diagnostic, 1000))
    RETURNING id INTO v_id;
    UPDATE rebound.events x SET incident_id = v_id
     WHERE x.kind IN ('rejected', 'expired', 'bounced')
       AND x.provider_key = e.provider_key AND x.reply_template = e.reply_template
       AND x.received_at > e.received_at - v_win AND x.received_at <= e.received_at
       AND x.incident_id IS NULL AND x.id <> e.id
       AND rebound.incident_counts(x, v_verp, v_ignore);
    PERFORM rebound.incident_hold(v_id);
    RETURN v_id;
END $$;

-- events_burst - every event's provider and reply template, and a
-- trusted failure's incident.  Before the insert (after events_corroborate,
-- by name), so that the policy sees the incident; again when an event
-- becomes trusted later.  A revision by "rebound reclassify" keeps the
-- incident an event had: that is a fact of when it came.
CREATE FUNCTION rebound.events_burst() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.provider_key := rebound.provider_key(NEW.remote_mta, NEW.recipient);
    NEW.reply_template := rebound.reply_template(NEW.status, NEW.reply_code, NEW.diagnostic);
    IF NEW.incident_id IS NULL
       AND (TG_OP = 'INSERT' OR (NEW.provenance IS DISTINCT FROM OLD.provenance
                                 AND coalesce(current_setting('rebound.replaying', true), '') <> 'on'))
       AND rebound.incident_counts(NEW, rebound.verp_trusted(),
                                   rebound.setting_list('soft_ignore_reasons')) THEN
        BEGIN
            NEW.incident_id := rebound.incident_join(NEW);
        EXCEPTION WHEN OTHERS THEN
            -- As with the policy: never make the insert fail.
            RAISE WARNING 'rebound: no incident check for event %: %', NEW.id, SQLERRM;
            BEGIN
                INSERT INTO rebound.policy_errors (event_id, error) VALUES (NULL, SQLERRM);
            EXCEPTION WHEN OTHERS THEN
                NULL;
            END;
        END;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER events_burst BEFORE INSERT OR UPDATE OF provenance, status, reply_code,
    diagnostic, remote_mta, recipient ON rebound.events
    FOR EACH ROW EXECUTE FUNCTION rebound.events_burst();

-- events_policy - as in 004, with the incident the event belongs to now:
-- an event inserted with others in one statement (the milter's batches)
-- is found part of a burst by a later one of them, after it was inserted
-- and before this trigger, which fires at the end of the statement.
CREATE OR REPLACE FUNCTION rebound.events_policy() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    e rebound.events := NEW;
BEGIN
    SELECT incident_id INTO e.incident_id FROM rebound.events WHERE id = NEW.id;
    PERFORM rebound.apply_policy_guarded(e);
    RETURN NULL;
END $$;

-- provisional_suppress - what an open incident holds instead of suppressing
CREATE FUNCTION rebound.provisional_suppress(p_incident bigint, p_address text, p_reason text,
                                             p_basis text, p_event_id bigint,
                                             p_note text DEFAULT NULL) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO rebound.provisional_suppressions
        (incident_id, address, reason, basis, event_id, note)
    VALUES (p_incident, lower(p_address), coalesce(p_reason, 'undefined'), p_basis, p_event_id,
            p_note)
    ON CONFLICT (incident_id, address) DO NOTHING;
$$;

-- policy_act - suppress, or hold when the event's incident is open
CREATE FUNCTION rebound.policy_act(p_held bigint, p_address text, p_reason text, p_basis text,
                                   p_event_id bigint, p_note text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_held IS NOT NULL THEN
        PERFORM rebound.provisional_suppress(p_held, p_address, p_reason, p_basis, p_event_id,
                                             p_note);
    ELSE
        PERFORM rebound.policy_suppress(p_address, p_reason, p_basis, p_event_id, p_note);
    END IF;
END $$;

-- Soft failures count when trusted (006) and not part of an incident that
-- is open or blamed on the sender.
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
   AND (e.incident_id IS NULL
        OR EXISTS (SELECT 1 FROM rebound.incidents i WHERE i.id = e.incident_id AND i.status = 'real'))
 GROUP BY e.recipient;

-- apply_policy - as in 006, and an event of an incident: nothing while the
-- incident is blamed on the sender; while it is open, a hard failure is
-- held (provisional_suppressions) and a soft one waits for the verdict.
CREATE OR REPLACE FUNCTION rebound.apply_policy(e rebound.events) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n        bigint;
    lim      integer;
    v_domain text;
    v_state  text;
    v_held   bigint;
BEGIN
    IF coalesce(e.recipient, '') = '' OR NOT rebound.event_trusted(e) THEN
        RETURN;
    END IF;
    -- The milter refusing a suppressed recipient is no new evidence.
    IF e.source = 'milter' AND e.rule = 'suppressed' THEN
        RETURN;
    END IF;
    IF e.incident_id IS NOT NULL THEN
        SELECT status INTO v_state FROM rebound.incidents WHERE id = e.incident_id;
        IF v_state = 'sender_side' OR (v_state = 'open' AND NOT e.hard) THEN
            RETURN;
        END IF;
        IF v_state = 'open' THEN
            v_held := e.incident_id;
        END IF;
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
        PERFORM rebound.policy_act(v_held, e.recipient, e.reason, 'hard', e.id, e.status);
        -- Only our own MTA's finding condemns a whole domain: a remote's
        -- report may be about a forwarding target, not our recipient, and
        -- sync is set only for reports that our own Postfix wrote.
        v_domain := split_part(e.recipient, '@', 2);
        IF e.sync AND e.reason IN ('hostunknown', 'notaccept') AND v_domain <> ''
           AND rebound.setting_bool('suppress_unknown_domains') THEN
            PERFORM rebound.policy_act(v_held, v_domain, e.reason, 'unknown_domain', e.id,
                                       e.status);
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

-- incident_close - close an open incident as real (what it held applies:
-- the policy looks at its events again, now counted) or sender_side (what
-- it held is released, and its events never count).  Returns how many
-- held suppressions it resolved.
CREATE FUNCTION rebound.incident_close(p_id bigint, p_outcome text, p_actor text DEFAULT NULL,
                                       p_note text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
    e        rebound.events;
    n        bigint;
BEGIN
    IF p_outcome IS NULL OR p_outcome NOT IN ('real', 'sender_side') THEN
        RAISE EXCEPTION 'an incident closes as real or sender_side, not "%"', p_outcome
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT status INTO v_status FROM rebound.incidents WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no incident %', p_id USING ERRCODE = 'no_data_found';
    END IF;
    IF v_status <> 'open' THEN
        RAISE EXCEPTION 'incident % is closed already (%)', p_id, v_status
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE rebound.incidents
       SET status = p_outcome, closed_at = now(),
           closed_by = coalesce(p_actor, session_user), close_note = p_note
     WHERE id = p_id;
    UPDATE rebound.provisional_suppressions
       SET state = CASE WHEN p_outcome = 'real' THEN 'applied' ELSE 'released' END,
           resolved_at = now()
     WHERE incident_id = p_id AND state = 'held';
    GET DIAGNOSTICS n = ROW_COUNT;
    IF p_outcome = 'real' THEN
        FOR e IN SELECT * FROM rebound.events WHERE incident_id = p_id ORDER BY id LOOP
            PERFORM rebound.apply_policy_guarded(e);
        END LOOP;
    END IF;
    RETURN n;
END $$;

-- close_due_incidents - close, with incident_auto_outcome, the open
-- incidents whose last failure is older than incident_close_hours
CREATE FUNCTION rebound.close_due_incidents() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_hours integer := rebound.setting_int('incident_close_hours');
    v_id    bigint;
    n       integer := 0;
BEGIN
    IF v_hours = 0 THEN
        RETURN 0;
    END IF;
    FOR v_id IN SELECT id FROM rebound.incidents
                 WHERE status = 'open' AND last_at < now() - make_interval(hours => v_hours)
                 ORDER BY id LOOP
        PERFORM rebound.incident_close(v_id, lower(rebound.setting('incident_auto_outcome')),
                                       'auto', format('no failure for %s hours', v_hours));
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- Incidents are announced on channel rebound_incidents when they open and
-- when they close, in compact JSON.
CREATE FUNCTION rebound.incident_payload(i rebound.incidents) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', i.id, 'status', i.status, 'provider', i.provider_key,
                             'template', left(i.reply_template, 300),
                             'recipients', i.recipients_at_open,
                             'held', (SELECT count(*) FROM rebound.provisional_suppressions p
                                       WHERE p.incident_id = i.id AND p.state = 'held'))::text
$$;

CREATE FUNCTION rebound.incidents_notify() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    BEGIN
        PERFORM pg_notify('rebound_incidents', rebound.incident_payload(NEW));
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'rebound: no notification for incident %: %', NEW.id, SQLERRM;
    END;
    RETURN NULL;
END $$;
CREATE TRIGGER incidents_notify AFTER INSERT OR UPDATE OF status ON rebound.incidents
    FOR EACH ROW EXECUTE FUNCTION rebound.incidents_notify();

-- Incidents as people read them.
CREATE VIEW rebound.incident_summary AS
SELECT i.id, i.status, i.provider_key, i.reply_template, i.opened_at, i.first_at, i.last_at,
       (SELECT count(*) FROM rebound.events e WHERE e.incident_id = i.id) AS events,
       (SELECT count(DISTINCT e.recipient) FROM rebound.events e WHERE e.incident_id = i.id)
           AS recipients,
       i.sent_at_open,
       (SELECT count(*) FROM rebound.provisional_suppressions p
         WHERE p.incident_id = i.id AND p.state = 'held') AS held,
       (SELECT count(*) FROM rebound.provisional_suppressions p
         WHERE p.incident_id = i.id AND p.state = 'applied') AS applied,
       (SELECT count(*) FROM rebound.provisional_suppressions p
         WHERE p.incident_id = i.id AND p.state = 'released') AS released,
       i.closed_at, i.closed_by, i.close_note, i.example
  FROM rebound.incidents i;

-- Reclassify runs ------------------------------------------------------------
--
-- "rebound reclassify" reads raw copies again with the rules it is given,
-- the same way rebound-pipe read them (common/store), and stages what each
-- makes (rebound.event_draft()) in a temporary table.  reclassify_apply()
-- then revises the events that changed, in place, through the same
-- corroboration and the same policy as a new event, and keeps what each
-- event and each address touched were before, so that reclassify_undo()
-- can put them back as they were.  A dry run is the same work rolled back.
--
-- A revision keeps an event's id, time, queue ids, raw copy and incident:
-- it says again what the same bounce means.  The policy looks again at
-- what the event did: a suppression it made that no trusted event
-- justifies any more is released (recorded as the policy's change, with
-- the run as actor), and what the new verdict calls for is done.  A
-- suppression made by counting soft failures stays: counting again later
-- would need a window that has moved since.

CREATE TABLE rebound.reclassify_runs (
    id           bigserial PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    rules_digest text NOT NULL,
    since        timestamptz,
    until        timestamptz,
    counts       jsonb NOT NULL DEFAULT '{}',
    undone_at    timestamptz,
    undone_by    text
);

-- Each event a run changed or added, as it was and as the run left it.
CREATE TABLE rebound.reclassify_changes (
    run_id   bigint NOT NULL REFERENCES rebound.reclassify_runs (id) ON DELETE CASCADE,
    event_id bigint NOT NULL,
    action   text NOT NULL CHECK (action IN ('update', 'insert')),
    before   jsonb,
    after    jsonb NOT NULL,
    PRIMARY KEY (run_id, event_id)
);
CREATE INDEX reclassify_changes_event_idx ON rebound.reclassify_changes (event_id);

-- Each address (or domain) a run could touch: its suppression, its held
-- suppressions and its soft-failure reset, before and after the run.
CREATE TABLE rebound.reclassify_addresses (
    run_id  bigint NOT NULL REFERENCES rebound.reclassify_runs (id) ON DELETE CASCADE,
    address text NOT NULL,
    before  jsonb NOT NULL,
    after   jsonb,
    PRIMARY KEY (run_id, address)
);

-- address_state - what the list says of an address, as one value
CREATE FUNCTION rebound.address_state(p_address text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'suppression', (SELECT to_jsonb(s) FROM rebound.suppressions s WHERE s.address = p_address),
        'held', coalesce((SELECT jsonb_agg(to_jsonb(p) ORDER BY p.incident_id)
                            FROM rebound.provisional_suppressions p WHERE p.address = p_address),
                         '[]'),
        'reset', (SELECT to_jsonb(r) FROM rebound.soft_resets r WHERE r.address = p_address))
$$;

-- The notification of an event a run revised, or an undo restored.
CREATE FUNCTION rebound.event_payload_revised(e rebound.events, p_key text, p_run bigint)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN octet_length(p) < 7950
                THEN left(p, length(p) - 1) || ',' || to_json(p_key)::text || ':' || p_run || '}'
                ELSE p END
      FROM (SELECT rebound.event_payload(e) AS p) x
$$;

-- Revisions and restorations announce themselves (above), and act on the
-- list themselves: the triggers for a later upgrade stand aside.
CREATE OR REPLACE FUNCTION rebound.events_notify() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND coalesce(current_setting('rebound.replaying', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    BEGIN
        PERFORM pg_notify('rebound_events', rebound.event_payload(NEW));
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'rebound: no notification for event %: %', NEW.id, SQLERRM;
    END;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION rebound.events_policy_upgrade() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF coalesce(current_setting('rebound.replaying', true), '') <> 'on' THEN
        PERFORM rebound.apply_policy_guarded(NEW);
    END IF;
    RETURN NULL;
END $$;

-- event_justifies - the first trusted event that justifies a list entry
-- of this basis for this address now (of incident p_incident, for a held
-- entry), or NULL
CREATE FUNCTION rebound.event_justifying(p_address text, p_basis text,
                                         p_incident bigint DEFAULT NULL) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT e.id FROM rebound.events e
     WHERE CASE WHEN p_basis = 'unknown_domain'
                THEN split_part(e.recipient, '@', 2) = p_address AND e.sync AND e.hard
                     AND e.reason IN ('hostunknown', 'notaccept')
                ELSE e.recipient = p_address END
       AND CASE WHEN p_basis = 'complaint'
                THEN e.kind = 'complaint' AND e.provenance = 'verified'
                     AND lower(coalesce(e.feedback_type, 'abuse')) NOT IN ('not-spam', 'auth-failure')
                ELSE e.kind IN ('rejected', 'expired', 'bounced') AND e.hard END
       AND NOT (e.source = 'milter' AND coalesce(e.rule, '') = 'suppressed')
       AND rebound.event_trusted(e)
       AND CASE WHEN p_incident IS NOT NULL THEN e.incident_id = p_incident
                ELSE e.incident_id IS NULL
                     OR EXISTS (SELECT 1 FROM rebound.incidents i
                                 WHERE i.id = e.incident_id AND i.status = 'real') END
     ORDER BY e.id LIMIT 1
$$;

-- reclassify_release - the entries event p_id made that no trusted event
-- justifies now go; those another event justifies name that one instead.
CREATE FUNCTION rebound.reclassify_release(p_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s rebound.suppressions;
    p rebound.provisional_suppressions;
    j bigint;
BEGIN
    FOR s IN SELECT * FROM rebound.suppressions
              WHERE event_id = p_id AND source = 'policy'
                AND basis IN ('hard', 'complaint', 'unknown_domain') LOOP
        j := rebound.event_justifying(s.address, s.basis);
        IF j IS NULL THEN
            DELETE FROM rebound.suppressions WHERE address = s.address;
        ELSIF j <> p_id THEN
            UPDATE rebound.suppressions SET event_id = j WHERE address = s.address;
        END IF;
    END LOOP;
    FOR p IN SELECT * FROM rebound.provisional_suppressions
              WHERE event_id = p_id AND state = 'held' LOOP
        j := rebound.event_justifying(p.address, p.basis, p.incident_id);
        IF j IS NULL THEN
            DELETE FROM rebound.provisional_suppressions
             WHERE incident_id = p.incident_id AND address = p.address;
        ELSIF j <> p_id THEN
            UPDATE rebound.provisional_suppressions SET event_id = j
             WHERE incident_id = p.incident_id AND address = p.address;
        END IF;
    END LOOP;
END $$;

-- reclassify_note - remember an address's state before run p_run touches it
CREATE FUNCTION rebound.reclassify_note(p_run bigint, p_address text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO rebound.reclassify_addresses (run_id, address, before)
    SELECT p_run, a, rebound.address_state(a)
      FROM unnest(ARRAY[lower(p_address), nullif(split_part(lower(p_address), '@', 2), '')]) a
     WHERE a IS NOT NULL AND a <> ''
    ON CONFLICT (run_id, address) DO NOTHING;
$$;

-- event_restore - write every column of e (but its id) into its row
CREATE FUNCTION rebound.event_restore(e rebound.events) RETURNS void
LANGUAGE sql AS $$
    UPDATE rebound.events
       SET (received_at, kind, sync, source, recipient, reason, category, hard, status,
            reply_code, action, diagnostic, remote_mta, reporting_mta, feedback_type, rule,
            queue_id, orig_queue_id, bounce_address, message_id, recipient_id, raw_message_id,
            dedup_key, provenance, token_verified, report_recipients, reported_recipient,
            rules_digest, provider_key, reply_template, incident_id)
         = (e.received_at, e.kind, e.sync, e.source, e.recipient, e.reason, e.category, e.hard,
            e.status, e.reply_code, e.action, e.diagnostic, e.remote_mta, e.reporting_mta,
            e.feedback_type, e.rule, e.queue_id, e.orig_queue_id, e.bounce_address,
            e.message_id, e.recipient_id, e.raw_message_id, e.dedup_key, e.provenance,
            e.token_verified, e.report_recipients, e.reported_recipient, e.rules_digest,
            e.provider_key, e.reply_template, e.incident_id)
     WHERE id = e.id;
$$;

-- reclassify_event - revise event o with what the bounce makes now (n,
-- corroborated); false when nothing changes
CREATE FUNCTION rebound.reclassify_event(p_run bigint, o rebound.events, n rebound.events)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    c rebound.events := o;
BEGIN
    c.kind := n.kind;
    c.sync := n.sync;
    c.recipient := n.recipient;
    c.reason := n.reason;
    c.category := n.category;
    c.hard := n.hard;
    c.status := n.status;
    c.reply_code := n.reply_code;
    c.action := n.action;
    c.diagnostic := n.diagnostic;
    c.remote_mta := n.remote_mta;
    c.reporting_mta := n.reporting_mta;
    c.feedback_type := n.feedback_type;
    c.rule := n.rule;
    c.provenance := n.provenance;
    c.token_verified := n.token_verified;
    c.report_recipients := n.report_recipients;
    c.reported_recipient := n.reported_recipient;
    -- The message it was linked to stays: a newer one may share its Message-ID.
    c.message_id := coalesce(o.message_id, n.message_id);
    c.recipient_id := CASE WHEN c.recipient IS NOT DISTINCT FROM o.recipient
                           THEN coalesce(o.recipient_id, n.recipient_id) ELSE n.recipient_id END;
    c.provider_key := rebound.provider_key(c.remote_mta, c.recipient);
    c.reply_template := rebound.reply_template(c.status, c.reply_code, c.diagnostic);
    IF n.dedup_key <> o.dedup_key
       AND NOT EXISTS (SELECT 1 FROM rebound.events WHERE dedup_key = n.dedup_key) THEN
        c.dedup_key := n.dedup_key;
    END IF;
    IF c IS NOT DISTINCT FROM o THEN
        RETURN false;
    END IF;
    c.rules_digest := n.rules_digest;
    PERFORM rebound.reclassify_note(p_run, o.recipient);
    PERFORM rebound.reclassify_note(p_run, c.recipient);
    INSERT INTO rebound.reclassify_changes (run_id, event_id, action, before, after)
    VALUES (p_run, o.id, 'update', to_jsonb(o), to_jsonb(c));
    PERFORM rebound.event_restore(c);
    PERFORM rebound.reclassify_release(o.id);
    PERFORM rebound.apply_policy_guarded(c);
    PERFORM pg_notify('rebound_events', rebound.event_payload_revised(c, 'reclassified', p_run));
    RETURN true;
END $$;

-- reclassify_insert - a recipient the bounce names now and no event had:
-- its draft inserted as rebound-pipe inserts one, at the time the bounce
-- came
CREATE FUNCTION rebound.reclassify_insert(p_run bigint, d rebound.events, p_at timestamptz)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    PERFORM rebound.reclassify_note(p_run, d.recipient);
    INSERT INTO rebound.events
        (received_at, kind, sync, source, recipient, reason, category, hard, status, reply_code,
         action, diagnostic, remote_mta, reporting_mta, feedback_type, rule, queue_id,
         orig_queue_id, bounce_address, raw_message_id, dedup_key, message_id, recipient_id,
         provenance, token_verified, report_recipients, rules_digest)
    VALUES (p_at, d.kind, d.sync, d.source, d.recipient, d.reason, d.category, d.hard, d.status,
            d.reply_code, d.action, d.diagnostic, d.remote_mta, d.reporting_mta, d.feedback_type,
            d.rule, d.queue_id, d.orig_queue_id, d.bounce_address, d.raw_message_id, d.dedup_key,
            d.message_id, d.recipient_id, d.provenance, d.token_verified, d.report_recipients,
            d.rules_digest)
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RETURN false;
    END IF;
    INSERT INTO rebound.reclassify_changes (run_id, event_id, action, before, after)
    SELECT p_run, v_id, 'insert', NULL, to_jsonb(e) FROM rebound.events e WHERE e.id = v_id;
    RETURN true;
END $$;

-- reclassify_raw - revise the events of one raw copy with its drafts:
-- each draft goes with the event of the same recipient, or else with the
-- next event left, in order; a draft left over is a new event, an event
-- left over stays as it is.  Returns counts.
CREATE FUNCTION rebound.reclassify_raw(p_run bigint, p_raw bigint)
RETURNS TABLE (events integer, changed integer, inserted integer, kept integer)
LANGUAGE plpgsql AS $$
DECLARE
    olds   rebound.events[];
    drafts rebound.events[];
    news   rebound.events[];
    pair   integer[];
    used   boolean[];
    v_at   timestamptz;
    j      integer;
BEGIN
    SELECT coalesce(array_agg(e ORDER BY e.id), '{}'), min(r.received_at) INTO olds, v_at
      FROM rebound.raw_messages r
      JOIN rebound.events e ON e.raw_message_id = r.id AND e.source = 'pipe'
                           AND e.bounce_address IS NOT DISTINCT FROM r.envelope_recipient
     WHERE r.id = p_raw;
    SELECT coalesce(array_agg(d.draft ORDER BY d.ordinal), '{}'),
           coalesce(array_agg(rebound.event_corroborate(d.draft) ORDER BY d.ordinal), '{}')
      INTO drafts, news
      FROM pg_temp.reclassify_draft d WHERE d.raw_id = p_raw;
    events := cardinality(olds);
    changed := 0;
    inserted := 0;
    pair := array_fill(0, ARRAY[greatest(cardinality(news), 1)]);
    used := array_fill(false, ARRAY[greatest(cardinality(olds), 1)]);
    FOR i IN 1 .. cardinality(news) LOOP
        FOR k IN 1 .. cardinality(olds) LOOP
            IF NOT used[k] AND olds[k].recipient IS NOT DISTINCT FROM news[i].recipient THEN
                pair[i] := k;
                used[k] := true;
                EXIT;
            END IF;
        END LOOP;
    END LOOP;
    j := 1;
    FOR i IN 1 .. cardinality(news) LOOP
        CONTINUE WHEN pair[i] > 0;
        WHILE j <= cardinality(olds) AND used[j] LOOP
            j := j + 1;
        END LOOP;
        IF j <= cardinality(olds) THEN
            pair[i] := j;
            used[j] := true;
        END IF;
    END LOOP;
    FOR i IN 1 .. cardinality(news) LOOP
        IF pair[i] > 0 THEN
            IF rebound.reclassify_event(p_run, olds[pair[i]], news[i]) THEN
                changed := changed + 1;
            END IF;
        ELSIF events > 0 AND rebound.reclassify_insert(p_run, drafts[i], v_at) THEN
            inserted := inserted + 1;
        END IF;
    END LOOP;
    kept := events - (SELECT count(*) FROM unnest(pair) x WHERE x > 0)::integer;
    RETURN NEXT;
END $$;

-- reclassify_begin - a run, and the table its drafts are staged in
CREATE FUNCTION rebound.reclassify_begin(p_actor text, p_digest text, p_since timestamptz,
                                         p_until timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    -- One run at a time: two would judge the same events.
    PERFORM pg_advisory_xact_lock(hashtext('rebound.reclassify'));
    INSERT INTO rebound.reclassify_runs (actor, rules_digest, since, until)
    VALUES (coalesce(p_actor, session_user), p_digest, p_since, p_until)
    RETURNING id INTO v_id;
    CREATE TEMPORARY TABLE IF NOT EXISTS reclassify_draft (
        raw_id  bigint NOT NULL,
        ordinal integer NOT NULL,
        draft   rebound.events NOT NULL
    ) ON COMMIT DROP;
    RETURN v_id;
END $$;

-- reclassify_apply - revise the events of every raw copy staged for run
-- p_run; p_counts holds what the caller counted (raw copies read and
-- skipped).  Returns the run's counts.
CREATE FUNCTION rebound.reclassify_apply(p_run bigint, p_counts jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_raw  bigint;
    t      record;
    c      jsonb;
    n_ev   integer := 0;
    n_ch   integer := 0;
    n_in   integer := 0;
    n_kept integer := 0;
BEGIN
    PERFORM set_config('rebound.replaying', 'on', true);
    PERFORM rebound.policy_change('reclassify run ' || p_run, 'rebound reclassify run ' || p_run);
    FOR v_raw IN SELECT DISTINCT raw_id FROM pg_temp.reclassify_draft ORDER BY raw_id LOOP
        SELECT * INTO t FROM rebound.reclassify_raw(p_run, v_raw);
        n_ev := n_ev + t.events;
        n_ch := n_ch + t.changed;
        n_in := n_in + t.inserted;
        n_kept := n_kept + t.kept;
    END LOOP;
    UPDATE rebound.reclassify_addresses SET after = rebound.address_state(address)
     WHERE run_id = p_run;
    c := coalesce(p_counts, '{}') || jsonb_build_object(
        'events', n_ev, 'changed', n_ch, 'inserted', n_in, 'kept', n_kept,
        'unchanged', n_ev - n_ch - n_kept,
        'suppressed', (SELECT count(*) FROM rebound.reclassify_addresses
                        WHERE run_id = p_run AND before->'suppression' = 'null'
                          AND after->'suppression' <> 'null'),
        'released', (SELECT count(*) FROM rebound.reclassify_addresses
                      WHERE run_id = p_run AND before->'suppression' <> 'null'
                        AND after->'suppression' = 'null'));
    UPDATE rebound.reclassify_runs SET counts = c WHERE id = p_run;
    PERFORM set_config('rebound.replaying', '', true);
    PERFORM rebound.policy_change(NULL);
    RETURN c;
END $$;

-- reclassify_undo - put back what run p_run changed: the events as they
-- were, the events it added gone, and each address it touched as it was,
-- unless something else changed that address since (then it is left, and
-- counted).  Returns counts.
CREATE FUNCTION rebound.reclassify_undo(p_run bigint, p_actor text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_undone timestamptz;
    a        rebound.reclassify_addresses;
    ch       rebound.reclassify_changes;
    o        rebound.events;
    v_later  bigint;
    n_ev     integer := 0;
    n_addr   integer := 0;
    n_left   integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('rebound.reclassify'));
    SELECT undone_at INTO v_undone FROM rebound.reclassify_runs WHERE id = p_run FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no reclassify run %', p_run USING ERRCODE = 'no_data_found';
    END IF;
    IF v_undone IS NOT NULL THEN
        RAISE EXCEPTION 'reclassify run % was undone already', p_run
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT min(c2.run_id) INTO v_later
      FROM rebound.reclassify_changes c1
      JOIN rebound.reclassify_changes c2 ON c2.event_id = c1.event_id AND c2.run_id > p_run
      JOIN rebound.reclassify_runs r2 ON r2.id = c2.run_id AND r2.undone_at IS NULL
     WHERE c1.run_id = p_run;
    IF v_later IS NOT NULL THEN
        RAISE EXCEPTION 'reclassify run % changed some of the same events later: undo it first',
                        v_later USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('rebound.replaying', 'on', true);
    PERFORM rebound.policy_change(coalesce(p_actor, session_user),
                                  'undo of rebound reclassify run ' || p_run);
    -- The list first, while the events it names are all there.
    FOR a IN SELECT * FROM rebound.reclassify_addresses
              WHERE run_id = p_run AND before IS DISTINCT FROM after ORDER BY address LOOP
        IF rebound.address_state(a.address) IS DISTINCT FROM a.after THEN
            n_left := n_left + 1;
            CONTINUE;
        END IF;
        DELETE FROM rebound.suppressions WHERE address = a.address;
        INSERT INTO rebound.suppressions
        SELECT * FROM jsonb_populate_record(NULL::rebound.suppressions, a.before->'suppression')
         WHERE jsonb_typeof(a.before->'suppression') = 'object';
        DELETE FROM rebound.provisional_suppressions WHERE address = a.address;
        INSERT INTO rebound.provisional_suppressions
        SELECT * FROM jsonb_populate_recordset(NULL::rebound.provisional_suppressions,
                                               a.before->'held');
        DELETE FROM rebound.soft_resets WHERE address = a.address;
        INSERT INTO rebound.soft_resets
        SELECT * FROM jsonb_populate_record(NULL::rebound.soft_resets, a.before->'reset')
         WHERE jsonb_typeof(a.before->'reset') = 'object';
        n_addr := n_addr + 1;
    END LOOP;
    FOR ch IN SELECT * FROM rebound.reclassify_changes WHERE run_id = p_run
               ORDER BY event_id DESC LOOP
        IF ch.action = 'insert' THEN
            DELETE FROM rebound.events WHERE id = ch.event_id;
        ELSE
            o := jsonb_populate_record(NULL::rebound.events, ch.before);
            PERFORM rebound.event_restore(o);
            PERFORM pg_notify('rebound_events', rebound.event_payload_revised(o, 'restored', p_run));
        END IF;
        n_ev := n_ev + 1;
    END LOOP;
    UPDATE rebound.reclassify_runs SET undone_at = now(), undone_by = coalesce(p_actor, session_user)
     WHERE id = p_run;
    PERFORM set_config('rebound.replaying', '', true);
    PERFORM rebound.policy_change(NULL);
    RETURN jsonb_build_object('run', p_run, 'events', n_ev, 'addresses', n_addr, 'left', n_left);
END $$;

-- reclassify_diff - the events run p_run added, or whose verdict (kind,
-- reason, hard or soft) or recipient it changed: what "rebound reclassify"
-- reports
CREATE FUNCTION rebound.reclassify_diff(p_run bigint)
RETURNS TABLE (event bigint, action text, old text, new text, old_recipient text,
               new_recipient text, diagnostic text)
LANGUAGE sql STABLE AS $$
    SELECT c.event_id, c.action,
           CASE WHEN c.action = 'insert' THEN '(new event)'
                ELSE concat_ws(' ', b.kind, b.reason, CASE WHEN b.hard THEN 'hard' ELSE 'soft' END)
           END,
           concat_ws(' ', a.kind, a.reason, CASE WHEN a.hard THEN 'hard' ELSE 'soft' END),
           b.recipient, a.recipient, a.diagnostic
      FROM rebound.reclassify_changes c
      LEFT JOIN LATERAL jsonb_populate_record(NULL::rebound.events, c.before) b ON true
     CROSS JOIN LATERAL jsonb_populate_record(NULL::rebound.events, c.after) a
     WHERE c.run_id = p_run
       AND (c.action = 'insert'
            OR (b.kind, b.reason, b.hard, b.recipient) IS DISTINCT FROM
               (a.kind, a.reason, a.hard, a.recipient))
$$;

-- Rule telemetry -----------------------------------------------------------

-- How often each rule decided, per day: the deciding rule of every event,
-- with the rule set that classified it.
CREATE VIEW rebound.rule_decisions AS
SELECT e.received_at::date AS day, coalesce(e.rule, '') AS rule, e.kind, e.reason,
       count(*) AS events,
       count(*) FILTER (WHERE e.hard) AS hard,
       count(DISTINCT e.recipient) AS addresses,
       count(DISTINCT e.rules_digest) AS rule_sets
  FROM rebound.events e
 WHERE e.source = 'pipe'
 GROUP BY 1, 2, 3, 4;

-- The reply templates no rule understood (reason undefined or onhold),
-- grouped, newest first: which rule to write next.
CREATE VIEW rebound.unexplained_replies AS
SELECT e.reply_template AS template,
       count(*) AS events,
       count(DISTINCT e.recipient) AS addresses,
       count(DISTINCT e.provider_key) AS providers,
       min(e.received_at) AS first_at,
       max(e.received_at) AS last_at,
       (array_agg(e.diagnostic ORDER BY e.id DESC))[1] AS example,
       (array_agg(e.id ORDER BY e.id DESC))[1] AS example_event
  FROM rebound.events e
 WHERE e.reason IN ('undefined', 'onhold') AND e.kind <> 'unknown'
   AND e.reply_template IS NOT NULL
 GROUP BY e.reply_template;

-- maintain - what a cron job runs (rebound db maintain): close the
-- incidents that are due, and drop the raw copies past their retention.
CREATE FUNCTION rebound.maintain(OUT incidents_closed integer, OUT raw_purged bigint)
LANGUAGE plpgsql AS $$
BEGIN
    incidents_closed := rebound.close_due_incidents();
    raw_purged := rebound.purge_raw();
END $$;

INSERT INTO rebound.schema_version (version, description)
VALUES (7, 'raw copies kept, rule digests, incidents, reclassify runs, rule telemetry');
COMMIT;
