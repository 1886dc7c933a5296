-- 002: the suppression list, read by rebound-milter at RCPT time.
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('rebound.schema'));

-- One row per suppressed address ("user@example.org", lower case) or
-- whole domain ("example.org", no "@": a domain that does not exist).
CREATE TABLE rebound.suppressions (
    address    text PRIMARY KEY CHECK (address = lower(address) AND address <> ''),
    reason     text NOT NULL,           -- taxonomy reason, or "manual"
    source     text NOT NULL CHECK (source IN ('policy', 'manual')),
    event_id   bigint REFERENCES rebound.events (id) ON DELETE SET NULL,
    actor      text,                    -- who added it, for manual entries
    note       text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Readers that keep the list in memory (the milter) LISTEN on this
-- channel; the payload is the address that changed.
CREATE FUNCTION rebound.suppressions_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('rebound_suppressions',
                      CASE WHEN TG_OP = 'DELETE' THEN OLD.address ELSE NEW.address END);
    RETURN NULL;
END $$;
CREATE TRIGGER suppressions_notify
    AFTER INSERT OR UPDATE OR DELETE ON rebound.suppressions
    FOR EACH ROW EXECUTE FUNCTION rebound.suppressions_notify();

INSERT INTO rebound.schema_version (version, description) VALUES (2, 'suppression list');
COMMIT;
