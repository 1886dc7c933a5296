-- flag-users.sql - flag an address in your own users table the moment
-- rebound records a failure or a complaint for it: the OnBounce()/OnFail()
-- pattern of commercial MTAs, as a PostgreSQL trigger.
--
-- It assumes an application table like this one; adapt the names:
--
--     CREATE TABLE app.users (
--         id              bigserial PRIMARY KEY,
--         email           text NOT NULL,
--         mail_ok         boolean NOT NULL DEFAULT true,  -- false: stop mailing
--         failures        integer NOT NULL DEFAULT 0,
--         complaints      integer NOT NULL DEFAULT 0,
--         last_problem    text,
--         last_problem_at timestamptz
--     );
--
-- Load it with: psql -v ON_ERROR_STOP=1 -f flag-users.sql DBNAME
--
-- Rules for any trigger of your own on rebound.events:
--
-- 1. Never let it fail.  It runs in the transaction that records the
--    event; an error would undo the insert, and rebound-pipe would defer
--    the bounce and Postfix retry it until the error is fixed.  Catch
--    everything and RAISE WARNING (it goes to the PostgreSQL log).
-- 2. AFTER INSERT ... FOR EACH ROW, with a WHEN clause, so that it only
--    runs for the events it cares about.
-- 3. Keep it short: Postfix waits for the commit.  For slow work (HTTP
--    calls, mail to a person) LISTEN on channel rebound_events instead,
--    as "rebound events --follow" does, and work after the commit.
-- 4. SECURITY DEFINER, owned by a role that may update your table, with a
--    fixed search_path: the role rebound writes with needs no rights on
--    your tables, and nobody can redirect the names it uses.
-- 5. Give it a name that sorts after "events_policy": triggers fire in
--    name order, so it then sees the suppression list already updated
--    for this event (rebound.is_suppressed() is the policy's verdict).

CREATE OR REPLACE FUNCTION app.rebound_flag_user() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    BEGIN
        UPDATE app.users u
           SET mail_ok = u.mail_ok AND NOT rebound.is_suppressed(NEW.recipient),
               failures = u.failures + (NEW.kind <> 'complaint')::integer,
               complaints = u.complaints + (NEW.kind = 'complaint')::integer,
               last_problem = NEW.kind || ': ' || coalesce(NEW.reason, 'unknown'),
               last_problem_at = NEW.received_at
         WHERE lower(u.email) = NEW.recipient;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'app.rebound_flag_user: event %: %', NEW.id, SQLERRM;
    END;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS users_flag ON rebound.events;
CREATE TRIGGER users_flag AFTER INSERT ON rebound.events
    FOR EACH ROW
    WHEN (NEW.recipient IS NOT NULL
          AND NEW.kind IN ('rejected', 'expired', 'bounced', 'complaint')
          AND NOT (NEW.source = 'milter' AND NEW.rule IS NOT DISTINCT FROM 'suppressed'))
    EXECUTE FUNCTION app.rebound_flag_user();
