-- QR codes (API.md section 10). A `link` code is dynamic: it is backed by a
-- hidden link (links.qr_id set) whose alias is the code's own, so each scan is
-- a click of that link and the destination can change after printing.

CREATE TABLE qr_codes (
    id          bigserial PRIMARY KEY,
    owner_id    bigint      NOT NULL,
    name        text,
    type        text        NOT NULL
                CHECK (type IN ('text', 'vcard', 'link', 'email', 'phone', 'sms', 'wifi')),
    data        jsonb       NOT NULL,  -- the API's `data` as given (a string or an object)
    alias       text        NOT NULL,  -- /qr/<alias> serves the image; a dynamic code's short URL
    link_id     bigint      REFERENCES links (id) ON DELETE SET NULL,  -- the backing link
    background  text        NOT NULL DEFAULT 'rgb(255,255,255)',
    foreground  text        NOT NULL DEFAULT 'rgb(0,0,0)',
    logo        bytea,      -- normalized PNG, fetched once when the code was added or updated
    -- What the edge needs for a cache key and an ETag without reading the logo itself.
    logo_sha256 text        GENERATED ALWAYS AS (encode(sha256(logo), 'hex')) STORED,
    channel_id  bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT qr_codes_alias_unique UNIQUE (alias)
);
CREATE INDEX qr_codes_owner ON qr_codes (owner_id, id DESC);
CREATE INDEX qr_codes_link ON qr_codes (link_id) WHERE link_id IS NOT NULL;

-- A backing link is managed only through the QR API: the links API lists,
-- counts and changes only links with qr_id NULL. Deleting a code deletes its
-- link explicitly (to remove the snapshot and announce it); the cascade is a net.
ALTER TABLE links ADD COLUMN qr_id bigint REFERENCES qr_codes (id) ON DELETE CASCADE;
CREATE UNIQUE INDEX links_qr ON links (qr_id) WHERE qr_id IS NOT NULL;
