-- Deleting a branded domain deletes its links one statement at a time and
-- returns their aliases (to remove their snapshots); that needs an index the
-- (coalesce(domain_id, 0), alias) unique index cannot serve.
CREATE INDEX links_domain ON links (domain_id) WHERE domain_id IS NOT NULL;
