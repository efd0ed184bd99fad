-- Bio pages (link-in-bio). A page is served at the alias of a hidden backing
-- link (links.bio_id), exactly as a dynamic QR code is: one alias namespace per
-- domain for links and pages, one snapshot and invalidation path, and a page
-- view is a click of that link. The page's content rides in the link's snapshot.
CREATE TABLE bio_pages (
    id            bigserial PRIMARY KEY,
    owner_id      bigint      NOT NULL,
    name          text        NOT NULL,
    alias         text        NOT NULL,
    domain_id     bigint      REFERENCES domains (id) ON DELETE CASCADE,  -- NULL: the default domain
    shorturl      text        NOT NULL,  -- https://<domain>/<alias>, kept with alias and domain
    description   text,
    avatar        bytea,      -- a normalized PNG (fetched through the SSRF guard or uploaded)
    theme         jsonb       NOT NULL DEFAULT '{}',
    seo           jsonb       NOT NULL DEFAULT '{}',
    -- [{"id": n, "type": ..., ...}] in display order; ids are never reused in a page
    blocks        jsonb       NOT NULL DEFAULT '[]',
    last_block_id integer     NOT NULL DEFAULT 0,
    link_id       bigint,
    channel_id    bigint      REFERENCES channels (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bio_pages_owner ON bio_pages (owner_id, id DESC);
CREATE INDEX bio_pages_channel ON bio_pages (channel_id, created_at DESC) WHERE channel_id IS NOT NULL;

ALTER TABLE links ADD COLUMN bio_id bigint;
CREATE UNIQUE INDEX links_bio ON links (bio_id) WHERE bio_id IS NOT NULL;
