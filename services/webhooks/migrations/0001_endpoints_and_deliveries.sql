-- Webhooks: the endpoints users register, the deliveries owed to them (the retry
-- schedule lives here, not in any process's memory) and the log of attempts.

CREATE TABLE endpoints (
    id              bigserial   PRIMARY KEY,
    owner_id        bigint      NOT NULL,
    url             text        NOT NULL,
    events          text[]      NOT NULL,
    secret          text        NOT NULL,
    -- Clicks and scans: 0 = one delivery per event; N = one batch every N seconds.
    batch_seconds   integer     NOT NULL DEFAULT 0 CHECK (batch_seconds >= 0),
    enabled         boolean     NOT NULL DEFAULT true,
    disabled_reason text,
    disabled_at     timestamptz,
    -- The first failure since the last success (NULL: healthy).
    failing_since   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_by_owner ON endpoints (owner_id, id);

-- One row per event owed to one endpoint. The unique key makes a redelivered
-- source event (at-least-once from the broker) one delivery.
CREATE TABLE deliveries (
    id              bigserial   PRIMARY KEY,
    endpoint_id     bigint      NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    event_id        text        NOT NULL,
    event_type      text        NOT NULL,
    body            bytea       NOT NULL,  -- the exact JSON sent (and signed) each attempt
    occurred_at     timestamptz NOT NULL,  -- when the event happened
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    -- pending: due at next_attempt_at (a claimed row is pushed past its deadline,
    -- so a crashed sender's rows come due again); delivered; failed (given up).
    state           text        NOT NULL DEFAULT 'pending',
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE state <> 'pending';

-- Clicks and scans waiting for their endpoint's next batch.
CREATE TABLE batched_events (
    endpoint_id bigint      NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    event_id    text        NOT NULL,
    event       jsonb       NOT NULL,  -- {id, type, created, data}
    occurred_at timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (endpoint_id, event_id)
);

-- What the owner sees under GET /api/webhook/:id/deliveries.
CREATE TABLE attempts (
    id           bigserial   PRIMARY KEY,
    endpoint_id  bigint      NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    event_id     text        NOT NULL,
    event_type   text        NOT NULL,
    attempt      integer     NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    status_code  integer,
    latency_ms   integer     NOT NULL,
    error        text
);
CREATE INDEX attempts_by_endpoint ON attempts (endpoint_id, id DESC);
CREATE INDEX attempts_by_time ON attempts (attempted_at);

-- quota.reached is announced once per owner and month, whoever reports it how often.
CREATE TABLE quota_notices (
    owner_id bigint NOT NULL,
    month    text   NOT NULL,
    PRIMARY KEY (owner_id, month)
);
