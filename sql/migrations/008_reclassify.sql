-- 008: "rebound reclassify" runs, recorded with the previous values of
-- what they changed so that they can be undone; rule telemetry; the
-- maintenance a cron job runs.  Builds on 007 (drafts, incidents).
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('rebound.schema'));

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
    DELETE FROM rebound.incident_checks WHERE checked_at < now() - interval '1 day';
END $$;

INSERT INTO rebound.schema_version (version, description)
VALUES (8, 'reclassify runs, rule telemetry, maintenance');
COMMIT;
