-- Branded domains prove their owner before they are served: a DNS TXT record
-- `_shortener-verify.<host>` with `shortener-verify=<verify_token>`. The edge
-- serves a domain only once verified_at is set (set at once when verification is
-- off). Domains added before verification existed were served already: they stay so.
ALTER TABLE domains
    ADD COLUMN verify_token      text NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', ''),
    ADD COLUMN verified_at       timestamptz,
    ADD COLUMN verify_checked_at timestamptz;
UPDATE domains SET verified_at = created_at;
-- The background re-check reads the unverified ones, least recently checked first.
CREATE INDEX domains_unverified ON domains (verify_checked_at NULLS FIRST, id)
    WHERE verified_at IS NULL;

-- Hosts whose domain was deleted: the edge answers 404 there (never the default
-- domain's link of the same alias) until the host is added again.
CREATE TABLE deleted_domains (
    host       text        PRIMARY KEY,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
