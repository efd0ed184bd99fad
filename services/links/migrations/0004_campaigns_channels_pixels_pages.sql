-- Tracking pixels, custom splash pages, CTA overlays, channels and campaigns
-- (API.md sections 5-9). Links point at them by id (pixel_ids, type
-- 'splash-<id>' / 'overlay-<id>', channel_id, campaign_id); the links service
-- checks on every write that they exist and belong to the link's owner.

CREATE TABLE pixels (
    id         bigserial PRIMARY KEY,
    owner_id   bigint      NOT NULL,
    type       text        NOT NULL CHECK (type IN (
                   'gtmpixel', 'gapixel', 'fbpixel', 'adwordspixel', 'linkedinpixel',
                   'twitterpixel', 'adrollpixel', 'quorapixel', 'pinterest', 'bing',
                   'snapchat', 'reddit')),
    name       text        NOT NULL,
    -- An account or container id, checked per type (pixel_tags.py): never markup.
    tag        text        NOT NULL CHECK (tag ~ '^[A-Za-z0-9][A-Za-z0-9_:/-]*$'),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pixels_owner ON pixels (owner_id, id DESC);

CREATE TABLE splash_pages (
    id          bigserial PRIMARY KEY,
    owner_id    bigint      NOT NULL,
    name        text        NOT NULL,
    title       text,
    message     text,
    image       text,
    button_text text,
    button_url  text,
    delay       integer     NOT NULL DEFAULT 5 CHECK (delay BETWEEN 0 AND 30),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX splash_pages_owner ON splash_pages (owner_id, id DESC);

CREATE TABLE overlays (
    id          bigserial PRIMARY KEY,
    owner_id    bigint      NOT NULL,
    type        text        NOT NULL CHECK (type IN ('message', 'contact', 'newsletter')),
    name        text        NOT NULL,
    text        text,
    button_text text,
    button_url  text,
    position    text        NOT NULL DEFAULT 'bottom',
    colors      jsonb       NOT NULL DEFAULT '{}',  -- {"bg", "text", "button", "button_text"}: #RRGGBB
    group_id    bigint,     -- a contact group of the owner (accounts checks it on submission)
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX overlays_owner ON overlays (owner_id, id DESC);

CREATE TABLE channels (
    id          bigserial PRIMARY KEY,
    owner_id    bigint      NOT NULL,
    name        text        NOT NULL,
    description text,
    color       text,       -- #RRGGBB
    starred     boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX channels_owner ON channels (owner_id, id DESC);
CREATE UNIQUE INDEX channels_owner_name ON channels (owner_id, lower(name));

CREATE TABLE campaigns (
    id             bigserial PRIMARY KEY,
    owner_id       bigint      NOT NULL,
    -- The owner's username when the campaign was made: part of its public list URL.
    owner_username text        NOT NULL,
    name           text        NOT NULL,
    slug           text,       -- the rotator's /r/<slug>; NULL: no rotator
    public         boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_owner ON campaigns (owner_id, id DESC);
CREATE UNIQUE INDEX campaigns_owner_name ON campaigns (owner_id, lower(name));
-- Slugs are one namespace for everyone (/r/<slug>); case-insensitively, so that
-- no two rotators differ only in case.
CREATE UNIQUE INDEX campaigns_slug ON campaigns (lower(slug)) WHERE slug IS NOT NULL;

-- Until now links stored these ids unchecked, and none of them could exist.
UPDATE links SET channel_id = NULL WHERE channel_id IS NOT NULL;
UPDATE links SET campaign_id = NULL WHERE campaign_id IS NOT NULL;
UPDATE links SET pixel_ids = '{}' WHERE pixel_ids <> '{}';
UPDATE links SET type = 'splash' WHERE type LIKE 'splash-%';
UPDATE links SET type = 'direct' WHERE type LIKE 'overlay-%';
UPDATE qr_codes SET channel_id = NULL WHERE channel_id IS NOT NULL;

-- Deleting a channel or campaign clears these explicitly (to refresh snapshots);
-- the foreign keys are the net.
ALTER TABLE links ADD CONSTRAINT links_channel_fk
    FOREIGN KEY (channel_id) REFERENCES channels (id) ON DELETE SET NULL;
ALTER TABLE links ADD CONSTRAINT links_campaign_fk
    FOREIGN KEY (campaign_id) REFERENCES campaigns (id) ON DELETE SET NULL;
ALTER TABLE qr_codes ADD CONSTRAINT qr_codes_channel_fk
    FOREIGN KEY (channel_id) REFERENCES channels (id) ON DELETE SET NULL;

CREATE INDEX links_campaign ON links (campaign_id, id) WHERE campaign_id IS NOT NULL;
CREATE INDEX links_channel ON links (channel_id, created_at DESC) WHERE channel_id IS NOT NULL;
CREATE INDEX qr_codes_channel ON qr_codes (channel_id, created_at DESC) WHERE channel_id IS NOT NULL;
-- The links that use a pixel, splash page or overlay (refreshed when it changes).
CREATE INDEX links_pixels ON links USING gin (pixel_ids);
CREATE INDEX links_custom_page ON links (owner_id, type)
    WHERE type LIKE 'splash-%' OR type LIKE 'overlay-%';
