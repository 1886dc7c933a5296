-- rebound database schema: apply with
--     psql -v ON_ERROR_STOP=1 -f sql/rebound.sql DBNAME
-- or with "rebound db migrate".  It is idempotent: each numbered migration
-- in migrations/ runs once, in order, in its own transaction, and records
-- itself in rebound.schema_version.  Run it again after an upgrade to bring
-- an older database up to date.  Migration files are plain SQL (no psql
-- commands), so that any client can apply them; the version checks are
-- here.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS rebound;
CREATE TABLE IF NOT EXISTS rebound.schema_version (
    version     integer PRIMARY KEY,
    description text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

SELECT NOT EXISTS (SELECT 1 FROM rebound.schema_version WHERE version = 1) AS apply \gset
\if :apply
\ir migrations/001_initial.sql
\endif

SELECT NOT EXISTS (SELECT 1 FROM rebound.schema_version WHERE version = 2) AS apply \gset
\if :apply
\ir migrations/002_suppressions.sql
\endif

SELECT NOT EXISTS (SELECT 1 FROM rebound.schema_version WHERE version = 4) AS apply \gset
\if :apply
\ir migrations/004_policy.sql
\endif

SELECT NOT EXISTS (SELECT 1 FROM rebound.schema_version WHERE version = 5) AS apply \gset
\if :apply
\ir migrations/005_time_text.sql
\endif

SELECT NOT EXISTS (SELECT 1 FROM rebound.schema_version WHERE version = 6) AS apply \gset
\if :apply
\ir migrations/006_provenance.sql
\endif

SELECT NOT EXISTS (SELECT 1 FROM rebound.schema_version WHERE version = 7) AS apply \gset
\if :apply
\ir migrations/007_incidents.sql
\endif

SELECT NOT EXISTS (SELECT 1 FROM rebound.schema_version WHERE version = 8) AS apply \gset
\if :apply
\ir migrations/008_reclassify.sql
\endif
