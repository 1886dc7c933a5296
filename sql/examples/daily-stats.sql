-- daily-stats.sql - keep your own statistics up to date as events arrive:
-- one counter per day, kind and reason in a table of yours.  See
-- flag-users.sql for the rules every trigger on rebound.events follows.
--
-- The views in schema rebound (failures_by_day, failures_by_reason...)
-- already answer these questions from the events themselves; a counter
-- table like this one is for applications that want the numbers in their
-- own schema, or that delete old events.
--
-- Load it with: psql -v ON_ERROR_STOP=1 -f daily-stats.sql DBNAME

CREATE TABLE IF NOT EXISTS app.mail_stats (
    day    date NOT NULL,
    kind   text NOT NULL,
    reason text NOT NULL,
    events bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, kind, reason)
);

CREATE OR REPLACE FUNCTION app.rebound_count_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    BEGIN
        INSERT INTO app.mail_stats AS s (day, kind, reason, events)
        VALUES (NEW.received_at::date, NEW.kind, coalesce(NEW.reason, 'unknown'), 1)
        ON CONFLICT (day, kind, reason) DO UPDATE SET events = s.events + 1;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'app.rebound_count_event: event %: %', NEW.id, SQLERRM;
    END;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS stats_count ON rebound.events;
CREATE TRIGGER stats_count AFTER INSERT ON rebound.events
    FOR EACH ROW EXECUTE FUNCTION app.rebound_count_event();
