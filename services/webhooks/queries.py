"""The webhooks service's SQL, by name. Every table lives in the ``webhooks``
schema; names are qualified so the queries run on any pool."""

from __future__ import annotations

from typing import Final

# Serialises the count-then-insert of one owner's webhooks (plan quota).
LOCK_OWNER: Final = "SELECT pg_advisory_xact_lock(hashtextextended('webhooks:' || $1::bigint, 0))"

# --- endpoints (the API) ----------------------------------------------------------

_ENDPOINT_COLUMNS: Final = (
    "id, owner_id, url, events, batch_seconds, enabled, disabled_reason, disabled_at, "
    "failing_since, created_at, updated_at"
)
INSERT_ENDPOINT: Final = f"""
INSERT INTO webhooks.endpoints (owner_id, url, events, secret, batch_seconds)
VALUES ($1, $2, $3, $4, $5)
RETURNING {_ENDPOINT_COLUMNS}"""
COUNT_OWNER_ENDPOINTS: Final = "SELECT count(*) FROM webhooks.endpoints WHERE owner_id = $1"
LIST_ENDPOINTS: Final = f"""
SELECT {_ENDPOINT_COLUMNS} FROM webhooks.endpoints
WHERE owner_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"""
GET_ENDPOINT: Final = (
    f"SELECT {_ENDPOINT_COLUMNS} FROM webhooks.endpoints WHERE id = $1 AND owner_id = $2"
)
GET_ENDPOINT_SECRET: Final = (
    f"SELECT {_ENDPOINT_COLUMNS}, secret FROM webhooks.endpoints WHERE id = $1 AND owner_id = $2"
)
LOCK_ENDPOINT: Final = f"""
SELECT {_ENDPOINT_COLUMNS}, secret FROM webhooks.endpoints
WHERE id = $1 AND owner_id = $2 FOR UPDATE"""
# $7: re-enabled (clears the reason and the failure streak); $8: a disable reason
# (the owner turned it off), else NULL.
UPDATE_ENDPOINT: Final = f"""
UPDATE webhooks.endpoints
SET url = $3, events = $4, secret = $5, batch_seconds = $6, updated_at = now(),
    enabled = CASE WHEN $8::text IS NOT NULL THEN false WHEN $7 THEN true ELSE enabled END,
    disabled_reason = CASE WHEN $8::text IS NOT NULL THEN $8 WHEN $7 THEN NULL
                           ELSE disabled_reason END,
    disabled_at = CASE WHEN $8::text IS NOT NULL THEN now() WHEN $7 THEN NULL ELSE disabled_at END,
    failing_since = CASE WHEN $7 THEN NULL ELSE failing_since END
WHERE id = $1 AND owner_id = $2
RETURNING {_ENDPOINT_COLUMNS}"""
DELETE_ENDPOINT: Final = (
    "DELETE FROM webhooks.endpoints WHERE id = $1 AND owner_id = $2 RETURNING id"
)
COUNT_ATTEMPTS: Final = "SELECT count(*) FROM webhooks.attempts WHERE endpoint_id = $1"
LIST_ATTEMPTS: Final = """
SELECT id, event_id, event_type, attempt, attempted_at, status_code, latency_ms, error
FROM webhooks.attempts WHERE endpoint_id = $1
ORDER BY id DESC LIMIT $2 OFFSET $3"""

# --- fan-out (events → deliveries) ------------------------------------------------

SUBSCRIBERS: Final = """
SELECT id, owner_id, events, batch_seconds FROM webhooks.endpoints
WHERE owner_id = any($1::bigint[]) AND enabled"""
INSERT_DELIVERIES: Final = """
INSERT INTO webhooks.deliveries (endpoint_id, event_id, event_type, body, occurred_at)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[], $5::timestamptz[])
ON CONFLICT (endpoint_id, event_id) DO NOTHING"""
INSERT_BATCHED: Final = """
INSERT INTO webhooks.batched_events (endpoint_id, event_id, event, occurred_at)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::jsonb[], $4::timestamptz[])
ON CONFLICT (endpoint_id, event_id) DO NOTHING"""
# quota.reached is announced once per owner and month: true the first time.
FIRST_QUOTA_NOTICE: Final = """
INSERT INTO webhooks.quota_notices (owner_id, month) VALUES ($1, $2)
ON CONFLICT DO NOTHING RETURNING true"""

# --- batches ------------------------------------------------------------------------

# Endpoints whose oldest waiting click is at least their batch interval old.
DUE_BATCHES: Final = """
SELECT b.endpoint_id
FROM (SELECT endpoint_id, min(created_at) AS oldest
      FROM webhooks.batched_events GROUP BY endpoint_id) b
JOIN webhooks.endpoints e ON e.id = b.endpoint_id
WHERE e.enabled AND b.oldest <= now() - make_interval(secs => e.batch_seconds)"""
# One replica builds an endpoint's batch at a time (NO KEY UPDATE: the fan-out's
# foreign-key checks, KEY SHARE, are not blocked by it).
LOCK_BATCHING_ENDPOINT: Final = """
SELECT id FROM webhooks.endpoints WHERE id = $1 AND enabled
FOR NO KEY UPDATE SKIP LOCKED"""
TAKE_BATCH: Final = """
DELETE FROM webhooks.batched_events
WHERE (endpoint_id, event_id) IN (
    SELECT endpoint_id, event_id FROM webhooks.batched_events
    WHERE endpoint_id = $1 ORDER BY occurred_at, event_id LIMIT $2)
RETURNING event, occurred_at"""
INSERT_DELIVERY: Final = """
INSERT INTO webhooks.deliveries (endpoint_id, event_id, event_type, body, occurred_at)
VALUES ($1, $2, $3, $4, $5)"""

# --- the schedule -------------------------------------------------------------------

# Due deliveries of enabled endpoints: at most $7 rows, at most $3 per endpoint
# minus what this process already holds of it ($4/$5), none of the endpoints in
# $1 (full), chosen among the $2 oldest due rows. Only the chosen rows are
# locked (locking a row writes it), with SKIP LOCKED: replicas never claim one
# row twice (a row another replica claimed meanwhile is no longer due when
# re-checked). A claimed row's next attempt moves past the sends' deadlines ($6
# seconds): if this process dies mid-send, the row simply comes due again
# (at-least-once).
CLAIM_DUE: Final = """
WITH candidates AS (
    SELECT d.id, d.endpoint_id, d.next_attempt_at
    FROM webhooks.deliveries d
    WHERE d.state = 'pending' AND d.next_attempt_at <= now()
      AND NOT (d.endpoint_id = any($1::bigint[]))
    ORDER BY d.next_attempt_at
    LIMIT $2
), ranked AS (
    SELECT c.id, c.endpoint_id, c.next_attempt_at,
           row_number() OVER (PARTITION BY c.endpoint_id ORDER BY c.next_attempt_at, c.id) AS n
    FROM candidates c
), chosen AS (
    SELECT r.id
    FROM ranked r
    JOIN webhooks.endpoints e ON e.id = r.endpoint_id
    LEFT JOIN unnest($4::bigint[], $5::int[]) AS f(endpoint_id, n) ON f.endpoint_id = r.endpoint_id
    WHERE e.enabled AND r.n <= $3 - coalesce(f.n, 0)
    ORDER BY r.next_attempt_at, r.id
    LIMIT $7
), locked AS (
    SELECT d.id FROM webhooks.deliveries d
    WHERE d.id IN (SELECT id FROM chosen) AND d.state = 'pending' AND d.next_attempt_at <= now()
    FOR UPDATE SKIP LOCKED
)
UPDATE webhooks.deliveries d
SET next_attempt_at = now() + make_interval(secs => $6), attempts = d.attempts + 1
FROM locked l, webhooks.endpoints e
WHERE d.id = l.id AND e.id = d.endpoint_id
RETURNING d.id, d.endpoint_id, d.event_id, d.event_type, d.body, d.attempts, d.created_at,
          d.occurred_at, e.url, e.secret"""
MARK_DELIVERED: Final = """
UPDATE webhooks.deliveries SET state = 'delivered', finished_at = now()
WHERE id = any($1::bigint[])"""
MARK_FAILED: Final = """
UPDATE webhooks.deliveries SET state = 'failed', finished_at = now()
WHERE id = any($1::bigint[])"""
RESCHEDULE: Final = """
UPDATE webhooks.deliveries d SET next_attempt_at = now() + make_interval(secs => r.delay)
FROM unnest($1::bigint[], $2::float8[]) AS r(id, delay)
WHERE d.id = r.id"""
# Attempts of a webhook deleted meanwhile are not logged (there is no one to show them to).
INSERT_ATTEMPTS: Final = """
INSERT INTO webhooks.attempts
    (endpoint_id, event_id, event_type, attempt, status_code, latency_ms, error)
SELECT a.* FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[],
                       $7::text[]) AS a(endpoint_id, event_id, event_type, attempt, status_code,
                                        latency_ms, error)
WHERE EXISTS (SELECT 1 FROM webhooks.endpoints e WHERE e.id = a.endpoint_id)"""
INSERT_ATTEMPT: Final = """
INSERT INTO webhooks.attempts
    (endpoint_id, event_id, event_type, attempt, status_code, latency_ms, error)
VALUES ($1, $2, $3, $4, $5, $6, $7)"""
ENDPOINTS_SUCCEEDED: Final = """
UPDATE webhooks.endpoints SET failing_since = NULL
WHERE id = any($1::bigint[]) AND failing_since IS NOT NULL"""
# The failure streak starts at the first failure after a success; endpoints whose
# streak is older than the window ($2 seconds) come back to be disabled.
ENDPOINTS_FAILED: Final = """
UPDATE webhooks.endpoints SET failing_since = coalesce(failing_since, now())
WHERE id = any($1::bigint[]) AND enabled
RETURNING id, failing_since <= now() - make_interval(secs => $2) AS expired"""
DISABLE_ENDPOINT: Final = """
UPDATE webhooks.endpoints SET enabled = false, disabled_reason = $2, disabled_at = now()
WHERE id = $1 AND enabled"""
# A disabled endpoint owes nothing any more.
ABANDON_DELIVERIES: Final = """
UPDATE webhooks.deliveries SET state = 'failed', finished_at = now()
WHERE endpoint_id = $1 AND state = 'pending'"""
DROP_BATCHED: Final = "DELETE FROM webhooks.batched_events WHERE endpoint_id = $1"

# --- housekeeping -------------------------------------------------------------------

PURGE_FINISHED: Final = """
DELETE FROM webhooks.deliveries
WHERE state <> 'pending' AND finished_at < now() - make_interval(secs => $1)"""
PURGE_ATTEMPTS: Final = """
DELETE FROM webhooks.attempts WHERE attempted_at < now() - make_interval(secs => $1)"""
