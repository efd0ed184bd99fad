-- Branded domains and short links. The edge reads these only on a cache miss.

CREATE TABLE domains (
    id            bigserial PRIMARY KEY,
    owner_id      bigint      NOT NULL,
    -- lower-cased host (with port if any), e.g. 'go.example.com': what a visitor's Host header says
    host          text        NOT NULL,
    scheme        text        NOT NULL DEFAULT 'https' CHECK (scheme IN ('http', 'https')),
    redirect_root text,
    redirect_404  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT domains_host_unique UNIQUE (host)
);
CREATE INDEX domains_owner ON domains (owner_id, id);

CREATE TABLE links (
    id                  bigserial PRIMARY KEY,
    owner_id            bigint      NOT NULL,
    domain_id           bigint      REFERENCES domains (id) ON DELETE CASCADE,  -- NULL: the default domain
    alias               text        NOT NULL,
    long_url            text        NOT NULL,
    title               text,
    description         text,
    status              text        NOT NULL DEFAULT 'public' CHECK (status IN ('public', 'private')),
    type                text        NOT NULL DEFAULT 'direct',  -- direct | frame | splash | splash-<id> | overlay-<id>
    password_hash       text,
    expires_at          timestamptz,
    click_limit         integer     CHECK (click_limit IS NULL OR click_limit > 0),
    expiration_redirect text,
    meta_title          text,
    meta_description    text,
    meta_image          text,
    deeplink            jsonb,   -- {"auto": bool, "apple": url, "google": url}
    geotarget           jsonb,   -- [{"location": "CA", "link": url}]  (ISO codes)
    devicetarget        jsonb,   -- [{"device": "iPhone", "link": url}]
    languagetarget      jsonb,   -- [{"language": "en", "link": url}]
    parameters          jsonb,   -- [{"name": "utm_source", "value": "x"}]
    pixel_ids           bigint[] NOT NULL DEFAULT '{}',
    channel_id          bigint,
    campaign_id         bigint,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- One alias per domain (the default domain is domain 0). Aliases are case-sensitive, as Bitly's.
CREATE UNIQUE INDEX links_domain_alias ON links (coalesce(domain_id, 0), alias);
CREATE INDEX links_owner_created ON links (owner_id, created_at DESC, id DESC);
