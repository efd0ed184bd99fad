-- One default plan that allows everything, instead of the seed's sample plans.
--
-- 0001 gave every install the seed's two sample plans: Starter (free: 10 links,
-- 1,000 tracked clicks a month, 7 days of history, no features) and Business.
-- A self-hosted install should instead start with one plan that allows every
-- feature with no quota; the samples are in docs/plans.md, to add on purpose.
--
-- 0001 cannot be edited (the runner refuses an applied file that changed), so
-- this changes only a database still holding exactly the untouched samples,
-- with nobody subscribed to Business: Starter (id 1, the plan of every user
-- there) becomes "Default" with every feature on and no quota (0 = unlimited),
-- and Business goes. An install whose admin edited or added plans, or put
-- someone on Business, keeps what its admin made.
--
-- New users get the lowest-numbered free plan: this one. Features added later
-- are on in it too (services/accounts/plan_limits.py: an unrestricted plan's
-- missing features are filled in as on).
DO $migration$
DECLARE
    all_features constant jsonb := '{
        "links": 0, "clicks": 0, "retention": 0,
        "custom": {"enabled": "1"},
        "team": {"enabled": "1", "count": "0"},
        "splash": {"enabled": "1", "count": "0"},
        "overlay": {"enabled": "1", "count": "0"},
        "pixels": {"enabled": "1", "count": "0"},
        "domain": {"enabled": "1", "count": "0"},
        "multiple": {"enabled": "1"}, "alias": {"enabled": "1"}, "device": {"enabled": "1"},
        "geo": {"enabled": "1"}, "bundle": {"enabled": "1"}, "parameters": {"enabled": "1"},
        "export": {"enabled": "1"}, "api": {"enabled": "1"},
        "webhooks": {"enabled": "1", "count": "0"}}';
BEGIN
    IF (SELECT count(*) FROM plans) = 2
       AND EXISTS (
           SELECT 1 FROM plans
           WHERE id = 1 AND name = 'Starter' AND free
             AND price_monthly IS NULL AND price_yearly IS NULL AND price_lifetime IS NULL
             AND rate_capacity IS NULL AND rate_window IS NULL
             AND limits = '{
                 "links": 10, "clicks": 1000, "retention": 7,
                 "custom": {"enabled": "0"},
                 "team": {"enabled": "0", "count": "0"},
                 "splash": {"enabled": "0", "count": "0"},
                 "overlay": {"enabled": "0", "count": "10"},
                 "pixels": {"enabled": "0", "count": "10"},
                 "domain": {"enabled": "0", "count": "0"},
                 "multiple": {"enabled": "0"}, "alias": {"enabled": "0"}, "device": {"enabled": "0"},
                 "geo": {"enabled": "0"}, "bundle": {"enabled": "0"}, "parameters": {"enabled": "0"},
                 "export": {"enabled": "0"}, "api": {"enabled": "0"}}'::jsonb)
       AND EXISTS (
           SELECT 1 FROM plans
           WHERE id = 2 AND name = 'Business' AND NOT free
             AND price_monthly = 9.99 AND price_yearly = 99.99 AND price_lifetime = 999.99
             AND rate_capacity IS NULL AND rate_window IS NULL
             AND limits = '{
                 "links": 100, "clicks": 100000, "retention": 60,
                 "custom": {"enabled": "0"},
                 "team": {"enabled": "0", "count": "0"},
                 "splash": {"enabled": "1", "count": "5"},
                 "overlay": {"enabled": "1", "count": "10"},
                 "pixels": {"enabled": "1", "count": "10"},
                 "domain": {"enabled": "1", "count": "1"},
                 "multiple": {"enabled": "0"}, "alias": {"enabled": "1"}, "device": {"enabled": "0"},
                 "geo": {"enabled": "0"}, "bundle": {"enabled": "0"}, "parameters": {"enabled": "0"},
                 "export": {"enabled": "0"}, "api": {"enabled": "0"}}'::jsonb)
       AND NOT EXISTS (SELECT 1 FROM users WHERE plan_id = 2)
    THEN
        DELETE FROM plans WHERE id = 2;
        UPDATE plans SET name = 'Default', limits = all_features WHERE id = 1;
        -- Tell the other processes (analytics applies a plan's click quota and
        -- retention; the gateway caches principals): staged in the outbox, which
        -- the accounts service publishes once it runs.
        INSERT INTO outbox (type, event) VALUES (
            'plan.changed',
            jsonb_build_object(
                'id', replace(gen_random_uuid()::text, '-', ''),
                'type', 'plan.changed',
                'occurred_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                'payload', jsonb_build_object('plan_id', 1, 'user_id', NULL, 'limits', all_features)));
    END IF;
END
$migration$;
