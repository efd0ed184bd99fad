"""The analytics service's SQL, by name. Tables live in the ``analytics``
schema, first on the search path of this service's connections (``db.py``).

A worker's transaction first takes the advisory locks of the batch's owners in
ascending order; every row it then writes (raw clicks, visitors, rollups,
usage) belongs to one of those owners, so two workers never wait on each
other's rows in a different order, and never deadlock."""

from __future__ import annotations

from typing import Final

# --- the worker's transaction ------------------------------------------------

# Serialises everything that decides about one owner (quota, deletion) across
# workers; taken in ascending owner order by every transaction.
LOCK_OWNERS: Final = """
SELECT count(pg_advisory_xact_lock(hashtextextended('analytics:owner:' || o::text, 0)))
FROM unnest($1::bigint[]) AS o
"""
# Held (shared) by every transaction that writes breakdowns, and exclusively by
# the fold of a day into the all-time breakdowns: a batch sees either the day
# not folded yet or folded, never half.
LOCK_BREAKDOWNS_SHARED: Final = (
    "SELECT pg_advisory_xact_lock_shared(hashtextextended('analytics:breakdowns', 0))"
)
LOCK_BREAKDOWNS: Final = "SELECT pg_advisory_xact_lock(hashtextextended('analytics:breakdowns', 0))"

DELETED_LINKS: Final = "SELECT link_id FROM deleted_links WHERE link_id = any($1::bigint[])"
DELETED_OWNERS: Final = "SELECT owner_id FROM deleted_owners WHERE owner_id = any($1::bigint[])"

# Batches travel as one JSON array of rows (``[[...], ...]``): encoding it is
# one C call, where per-element array encoding costs the worker more than the
# rest of its work together.
INSERT_CLICKS: Final = """
INSERT INTO clicks (event_id, occurred_at, link_id, owner_id, source, qr_id, campaign_id,
                    ip_prefix, visitor_hash, country, city, browser, os, device,
                    referrer_host, social, language, is_bot, block_id)
SELECT c->>0, (c->>1)::timestamptz, (c->>2)::bigint, (c->>3)::bigint, c->>4,
       (c->>5)::bigint, (c->>6)::bigint, (c->>7)::cidr, decode(c->>8, 'hex'), c->>9,
       c->>10, c->>11, c->>12, c->>13, c->>14, c->>15, c->>16, (c->>17)::boolean,
       (c->>18)::bigint
FROM jsonb_array_elements($1::jsonb) AS c
ON CONFLICT (event_id, occurred_at) DO NOTHING
RETURNING event_id
"""

# Clicks over the owner's monthly quota are not tracked: their rows go again.
DELETE_CLICKS: Final = """
DELETE FROM clicks c
USING unnest($1::text[], $2::timestamptz[]) AS d(event_id, occurred_at)
WHERE c.event_id = d.event_id AND c.occurred_at = d.occurred_at
"""

QUOTA_STATE: Final = """
SELECT k.owner_id, k.month, coalesce(u.clicks, 0) AS used,
       CASE WHEN up.role = 'admin' THEN 0 ELSE coalesce(p.clicks, 0) END AS quota
FROM unnest($1::bigint[], $2::date[]) AS k(owner_id, month)
LEFT JOIN usage u ON u.owner_id = k.owner_id AND u.month = k.month
LEFT JOIN user_plans up ON up.user_id = k.owner_id
LEFT JOIN plans p ON p.plan_id = up.plan_id
"""

ADD_USAGE: Final = """
INSERT INTO usage AS u (owner_id, month, clicks)
SELECT * FROM unnest($1::bigint[], $2::date[], $3::bigint[])
ON CONFLICT (owner_id, month) DO UPDATE SET clicks = u.clicks + excluded.clicks
"""

# Returns each row's total after the addition: one equal to what was added is
# the month's first click left out.
ADD_OVER_QUOTA: Final = """
INSERT INTO usage AS u (owner_id, month, over_quota)
SELECT * FROM unnest($1::bigint[], $2::date[], $3::bigint[])
ON CONFLICT (owner_id, month) DO UPDATE SET over_quota = u.over_quota + excluded.over_quota
RETURNING owner_id, month, over_quota
"""

INSERT_VISITORS: Final = """
INSERT INTO visitors (link_id, day, visitor_hash)
SELECT (v->>0)::bigint, (v->>1)::date, decode(v->>2, 'hex')
FROM jsonb_array_elements($1::jsonb) AS v
ON CONFLICT DO NOTHING
RETURNING link_id, day, encode(visitor_hash, 'hex') AS visitor_hash
"""

# Every rollup grows by the batch's new clicks in one statement, aggregated by
# Postgres (bots only in bot_clicks).
ADD_ROLLUPS: Final = """
WITH c AS (
    SELECT (e->>0)::bigint AS link_id, (e->>1)::bigint AS owner_id, (e->>2)::timestamptz AS at,
           (e->>3)::boolean AS is_unique, (e->>4)::boolean AS is_bot, e->>5 AS country,
           e->>6 AS referrer, e->>7 AS browser, e->>8 AS os, e->>9 AS social
    FROM jsonb_array_elements($1::jsonb) AS e
), totals AS (
    INSERT INTO link_totals AS t
        (link_id, owner_id, clicks, unique_clicks, bot_clicks, last_click_at)
    SELECT link_id, min(owner_id), count(*) FILTER (WHERE NOT is_bot),
           count(*) FILTER (WHERE is_unique), count(*) FILTER (WHERE is_bot), max(at)
    FROM c GROUP BY link_id
    ON CONFLICT (link_id) DO UPDATE SET
        clicks = t.clicks + excluded.clicks,
        unique_clicks = t.unique_clicks + excluded.unique_clicks,
        bot_clicks = t.bot_clicks + excluded.bot_clicks,
        last_click_at = greatest(t.last_click_at, excluded.last_click_at)
), hourly AS (
    INSERT INTO link_hourly AS h (link_id, hour, clicks, unique_clicks, bot_clicks)
    SELECT link_id, date_trunc('hour', at, 'UTC'), count(*) FILTER (WHERE NOT is_bot),
           count(*) FILTER (WHERE is_unique), count(*) FILTER (WHERE is_bot)
    FROM c GROUP BY 1, 2
    ON CONFLICT (link_id, hour) DO UPDATE SET
        clicks = h.clicks + excluded.clicks,
        unique_clicks = h.unique_clicks + excluded.unique_clicks,
        bot_clicks = h.bot_clicks + excluded.bot_clicks
), d AS (
    SELECT c.link_id, (c.at AT TIME ZONE 'UTC')::date AS day, v.dim, v.value
    FROM c CROSS JOIN LATERAL (VALUES ('country', c.country), ('referrer', c.referrer),
                                      ('browser', c.browser), ('os', c.os),
                                      ('social', c.social)) AS v(dim, value)
    WHERE NOT c.is_bot AND v.value IS NOT NULL
), daily AS (
    INSERT INTO link_daily_dims AS x (link_id, day, dim, value, clicks)
    SELECT link_id, day, dim, value, count(*) FROM d GROUP BY 1, 2, 3, 4
    ON CONFLICT (link_id, day, dim, value) DO UPDATE SET clicks = x.clicks + excluded.clicks
)
-- Late clicks, of days already folded, count in the all-time rows directly.
INSERT INTO link_dim_totals AS x (link_id, dim, value, clicks)
SELECT link_id, dim, value, count(*) FROM d
WHERE day < (SELECT folded_before FROM rollup_state WHERE name = 'breakdowns')
GROUP BY 1, 2, 3
ON CONFLICT (link_id, dim, value) DO UPDATE SET clicks = x.clicks + excluded.clicks
"""

# --- lifecycle ----------------------------------------------------------------

UPSERT_PLAN: Final = """
INSERT INTO plans AS p (plan_id, clicks, retention, changed_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (plan_id) DO UPDATE SET
    clicks = excluded.clicks, retention = excluded.retention, changed_at = excluded.changed_at
WHERE p.changed_at <= excluded.changed_at
"""

# $4: the user's role, or null (an event from before roles were sent) to keep
# the one known.
UPSERT_USER_PLAN: Final = """
INSERT INTO user_plans AS u (user_id, plan_id, changed_at, role)
VALUES ($1, $2, $3, coalesce($4::text, 'user'))
ON CONFLICT (user_id) DO UPDATE SET
    plan_id = excluded.plan_id, changed_at = excluded.changed_at, role = coalesce($4, u.role)
WHERE u.changed_at <= excluded.changed_at
"""

MARK_LINK_DELETED: Final = "INSERT INTO deleted_links (link_id) VALUES ($1) ON CONFLICT DO NOTHING"
MARK_OWNER_DELETED: Final = (
    "INSERT INTO deleted_owners (owner_id) VALUES ($1) ON CONFLICT DO NOTHING"
)
OWNER_LINK_IDS: Final = "SELECT link_id FROM link_totals WHERE owner_id = $1"

# Raw rows go in small batches, each its own short transaction.
DELETE_LINK_CLICKS_BATCH: Final = """
DELETE FROM clicks c USING (
    SELECT event_id, occurred_at FROM clicks WHERE owner_id = $1 AND link_id = $2 LIMIT $3
) d WHERE c.event_id = d.event_id AND c.occurred_at = d.occurred_at
"""
DELETE_OWNER_CLICKS_BATCH: Final = """
DELETE FROM clicks c USING (
    SELECT event_id, occurred_at FROM clicks WHERE owner_id = $1 AND occurred_at < $2 LIMIT $3
) d WHERE c.event_id = d.event_id AND c.occurred_at = d.occurred_at
"""

DELETE_LINK_ROLLUPS: Final = (
    "DELETE FROM link_totals WHERE link_id = any($1::bigint[])",
    "DELETE FROM link_dim_totals WHERE link_id = any($1::bigint[])",
    "DELETE FROM link_hourly WHERE link_id = any($1::bigint[])",
    "DELETE FROM link_daily_dims WHERE link_id = any($1::bigint[])",
    "DELETE FROM visitors WHERE link_id = any($1::bigint[])",
    "DELETE FROM block_totals WHERE link_id = any($1::bigint[])",
)
DELETE_OWNER_ROWS: Final = (
    "DELETE FROM usage WHERE owner_id = $1",
    "DELETE FROM user_plans WHERE user_id = $1",
)

# --- maintenance ----------------------------------------------------------------

# Owners whose plan keeps raw clicks for a limited time, with the cut-off
# (an admin's clicks are kept whatever their plan).
RETENTION_CUTOFFS: Final = """
SELECT up.user_id, $1::timestamptz - make_interval(days => p.retention) AS cutoff
FROM user_plans up JOIN plans p ON p.plan_id = up.plan_id
WHERE p.retention > 0 AND up.role <> 'admin'
ORDER BY up.user_id
"""

DELETE_OLD_VISITORS: Final = """
DELETE FROM visitors v USING (
    SELECT link_id, day, visitor_hash FROM visitors WHERE day < $1 LIMIT $2
) d WHERE v.link_id = d.link_id AND v.day = d.day AND v.visitor_hash = d.visitor_hash
"""

FOLDED_BEFORE: Final = "SELECT folded_before FROM rollup_state WHERE name = 'breakdowns'"
FOLD_DAY: Final = """
INSERT INTO link_dim_totals AS x (link_id, dim, value, clicks)
SELECT link_id, dim, value, sum(clicks) FROM link_daily_dims
WHERE day - DATE '2000-01-01' = $1::date - DATE '2000-01-01'  -- link_daily_dims_fold_idx
GROUP BY 1, 2, 3
ON CONFLICT (link_id, dim, value) DO UPDATE SET clicks = x.clicks + excluded.clicks
"""
SET_FOLDED_BEFORE: Final = "UPDATE rollup_state SET folded_before = $1 WHERE name = 'breakdowns'"

# The monthly partitions of analytics.clicks (clicks_YYYY_MM), oldest first.
MONTHLY_PARTITIONS: Final = r"""
SELECT c.relname AS name
  FROM pg_inherits i
  JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'analytics.clicks'::regclass AND c.relname ~ '^clicks_\d{4}_\d{2}$'
 ORDER BY c.relname
"""
# Whether a partition ({partition}: a name from MONTHLY_PARTITIONS) holds a row
# its owner's plan still keeps at $1: no known plan, a plan that keeps clicks
# forever (retention 0), an admin's click, or a click younger than the retention.
KEPT_ROWS_IN: Final = """
SELECT EXISTS (
    SELECT 1 FROM analytics.{partition} c
      LEFT JOIN analytics.user_plans up ON up.user_id = c.owner_id
      LEFT JOIN analytics.plans p ON p.plan_id = up.plan_id
     WHERE coalesce(p.retention, 0) = 0
        OR up.role = 'admin'
        OR c.occurred_at >= $1::timestamptz - make_interval(days => p.retention))
"""
# A catalog read with this statement's snapshot: to_regclass() answers from a
# cache that may not yet know of a table another session just committed (a
# second worker that waited for the partitioning lock would then create it twice).
PARTITION_EXISTS: Final = """
SELECT EXISTS (
    SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'analytics' AND c.relname = $1
)
"""
LOCK_PARTITIONING: Final = (
    "SELECT pg_advisory_xact_lock(hashtextextended('analytics:partitions', 0))"
)

# --- stats (rollups only) -------------------------------------------------------------

LINK_TOTALS: Final = """
SELECT clicks, unique_clicks, bot_clicks,
       (SELECT folded_before FROM rollup_state WHERE name = 'breakdowns') AS folded_before
FROM link_totals WHERE link_id = $1 AND owner_id = $2
"""

# All-time top values of each dimension, without reading every value a link
# ever had: the candidates are the top $3 folded values of each dimension
# (through link_dim_totals_top_idx) and every value of the days not folded yet
# (today, and yesterday until it is folded; $4 = folded_before, read with
# LINK_TOTALS in the same snapshot). A value that is neither has no more clicks
# than the last folded candidate, so the top $3 of the candidates' full counts
# is the true top $3. Its cost follows the number of values of a link's
# unfolded days, never its number of clicks.
TOP_DIMS: Final = """
WITH recent AS (
    SELECT dim, value, sum(clicks)::bigint AS clicks FROM link_daily_dims
    WHERE link_id = $1 AND day >= $4 AND dim = any($2::text[])
    GROUP BY dim, value
), folded AS (
    SELECT t.dim, t.value, t.clicks FROM unnest($2::text[]) AS d(dim)
    CROSS JOIN LATERAL (
        SELECT dim, value, clicks FROM link_dim_totals
        WHERE link_id = $1 AND dim = d.dim ORDER BY clicks DESC LIMIT $3
    ) t
), candidates AS (
    SELECT dim, value FROM recent UNION SELECT dim, value FROM folded
)
SELECT c.dim, c.value, coalesce(t.clicks, 0) + coalesce(r.clicks, 0) AS clicks
FROM candidates c
LEFT JOIN LATERAL (
    SELECT clicks FROM link_dim_totals
    WHERE link_id = $1 AND dim = c.dim AND value = c.value
    LIMIT 1  -- (the key is unique) keeps it one primary key probe per candidate
) t ON true
LEFT JOIN recent r ON r.dim = c.dim AND r.value = c.value
"""

SERIES: Final = """
SELECT date_trunc($2, hour, 'UTC') AS bucket,
       sum(clicks)::bigint AS clicks, sum(unique_clicks)::bigint AS unique_clicks,
       sum(bot_clicks)::bigint AS bot_clicks
FROM link_hourly WHERE link_id = $1 AND hour >= $3 AND hour < $4
GROUP BY 1 ORDER BY 1
"""

RANGE_DIMS: Final = """
SELECT dim, value, sum(clicks)::bigint AS clicks
FROM link_daily_dims WHERE link_id = $1 AND day >= $2 AND day < $3
GROUP BY dim, value
"""

COUNTS: Final = """
SELECT link_id, clicks FROM link_totals WHERE owner_id = $1 AND link_id = any($2::bigint[])
"""

RANKING: Final = """
SELECT link_id, clicks FROM link_totals WHERE owner_id = $1 AND clicks > 0
ORDER BY clicks DESC, link_id DESC
"""

USAGE: Final = "SELECT clicks, over_quota FROM usage WHERE owner_id = $1 AND month = $2"
USAGE_BY_OWNER: Final = """
SELECT owner_id, clicks, over_quota FROM usage WHERE owner_id = any($1::bigint[]) AND month = $2"""

# --- raw click export (click_export.py) ------------------------------------------

# An owner's clicks in [$3, $4), optionally of one link ($2), in the order of
# clicks_owner_link_time_idx (no sort), for a server-side cursor. The visitor
# hash stays in: it is a per-day pseudonym, not something to hand out.
EXPORT_CLICKS: Final = """
SELECT occurred_at, link_id, source, qr_id, campaign_id, ip_prefix, country, city,
       browser, os, device, referrer_host, social, language, is_bot
  FROM clicks
 WHERE owner_id = $1 AND ($2::bigint IS NULL OR link_id = $2)
   AND occurred_at >= $3 AND occurred_at < $4
 ORDER BY owner_id, link_id, occurred_at
"""

# --- account-level stats (account_stats.py) ------------------------------------

# The owner's links ($2: only these ids, or NULL for all), then their rollups:
# one primary-key range per link, whatever the owner's number of clicks.
_OWNED: Final = """
WITH mine AS (
    SELECT link_id FROM link_totals
     WHERE owner_id = $1 AND ($2::bigint[] IS NULL OR link_id = any($2::bigint[]))
)
"""
ACCOUNT_SERIES: Final = (
    _OWNED
    + """
SELECT date_trunc($3, h.hour, 'UTC') AS bucket,
       sum(h.clicks)::bigint AS clicks, sum(h.unique_clicks)::bigint AS unique_clicks,
       sum(h.bot_clicks)::bigint AS bot_clicks
  FROM mine JOIN link_hourly h ON h.link_id = mine.link_id AND h.hour >= $4 AND h.hour < $5
 GROUP BY 1 ORDER BY 1
"""
)
ACCOUNT_RANGE_DIMS: Final = (
    _OWNED
    + """
SELECT x.dim, x.value, sum(x.clicks)::bigint AS clicks
  FROM mine JOIN link_daily_dims x ON x.link_id = mine.link_id AND x.day >= $3 AND x.day < $4
 GROUP BY x.dim, x.value
"""
)
# Totals per group ($2 keys and $3 link ids, pairwise) over [$4, $5).
GROUP_TOTALS: Final = """
WITH g AS (
    SELECT g.key, g.link_id FROM unnest($2::text[], $3::bigint[]) AS g(key, link_id)
      JOIN link_totals t ON t.link_id = g.link_id AND t.owner_id = $1
)
SELECT g.key, coalesce(sum(h.clicks), 0)::bigint AS clicks,
       coalesce(sum(h.unique_clicks), 0)::bigint AS unique_clicks,
       coalesce(sum(h.bot_clicks), 0)::bigint AS bot_clicks
  FROM g JOIN link_hourly h ON h.link_id = g.link_id AND h.hour >= $4 AND h.hour < $5
 GROUP BY g.key
"""


# --- bio pages: clicks per block (ingest.py, handlers.py) ------------------------

ADD_BLOCK_CLICKS: Final = """
INSERT INTO block_totals AS t (link_id, block_id, owner_id, clicks)
SELECT link_id, block_id, owner_id, count(*)
  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS c(link_id, block_id, owner_id)
 GROUP BY link_id, block_id, owner_id
 ORDER BY link_id, block_id
ON CONFLICT (link_id, block_id) DO UPDATE SET clicks = t.clicks + excluded.clicks
"""
BLOCK_CLICKS: Final = """
SELECT block_id, clicks FROM block_totals WHERE link_id = $1 AND owner_id = $2
"""
# Device types of a page's views (kept in the raw rows only; a page's views are few).
VIEW_DEVICES: Final = """
SELECT device, count(*) AS clicks
  FROM clicks
 WHERE owner_id = $2 AND link_id = $1 AND block_id IS NULL AND NOT is_bot
 GROUP BY device
"""
