-- Plans, users, their API keys, single sign-on links and browser sessions.
-- Secrets (API keys, SSO tokens, session tokens) are stored only as sha256 hex.

CREATE TABLE plans (
    id             serial      PRIMARY KEY,
    name           text        NOT NULL,
    free           boolean     NOT NULL DEFAULT false,
    price_monthly  numeric(12, 2) CHECK (price_monthly >= 0),
    price_yearly   numeric(12, 2) CHECK (price_yearly >= 0),
    price_lifetime numeric(12, 2) CHECK (price_lifetime >= 0),
    -- the published shape of GET /api/plans "limits"
    limits         jsonb       NOT NULL,
    -- the plan's own API token bucket; NULL: the gateway's default (RATE_LIMIT_*)
    rate_capacity  integer     CHECK (rate_capacity > 0),
    rate_window    integer     CHECK (rate_window > 0),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX plans_name_unique ON plans (lower(name));

INSERT INTO plans (id, name, free, price_monthly, price_yearly, price_lifetime, limits) VALUES
(1, 'Starter', true, NULL, NULL, NULL, '{
    "links": 10, "clicks": 1000, "retention": 7,
    "custom": {"enabled": "0"},
    "team": {"enabled": "0", "count": "0"},
    "splash": {"enabled": "0", "count": "0"},
    "overlay": {"enabled": "0", "count": "10"},
    "pixels": {"enabled": "0", "count": "10"},
    "domain": {"enabled": "0", "count": "0"},
    "multiple": {"enabled": "0"}, "alias": {"enabled": "0"}, "device": {"enabled": "0"},
    "geo": {"enabled": "0"}, "bundle": {"enabled": "0"}, "parameters": {"enabled": "0"},
    "export": {"enabled": "0"}, "api": {"enabled": "0"}}'),
(2, 'Business', false, 9.99, 99.99, 999.99, '{
    "links": 100, "clicks": 100000, "retention": 60,
    "custom": {"enabled": "0"},
    "team": {"enabled": "0", "count": "0"},
    "splash": {"enabled": "1", "count": "5"},
    "overlay": {"enabled": "1", "count": "10"},
    "pixels": {"enabled": "1", "count": "10"},
    "domain": {"enabled": "1", "count": "1"},
    "multiple": {"enabled": "0"}, "alias": {"enabled": "1"}, "device": {"enabled": "0"},
    "geo": {"enabled": "0"}, "bundle": {"enabled": "0"}, "parameters": {"enabled": "0"},
    "export": {"enabled": "0"}, "api": {"enabled": "0"}}');
SELECT setval(pg_get_serial_sequence('plans', 'id'), 2);

CREATE TABLE users (
    id            bigserial   PRIMARY KEY,
    username      text        NOT NULL,
    email         text        NOT NULL,
    password_hash text        NOT NULL,
    role          text        NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
    plan_id       integer     NOT NULL DEFAULT 1 REFERENCES plans (id),
    plan_type     text        CHECK (plan_type IN ('monthly', 'yearly', 'lifetime')),
    -- end of a paid subscription; NULL: never (lifetime, or a free plan)
    expires_at    timestamptz,
    -- the key of the add-contact HMAC (readable by the user, so not hashed)
    api_secret    text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_unique ON users (lower(username));
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));
CREATE INDEX users_role ON users (role) WHERE role = 'admin';

-- A user with a paid plan whose expiration has passed is on the free plan
-- (the lowest-numbered one) until an admin subscribes them again.
CREATE VIEW user_accounts AS
SELECT u.id, u.username, u.email, u.role, u.plan_id, u.plan_type, u.expires_at,
       u.api_secret, u.created_at,
       e.id AS effective_plan_id, e.name AS plan_name, e.free AS plan_free,
       e.limits, e.rate_capacity, e.rate_window
FROM users u
JOIN plans p ON p.id = u.plan_id
JOIN LATERAL (
    SELECT f.id, f.name, f.free, f.limits, f.rate_capacity, f.rate_window
    FROM plans f
    WHERE f.id = p.id
       OR (f.free AND NOT p.free AND u.expires_at IS NOT NULL AND u.expires_at <= now())
    ORDER BY (f.id = p.id), f.id
    LIMIT 1
) e ON true;

CREATE TABLE api_keys (
    id         bigserial   PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_hash   text        NOT NULL UNIQUE,
    prefix     text        NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- One live key per user: regenerating revokes the previous one in the same transaction.
CREATE UNIQUE INDEX api_keys_one_live ON api_keys (user_id) WHERE revoked_at IS NULL;

CREATE TABLE sso_tokens (
    token_hash text        PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sso_tokens_user ON sso_tokens (user_id);

CREATE TABLE sessions (
    token_hash text        PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_user ON sessions (user_id);
