-- Events staged in the transaction of the change they announce; the relay
-- (shared/outbox.py) publishes them and deletes the rows.
CREATE TABLE outbox (
    id         bigserial   PRIMARY KEY,
    type       text        NOT NULL,
    event      jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
