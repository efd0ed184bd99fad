-- Clicks of a month left out by the owner's monthly quota (not tracked: no raw
-- row, in no rollup). The first of a month is when the worker logs, once, that
-- the owner's clicks stopped counting; the account answer shows the figure.
ALTER TABLE usage ADD COLUMN over_quota bigint NOT NULL DEFAULT 0;
