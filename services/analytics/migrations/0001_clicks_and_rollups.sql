-- Click analytics. Raw clicks are kept (partitioned by month) for the plan's
-- retention; every stats answer reads the rollups below, so its cost does not
-- grow with the number of clicks. All times are UTC.

-- One row per click event the worker stored, keyed by the event id so that a
-- redelivered event is stored (and counted) once. The partition key has to be
-- part of the key; an event always carries the same occurred_at, so it always
-- lands in the same partition. Monthly partitions are created ahead of time by
-- the worker; the default partition catches anything outside them.
CREATE TABLE clicks (
    event_id      text        COLLATE "C" NOT NULL,
    occurred_at   timestamptz NOT NULL,
    link_id       bigint      NOT NULL,
    owner_id      bigint      NOT NULL,
    source        text        NOT NULL,
    qr_id         bigint,
    campaign_id   bigint,
    ip_prefix     cidr,                     -- IPv4 /24 or IPv6 /48, never the full address
    visitor_hash  bytea       NOT NULL,     -- keyed by a salt that changes every day
    country       text        NOT NULL,     -- ISO 3166-1 alpha-2, '' when unknown
    city          text        NOT NULL,
    browser       text        NOT NULL,
    os            text        NOT NULL,
    device        text        NOT NULL,
    referrer_host text        NOT NULL,     -- '' for direct, email and other
    social        text,
    language      text        NOT NULL,
    is_bot        boolean     NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE TABLE clicks_default PARTITION OF clicks DEFAULT;

-- One secondary index (each costs every insert): user deletion walks an
-- owner's rows, link deletion an owner's link's rows, and the retention purge
-- an owner's rows in the partitions older than the cut-off.
CREATE INDEX clicks_owner_link_time_idx ON clicks (owner_id, link_id, occurred_at);

-- Rollups. Bots are counted apart (bot_clicks) and in no other number.
-- fillfactor leaves room on each page so that counter updates stay HOT; keys
-- compare bytewise (COLLATE "C"): they are never shown sorted by them.
CREATE TABLE link_totals (
    link_id       bigint PRIMARY KEY,
    owner_id      bigint NOT NULL,
    clicks        bigint NOT NULL DEFAULT 0,
    unique_clicks bigint NOT NULL DEFAULT 0,
    bot_clicks    bigint NOT NULL DEFAULT 0,
    last_click_at timestamptz
) WITH (fillfactor = 80);
CREATE INDEX link_totals_owner_idx ON link_totals (owner_id);

-- All-time breakdowns of the stats block: dim is one of country, referrer,
-- browser, os, social. (City, device type and language stay in the raw rows.)
-- Clicks land in link_daily_dims; the days before rollup_state.folded_before
-- have been added here once (by the worker, the day after), so a click costs
-- one breakdown row per dimension, and an all-time answer reads these rows
-- plus the few days not folded yet.
CREATE TABLE link_dim_totals (
    link_id bigint NOT NULL,
    dim     text   COLLATE "C" NOT NULL,
    value   text   COLLATE "C" NOT NULL,
    clicks  bigint NOT NULL,
    PRIMARY KEY (link_id, dim, value)
) WITH (fillfactor = 80);
-- The top values of a link's dimension without reading the others (written
-- by the daily fold, not by each click).
CREATE INDEX link_dim_totals_top_idx ON link_dim_totals (link_id, dim, clicks DESC);

CREATE TABLE link_hourly (
    link_id       bigint      NOT NULL,
    hour          timestamptz NOT NULL,
    clicks        bigint      NOT NULL DEFAULT 0,
    unique_clicks bigint      NOT NULL DEFAULT 0,
    bot_clicks    bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (link_id, hour)
) WITH (fillfactor = 80);

CREATE TABLE link_daily_dims (
    link_id bigint NOT NULL,
    day     date   NOT NULL,
    dim     text   COLLATE "C" NOT NULL,
    value   text   COLLATE "C" NOT NULL,
    clicks  bigint NOT NULL,
    PRIMARY KEY (link_id, day, dim, value)
) WITH (fillfactor = 80);
-- For the fold of one day across all links, and nothing else: indexed by an
-- expression only the fold uses, so a plan for a stats query (whatever the
-- day it is given) always takes the primary key.
CREATE INDEX link_daily_dims_fold_idx ON link_daily_dims USING brin ((day - DATE '2000-01-01'));

CREATE TABLE rollup_state (
    name          text PRIMARY KEY,
    folded_before date NOT NULL
);
INSERT INTO rollup_state (name, folded_before)
VALUES ('breakdowns', (now() AT TIME ZONE 'UTC')::date);

-- A visitor counts once per link per UTC day; the hash already changes every
-- day (daily salt), the day is kept so old rows can be purged.
CREATE TABLE visitors (
    link_id      bigint NOT NULL,
    day          date   NOT NULL,
    visitor_hash bytea  NOT NULL,
    PRIMARY KEY (link_id, day, visitor_hash)
);
CREATE INDEX visitors_day_idx ON visitors USING brin (day);

-- Plan limits, from plan.changed events. clicks: tracked clicks per month
-- (0 = unlimited); retention: days of raw clicks kept (0 = forever). An owner
-- without a row here is unlimited until the first plan.changed arrives.
CREATE TABLE plans (
    plan_id    bigint      PRIMARY KEY,
    clicks     bigint      NOT NULL DEFAULT 0,
    retention  integer     NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL
);
CREATE TABLE user_plans (
    user_id    bigint      PRIMARY KEY,
    plan_id    bigint      NOT NULL,
    changed_at timestamptz NOT NULL
);
CREATE INDEX user_plans_plan_idx ON user_plans (plan_id);

-- Tracked (non-bot, within quota) clicks per owner and calendar month.
CREATE TABLE usage (
    owner_id bigint NOT NULL,
    month    date   NOT NULL,
    clicks   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (owner_id, month)
) WITH (fillfactor = 80);

-- Deleted links and users: clicks still in flight for them are dropped.
CREATE TABLE deleted_links (
    link_id    bigint      PRIMARY KEY,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE deleted_owners (
    owner_id   bigint      PRIMARY KEY,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
