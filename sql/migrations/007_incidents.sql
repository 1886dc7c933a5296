-- 007: decisions users can revise and trust (with 008).
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
--   * "rebound reclassify" runs and rule telemetry are in 008.
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
-- One raw copy per bounce and return path: now that every bounce is kept,
-- the same bytes sent to two return paths (a forgery that copies a real
-- report, say) are two bounces, each with its own evidence and reason.
ALTER TABLE rebound.raw_messages DROP CONSTRAINT raw_messages_digest_key;
CREATE UNIQUE INDEX raw_messages_digest_idx
    ON rebound.raw_messages (digest, (coalesce(envelope_recipient, '')));

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

-- The last time the share of a group's burst was looked at: the query
-- reads every recipient sent to in the window, so a large mailing's
-- scattered unknown users must not run it at each failure.
CREATE TABLE rebound.incident_checks (
    provider_key   text NOT NULL,
    reply_template text NOT NULL,
    checked_at     timestamptz NOT NULL,
    recipients     bigint NOT NULL,    -- the burst's recipients then
    sent           bigint NOT NULL,    -- the recipients sent to at their domains
    PRIMARY KEY (provider_key, reply_template)
);

-- incident_join - the incident failure e belongs to: the open one of its
-- provider and template while the burst goes on, or one it opens when it
-- makes the burst large enough.  The share of the recipients sent to is
-- looked at once the count reaches incident_recipients, and then again
-- when the count has doubled, a quarter of the window has passed, or no
-- mail sent was found (the milter records a message a moment after it
-- leaves, and a refusal can come first).
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
    c         rebound.incident_checks;
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
    IF n < v_min THEN
        RETURN NULL;
    END IF;
    v_domains := array_append(coalesce(v_domains, '{}'), split_part(e.recipient, '@', 2));
    IF v_share > 0 THEN
        SELECT * INTO c FROM rebound.incident_checks
         WHERE provider_key = e.provider_key AND reply_template = e.reply_template;
        IF FOUND AND c.sent > 0 AND n < 2 * c.recipients
           AND c.checked_at > e.received_at - v_win / 4 THEN
            RETURN NULL;
        END IF;
        -- Mail sent in the window, or the one before: a report comes after the mail.
        SELECT count(DISTINCT r.address) INTO v_sent
          FROM rebound.messages m JOIN rebound.recipients r ON r.message_id = m.id
         WHERE m.created_at > e.received_at - 2 * v_win
           AND split_part(r.address, '@', 2) = ANY (v_domains);
        INSERT INTO rebound.incident_checks AS k
            (provider_key, reply_template, checked_at, recipients, sent)
        VALUES (e.provider_key, e.reply_template, e.received_at, n, v_sent)
        ON CONFLICT (provider_key, reply_template) DO UPDATE
            SET checked_at = EXCLUDED.checked_at, recipients = EXCLUDED.recipients,
                sent = EXCLUDED.sent;
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

-- events_incident - every event's provider and reply template, and a
-- trusted failure's incident.  Before the insert (after events_corroborate,
-- by name), so that the policy sees the incident; again when an event
-- becomes trusted later.  A revision by "rebound reclassify" keeps the
-- incident an event had: that is a fact of when it came.
CREATE FUNCTION rebound.events_incident() RETURNS trigger
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
CREATE TRIGGER events_incident BEFORE INSERT OR UPDATE OF provenance, status, reply_code,
    diagnostic, remote_mta, recipient ON rebound.events
    FOR EACH ROW EXECUTE FUNCTION rebound.events_incident();

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

INSERT INTO rebound.schema_version (version, description)
VALUES (7, 'raw copies kept, rule digests, reply templates, incidents');
COMMIT;
