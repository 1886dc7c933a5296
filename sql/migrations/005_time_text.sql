-- 005: one function that writes a timestamp as text, for every query of
-- the rebound tool (and for users' own queries) that shows a time.
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('rebound.schema'));

-- rebound.time_text(at, style): 'second' gives local time to the second
-- ("2026-03-01 14:05:09"), 'minute' to the minute ("2026-03-01 14:05"),
-- both in the session's TimeZone, for people; 'utc' gives ISO 8601 in UTC
-- ("2026-03-01T13:05:09Z"), for JSON.  Any other style gives NULL.  A
-- single SQL expression, so that PostgreSQL inlines it into the query.
CREATE FUNCTION rebound.time_text(at timestamptz, style text DEFAULT 'second')
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE style
               WHEN 'second' THEN to_char(at, 'YYYY-MM-DD HH24:MI:SS')
               WHEN 'minute' THEN to_char(at, 'YYYY-MM-DD HH24:MI')
               WHEN 'utc' THEN to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
           END
$$;

INSERT INTO rebound.schema_version (version, description) VALUES (5, 'time_text');
COMMIT;
