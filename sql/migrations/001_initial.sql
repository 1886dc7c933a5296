-- 001: messages, recipients, events and raw bounces.
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('rebound.schema'));

-- One outbound message, as the milter saw it leave.
CREATE TABLE rebound.messages (
    id                bigserial PRIMARY KEY,
    token             text UNIQUE,          -- signed return-path token
    queue_id          text,                 -- Postfix queue id at submission
    message_id_header text,                 -- Message-ID header, without <>
    envelope_sender   text,                 -- sender before the rewrite
    created_at        timestamptz NOT NULL DEFAULT now(),
    tags              jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX messages_message_id_header_idx ON rebound.messages (message_id_header);
CREATE INDEX messages_queue_id_idx ON rebound.messages (queue_id);
CREATE INDEX messages_created_at_idx ON rebound.messages (created_at);

CREATE TABLE rebound.recipients (
    id         bigserial PRIMARY KEY,
    message_id bigint NOT NULL REFERENCES rebound.messages (id) ON DELETE CASCADE,
    address    text NOT NULL,               -- lower case
    UNIQUE (message_id, address)
);
CREATE INDEX recipients_address_idx ON rebound.recipients (address);

-- A bounce as received, for input we could not parse and for audit.
CREATE TABLE rebound.raw_messages (
    id                 bigserial PRIMARY KEY,
    received_at        timestamptz NOT NULL DEFAULT now(),
    queue_id           text,                -- Postfix queue id of the bounce
    envelope_recipient text,                -- the return path it was sent to
    size               bigint NOT NULL,     -- bytes received
    truncated          boolean NOT NULL,    -- content holds only the first bytes
    digest             text NOT NULL UNIQUE, -- SHA-256 of what was received
    parse_error        text,
    content            bytea NOT NULL
);
CREATE INDEX raw_messages_received_at_idx ON rebound.raw_messages (received_at);

-- One row per report per recipient: a failure, delay, complaint, reply...
CREATE TABLE rebound.events (
    id             bigserial PRIMARY KEY,
    received_at    timestamptz NOT NULL DEFAULT now(),
    kind           text NOT NULL CHECK (kind IN ('rejected', 'expired', 'bounced',
                       'delayed', 'complaint', 'auto_reply', 'delivered', 'unknown')),
    sync           boolean NOT NULL,        -- refused in the SMTP dialogue
    source         text NOT NULL CHECK (source IN ('pipe', 'milter')),
    recipient      text,                    -- lower case; NULL when unknown
    reason         text,                    -- Sisimai-compatible reason
    category       text,                    -- coarse category
    hard           boolean NOT NULL DEFAULT false,
    status         text,                    -- enhanced status code, 5.1.1
    reply_code     smallint,                -- SMTP reply code, 550
    action         text,                    -- DSN Action
    diagnostic     text,
    remote_mta     text,
    reporting_mta  text,
    feedback_type  text,                    -- ARF Feedback-Type
    rule           text,                    -- classifier rule that decided
    queue_id       text,                    -- queue id of the bounce (pipe) or message (milter)
    orig_queue_id  text,                    -- queue id of the original message
    bounce_address text,                    -- the return path the report came to
    message_id     bigint REFERENCES rebound.messages (id) ON DELETE SET NULL,
    recipient_id   bigint REFERENCES rebound.recipients (id) ON DELETE SET NULL,
    raw_message_id bigint REFERENCES rebound.raw_messages (id) ON DELETE SET NULL,
    dedup_key      text NOT NULL UNIQUE     -- the same report twice adds nothing
);
CREATE INDEX events_recipient_idx ON rebound.events (recipient, received_at);
CREATE INDEX events_received_at_idx ON rebound.events (received_at);
CREATE INDEX events_message_id_idx ON rebound.events (message_id);
CREATE INDEX events_kind_idx ON rebound.events (kind, received_at);

INSERT INTO rebound.schema_version (version, description) VALUES (1, 'initial schema');
COMMIT;
