-- 004: suppression policy, live events, and the views users query.
--
-- Everything here runs inside the transaction of whoever records an event
-- (rebound-pipe, rebound-milter, a user's own script), through AFTER INSERT
-- triggers on rebound.events.  No trigger may make that insert fail: a
-- failing insert makes rebound-pipe defer the bounce, and Postfix would
-- retry it until the bounce queue lifetime ran out.  The policy therefore
-- runs in a subtransaction; an error is logged as a WARNING, kept in
-- rebound.policy_errors, and the event is recorded anyway.
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('rebound.schema'));

-- Settings -----------------------------------------------------------------

-- Policy settings, one row per setting.  Change them with UPDATE; a value
-- that does not parse is refused.  A deleted row means the default.
CREATE TABLE rebound.settings (
    name        text PRIMARY KEY,
    value       text NOT NULL,
    description text NOT NULL
);

-- The default of every setting, and the list of settings that exist.
CREATE FUNCTION rebound.setting_default(p_name text) RETURNS text
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
    END
$$;

-- Why value is not valid for setting p_name, or NULL when it is.  PL/pgSQL,
-- so that a cast is only tried on text that matched its pattern.
CREATE FUNCTION rebound.setting_error(p_name text, p_value text) RETURNS text
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
    ELSIF p_name = 'soft_ignore_reasons' THEN
        IF p_value !~ '^[a-z_,\s]*$' THEN
            RETURN 'want reason names (lower case) separated by commas';
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- The value of a setting: the row if it is valid, else the default.
CREATE FUNCTION rebound.setting(p_name text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v text;
BEGIN
    SELECT value INTO v FROM rebound.settings WHERE name = p_name;
    IF v IS NULL OR rebound.setting_error(p_name, v) IS NOT NULL THEN
        v := rebound.setting_default(p_name);
    END IF;
    RETURN btrim(v);
END $$;

CREATE FUNCTION rebound.setting_int(p_name text) RETURNS integer
LANGUAGE sql STABLE AS $$ SELECT rebound.setting(p_name)::integer $$;

CREATE FUNCTION rebound.setting_bool(p_name text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT lower(rebound.setting(p_name)) IN ('on', 'true', 'yes')
$$;

CREATE FUNCTION rebound.setting_list(p_name text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_remove(regexp_split_to_array(rebound.setting(p_name), '[\s,]+'), ''),
                    '{}')
$$;

CREATE FUNCTION rebound.settings_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    err text := rebound.setting_error(NEW.name, NEW.value);
BEGIN
    IF err IS NOT NULL THEN
        RAISE EXCEPTION 'rebound.settings: %: %', NEW.name, err
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The defaults are in rebound.setting_default(name).';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER settings_check BEFORE INSERT OR UPDATE ON rebound.settings
    FOR EACH ROW EXECUTE FUNCTION rebound.settings_check();

INSERT INTO rebound.settings (name, value, description)
SELECT s.name, rebound.setting_default(s.name), s.description
  FROM (VALUES
    ('soft_failure_limit',
     'Soft failures of one address within soft_failure_days that suppress it; 0: never.'),
    ('soft_failure_days',
     'The window, in days, in which soft failures are counted.'),
    ('soft_ignore_reasons',
     'Soft failure reasons that blame the sender or the message, not the address: not counted.'),
    ('suppress_unknown_domains',
     'Suppress the whole domain when our own MTA finds it does not exist or takes no mail.'),
    ('report_days',
     'The period, in days, of the top_failing_domains view and of "rebound stats".')
  ) AS s (name, description);

-- Suppression list: policy columns and history ----------------------------

-- Why an entry exists: a hard failure, a complaint, soft failures, a
-- domain that does not exist, or a person.
ALTER TABLE rebound.suppressions
    ADD COLUMN basis text NOT NULL DEFAULT 'manual'
        CHECK (basis IN ('hard', 'complaint', 'soft', 'unknown_domain', 'manual'));

-- Every change to the list, kept for good.  A removal is always "manual"
-- (a person or a program other than the policy); its actor is the
-- database user unless rebound.unsuppress() or "rebound suppress remove"
-- named one.
CREATE TABLE rebound.suppression_history (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    address  text NOT NULL,
    action   text NOT NULL CHECK (action IN ('add', 'update', 'remove')),
    reason   text,
    basis    text,
    source   text NOT NULL CHECK (source IN ('policy', 'manual')),
    actor    text,
    note     text,
    event_id bigint REFERENCES rebound.events (id) ON DELETE SET NULL
);
CREATE INDEX suppression_history_address_idx ON rebound.suppression_history (address, at);

-- Where the soft-failure count of an address starts again: events with a
-- larger id count.  A success notice or a manual action moves it.
CREATE TABLE rebound.soft_resets (
    address        text PRIMARY KEY,
    after_event_id bigint NOT NULL,
    reset_at       timestamptz NOT NULL DEFAULT now(),
    cause          text NOT NULL CHECK (cause IN ('delivered', 'manual'))
);

-- Policy errors, which never stop an event from being recorded.
CREATE TABLE rebound.policy_errors (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    event_id bigint REFERENCES rebound.events (id) ON DELETE CASCADE,
    error    text NOT NULL
);

-- Events someone has looked at; they leave rebound.awaiting_review.
CREATE TABLE rebound.reviews (
    event_id    bigint PRIMARY KEY REFERENCES rebound.events (id) ON DELETE CASCADE,
    reviewed_at timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL DEFAULT session_user,
    note        text
);

CREATE FUNCTION rebound.reset_soft_count(p_address text, p_after_event_id bigint,
                                         p_cause text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO rebound.soft_resets (address, after_event_id, cause)
    VALUES (p_address,
            coalesce(p_after_event_id, (SELECT coalesce(max(id), 0) FROM rebound.events)),
            p_cause)
    ON CONFLICT (address) DO UPDATE
        SET after_event_id = greatest(rebound.soft_resets.after_event_id,
                                      EXCLUDED.after_event_id),
            reset_at = EXCLUDED.reset_at, cause = EXCLUDED.cause;
$$;

-- History of every change, and a fresh soft-failure count after a manual
-- one.  SECURITY DEFINER: whoever may change the list leaves a trace.
CREATE FUNCTION rebound.suppressions_history() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_actor text := coalesce(nullif(current_setting('rebound.actor', true), ''), session_user);
    v_note  text := nullif(current_setting('rebound.note', true), '');
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO rebound.suppression_history
            (address, action, reason, basis, source, actor, note, event_id)
        VALUES (NEW.address, 'add', NEW.reason, NEW.basis, NEW.source,
                CASE WHEN NEW.source = 'manual' THEN coalesce(NEW.actor, v_actor) END,
                NEW.note, NEW.event_id);
        IF NEW.source = 'manual' THEN
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
        VALUES (NEW.address, 'update', NEW.reason, NEW.basis, 'manual', v_actor,
                coalesce(v_note, NEW.note), NEW.event_id);
        PERFORM rebound.reset_soft_count(NEW.address, NULL, 'manual');
    ELSE
        INSERT INTO rebound.suppression_history
            (address, action, reason, basis, source, actor, note, event_id)
        VALUES (OLD.address, 'remove', OLD.reason, OLD.basis, 'manual', v_actor, v_note,
                OLD.event_id);
        PERFORM rebound.reset_soft_count(OLD.address, NULL, 'manual');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER suppressions_history
    AFTER INSERT OR UPDATE OR DELETE ON rebound.suppressions
    FOR EACH ROW EXECUTE FUNCTION rebound.suppressions_history();

-- A suppression list key: "user@domain" or a bare domain, lower case, or
-- NULL when the text is neither.
CREATE FUNCTION rebound.suppression_key(p_address text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN k ~ '^[^@\s]+@[^@\s.][^@\s]*$' AND split_part(k, '@', 2) !~ '\.\.|\.$' THEN k
        WHEN k ~ '^[^@\s.][^@\s]*\.[^@\s]+$' AND k !~ '\.\.|\.$' THEN k
    END
      FROM (SELECT lower(btrim(p_address, E' \t<>')) AS k) s
$$;

-- Manual suppression; true when added, false when already on the list.
CREATE FUNCTION rebound.suppress(p_address text, p_reason text DEFAULT 'manual',
                                 p_actor text DEFAULT NULL, p_note text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    k text := rebound.suppression_key(p_address);
    n integer;
BEGIN
    IF k IS NULL THEN
        RAISE EXCEPTION 'not an address or domain: "%"', p_address
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The milter may quote the reason in an SMTP reply: one short word.
    IF p_reason IS NOT NULL AND p_reason !~ '^[A-Za-z0-9_.:-]{1,64}$' THEN
        RAISE EXCEPTION 'not a reason: "%" (want one word of letters, digits, _ . : -)', p_reason
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO rebound.suppressions (address, reason, source, basis, actor, note)
    VALUES (k, coalesce(p_reason, 'manual'), 'manual', 'manual',
            coalesce(p_actor, session_user), p_note)
    ON CONFLICT (address) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n > 0;
END $$;

-- Manual removal; true when removed, false when it was not on the list.
CREATE FUNCTION rebound.unsuppress(p_address text, p_actor text DEFAULT NULL,
                                   p_note text DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    k text := coalesce(rebound.suppression_key(p_address), lower(btrim(p_address)));
    n integer;
BEGIN
    PERFORM set_config('rebound.actor', coalesce(p_actor, ''), true);
    PERFORM set_config('rebound.note', coalesce(p_note, ''), true);
    DELETE FROM rebound.suppressions WHERE address = k;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('rebound.actor', '', true);
    PERFORM set_config('rebound.note', '', true);
    RETURN n > 0;
END $$;

-- Whether mail to an address would be refused: the address or its domain.
CREATE FUNCTION rebound.is_suppressed(p_address text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM rebound.suppressions
         WHERE address IN (lower(btrim(p_address)), split_part(lower(btrim(p_address)), '@', 2)))
$$;

-- The policy ------------------------------------------------------------

-- Soft failures that count, per address, since the last reset and within
-- soft_failure_days.  Expiries always count; hard failures are not soft;
-- reasons in soft_ignore_reasons and the milter's refusals of suppressed
-- recipients never count.
CREATE VIEW rebound.soft_failure_counts AS
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
        OR (e.kind IN ('rejected', 'bounced')
            AND coalesce(e.reason, '') <> ALL ((SELECT rebound.setting_list('soft_ignore_reasons'))::text[])))
   AND NOT (e.source = 'milter' AND coalesce(e.rule, '') = 'suppressed')
 GROUP BY e.recipient;

CREATE FUNCTION rebound.policy_suppress(p_address text, p_reason text, p_basis text,
                                        p_event_id bigint, p_note text DEFAULT NULL)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO rebound.suppressions (address, reason, source, basis, event_id, note)
    VALUES (lower(p_address), coalesce(p_reason, 'undefined'), 'policy', p_basis, p_event_id,
            p_note)
    ON CONFLICT (address) DO NOTHING;
$$;

-- apply_policy - what one new event does to the suppression list.
CREATE FUNCTION rebound.apply_policy(e rebound.events) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n      bigint;
    lim    integer;
    v_domain text;
BEGIN
    IF coalesce(e.recipient, '') = '' THEN
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
        IF lower(coalesce(e.feedback_type, 'abuse')) NOT IN ('not-spam', 'auth-failure') THEN
            PERFORM rebound.policy_suppress(e.recipient, coalesce(e.reason, 'feedback'),
                                            'complaint', e.id);
        END IF;
    ELSIF e.kind IN ('rejected', 'expired', 'bounced') AND e.hard THEN
        PERFORM rebound.policy_suppress(e.recipient, e.reason, 'hard', e.id, e.status);
        -- Only our own MTA's finding condemns a whole domain: a remote's
        -- report may be about a forwarding target, not our recipient.
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

-- apply_policy_guarded - the policy in a subtransaction: errors are kept,
-- never raised.
CREATE FUNCTION rebound.apply_policy_guarded(e rebound.events) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rebound.apply_policy(e);
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'rebound policy skipped for event %: %', e.id, SQLERRM;
    BEGIN
        INSERT INTO rebound.policy_errors (event_id, error) VALUES (e.id, SQLERRM);
    EXCEPTION WHEN OTHERS THEN
        NULL;
    END;
END $$;

CREATE FUNCTION rebound.events_policy() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM rebound.apply_policy_guarded(NEW);
    RETURN NULL;
END $$;
CREATE TRIGGER events_policy AFTER INSERT ON rebound.events
    FOR EACH ROW EXECUTE FUNCTION rebound.events_policy();

-- Live events ----------------------------------------------------------

-- The NOTIFY payload of an event on channel rebound_events: compact JSON
-- with a fixed key order, always under PostgreSQL's 8000-byte limit (tags
-- are left out, and "truncated" set, when they would not fit).
CREATE FUNCTION rebound.event_payload(e rebound.events) RETURNS text
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

CREATE FUNCTION rebound.events_notify() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    BEGIN
        PERFORM pg_notify('rebound_events', rebound.event_payload(NEW));
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'rebound: no notification for event %: %', NEW.id, SQLERRM;
    END;
    RETURN NULL;
END $$;
CREATE TRIGGER events_notify AFTER INSERT ON rebound.events
    FOR EACH ROW EXECUTE FUNCTION rebound.events_notify();

-- Views ----------------------------------------------------------------

-- Every delivery failure with its domain and the sent message's token and
-- tags.  The milter's refusals of suppressed recipients are not failures.
CREATE VIEW rebound.failures AS
SELECT e.id, e.received_at, e.received_at::date AS day, e.kind, e.sync, e.source,
       e.recipient, nullif(split_part(e.recipient, '@', 2), '') AS domain,
       e.reason, e.category, e.hard, e.status, e.reply_code, e.diagnostic,
       e.message_id, m.token,
       CASE WHEN jsonb_typeof(m.tags) = 'object' THEN m.tags ELSE '{}' END AS tags
  FROM rebound.events e
  LEFT JOIN rebound.messages m ON m.id = e.message_id
 WHERE e.kind IN ('rejected', 'expired', 'bounced')
   AND NOT (e.source = 'milter' AND coalesce(e.rule, '') = 'suppressed');

CREATE VIEW rebound.failures_by_day AS
SELECT day,
       count(*) AS failures,
       count(*) FILTER (WHERE hard) AS hard,
       count(*) FILTER (WHERE NOT hard) AS soft,
       count(*) FILTER (WHERE kind = 'rejected') AS rejected,
       count(*) FILTER (WHERE kind = 'expired') AS expired,
       count(*) FILTER (WHERE kind = 'bounced') AS bounced,
       count(DISTINCT recipient) AS addresses
  FROM rebound.failures
 GROUP BY day;

CREATE VIEW rebound.failures_by_domain AS
SELECT day, domain,
       count(*) AS failures,
       count(*) FILTER (WHERE hard) AS hard,
       count(*) FILTER (WHERE NOT hard) AS soft,
       count(DISTINCT recipient) AS addresses
  FROM rebound.failures
 GROUP BY day, domain;

CREATE VIEW rebound.failures_by_reason AS
SELECT day, reason, category,
       count(*) AS failures,
       count(*) FILTER (WHERE hard) AS hard,
       count(DISTINCT recipient) AS addresses
  FROM rebound.failures
 GROUP BY day, reason, category;

-- One row per day and tag: a failure of a message tagged
-- {"campaign": "nov", "list": "news"} counts for both tags.
CREATE VIEW rebound.failures_by_tag AS
SELECT f.day, t.key AS tag, t.value,
       count(*) AS failures,
       count(*) FILTER (WHERE f.hard) AS hard,
       count(DISTINCT f.recipient) AS addresses
  FROM rebound.failures f
 CROSS JOIN LATERAL jsonb_each_text(f.tags) t
 GROUP BY f.day, t.key, t.value;

-- Bounce and complaint rates per tag of the sent messages (rows the milter
-- writes in messages and recipients): the share of recipients with at
-- least one failure, and with a complaint.
CREATE VIEW rebound.campaign_rates AS
WITH outcome AS (
    SELECT r.id, r.message_id,
           coalesce(bool_or(e.kind IN ('rejected', 'expired', 'bounced')), false) AS bounced,
           coalesce(bool_or(e.kind IN ('rejected', 'expired', 'bounced') AND e.hard), false)
               AS hard,
           coalesce(bool_or(e.kind = 'complaint'), false) AS complained
      FROM rebound.recipients r
      LEFT JOIN rebound.events e
             ON e.message_id = r.message_id AND e.recipient = r.address
            AND NOT (e.source = 'milter' AND coalesce(e.rule, '') = 'suppressed')
     GROUP BY r.id, r.message_id
)
SELECT t.key AS tag, t.value,
       count(DISTINCT m.id) AS messages,
       count(*) AS recipients,
       count(*) FILTER (WHERE o.bounced) AS bounced,
       count(*) FILTER (WHERE o.hard) AS hard_bounced,
       count(*) FILTER (WHERE o.complained) AS complaints,
       round(count(*) FILTER (WHERE o.bounced)::numeric / count(*), 4) AS bounce_rate,
       round(count(*) FILTER (WHERE o.complained)::numeric / count(*), 4) AS complaint_rate,
       min(m.created_at) AS first_sent,
       max(m.created_at) AS last_sent
  FROM rebound.messages m
 CROSS JOIN LATERAL jsonb_each_text(CASE WHEN jsonb_typeof(m.tags) = 'object'
                                         THEN m.tags ELSE '{}' END) t
  JOIN outcome o ON o.message_id = m.id
 GROUP BY t.key, t.value;

-- The domains with most failures over the last report_days days.
CREATE VIEW rebound.top_failing_domains AS
SELECT f.domain,
       count(*) AS failures,
       count(*) FILTER (WHERE f.hard) AS hard,
       count(*) FILTER (WHERE NOT f.hard) AS soft,
       count(DISTINCT f.recipient) AS addresses,
       max(f.received_at) AS last_failure,
       EXISTS (SELECT 1 FROM rebound.suppressions s WHERE s.address = f.domain) AS suppressed
  FROM rebound.failures f
 WHERE f.domain IS NOT NULL
   AND f.received_at > now() - make_interval(days => (SELECT rebound.setting_int('report_days')))
 GROUP BY f.domain
 ORDER BY failures DESC, f.domain;

-- The suppression list as people read it, with the event that caused each
-- entry.
CREATE VIEW rebound.suppression_list AS
SELECT s.address, position('@' IN s.address) = 0 AS domain_wide,
       s.reason, s.basis, s.source, s.actor, s.note, s.created_at,
       s.event_id, e.kind AS event_kind, e.status AS event_status,
       e.diagnostic AS event_diagnostic
  FROM rebound.suppressions s
  LEFT JOIN rebound.events e ON e.id = s.event_id
 ORDER BY s.created_at DESC, s.address;

-- Events that need a person: reports that could not be parsed, reports
-- that name no recipient, and failures not linked to a sent message while
-- sent messages are being recorded.  Insert into rebound.reviews to clear.
CREATE VIEW rebound.awaiting_review AS
SELECT e.id, e.received_at, p.problem, e.kind, e.recipient, e.reason, e.queue_id,
       e.bounce_address, e.raw_message_id, r.size AS raw_size, r.parse_error
  FROM rebound.events e
 CROSS JOIN LATERAL (SELECT CASE
        WHEN e.kind = 'unknown' THEN 'unparsed'
        WHEN e.recipient IS NULL THEN 'no_recipient'
        WHEN e.message_id IS NULL
             AND e.kind IN ('rejected', 'expired', 'bounced', 'complaint')
             AND NOT (e.source = 'milter' AND coalesce(e.rule, '') = 'suppressed')
             AND EXISTS (SELECT 1 FROM rebound.messages) THEN 'unlinked'
    END AS problem) p
  LEFT JOIN rebound.raw_messages r ON r.id = e.raw_message_id
 WHERE p.problem IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM rebound.reviews v WHERE v.event_id = e.id)
 ORDER BY e.id;

-- Existing events -------------------------------------------------------

-- A database that already holds events gets the suppressions the policy
-- would have made: hard failures and complaints, and the resets of recent
-- success notices.  Soft failures need no pass: the next one counts them.
DO $$
DECLARE
    e rebound.events;
BEGIN
    FOR e IN SELECT * FROM rebound.events
              WHERE hard OR kind = 'complaint'
                 OR (kind = 'delivered'
                     AND received_at > now() - make_interval(
                         days => rebound.setting_int('soft_failure_days')))
              ORDER BY id
    LOOP
        PERFORM rebound.apply_policy_guarded(e);
    END LOOP;
END $$;

INSERT INTO rebound.schema_version (version, description)
VALUES (4, 'suppression policy, live events, views');
COMMIT;
