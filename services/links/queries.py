"""The links service's SQL, by name. Tables live in the ``links`` schema, which
is first on the search path of this service's connections (see ``app.py``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

# Serialises quota checks of one owner (and one kind of object) across replicas:
# count-then-insert is only safe while this transaction-scoped lock is held.
LOCK_OWNER: Final = "SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::text, 0))"

# --- links -----------------------------------------------------------------

# What a link's owner can set, in the order of the INSERT and UPDATE parameters.
LINK_WRITABLE: Final = (
    "domain_id",
    "alias",
    "long_url",
    "title",
    "description",
    "status",
    "type",
    "password_hash",
    "expires_at",
    "click_limit",
    "expiration_redirect",
    "meta_title",
    "meta_description",
    "meta_image",
    "deeplink",
    "geotarget",
    "devicetarget",
    "languagetarget",
    "parameters",
    "pixel_ids",
    "channel_id",
    "campaign_id",
    "tags",
)
LINK_DEFAULTS: Final[dict[str, object]] = {
    "domain_id": None,
    "title": None,
    "description": None,
    "status": "public",
    "type": "direct",
    "password_hash": None,
    "expires_at": None,
    "click_limit": None,
    "expiration_redirect": None,
    "meta_title": None,
    "meta_description": None,
    "meta_image": None,
    "deeplink": None,
    "geotarget": None,
    "devicetarget": None,
    "languagetarget": None,
    "parameters": None,
    "pixel_ids": [],
    "channel_id": None,
    "campaign_id": None,
    "tags": [],
}

_LINK_SELECT: Final = """
SELECT l.id, l.owner_id, l.domain_id, l.alias, l.long_url, l.title, l.description, l.status,
       l.type, l.password_hash, l.expires_at, l.click_limit, l.expiration_redirect,
       l.meta_title, l.meta_description, l.meta_image, l.deeplink, l.geotarget,
       l.devicetarget, l.languagetarget, l.parameters, l.pixel_ids, l.channel_id,
       l.campaign_id, l.tags, l.created_at, l.updated_at,
       coalesce(l.created_by, l.owner_id) AS created_by,
       d.host AS domain_host, d.scheme AS domain_scheme
  FROM links l
  LEFT JOIN domains d ON d.id = l.domain_id
"""

# Links with qr_id set back a dynamic QR code: only the QR API manages them.
LINK_BY_ID: Final = (
    _LINK_SELECT + " WHERE l.id = $1 AND l.owner_id = $2 AND l.qr_id IS NULL AND l.bio_id IS NULL"
)
LINK_BY_ID_FOR_UPDATE: Final = LINK_BY_ID + " FOR UPDATE OF l"

# ON CONFLICT DO NOTHING on the (domain, alias) unique index: a taken alias
# returns no row instead of aborting the transaction, so a generated alias can
# simply be retried, and concurrent adds of one custom alias leave one winner.
INSERT_LINK: Final = f"""
INSERT INTO links (owner_id, {", ".join(LINK_WRITABLE)}, created_by)
VALUES ($1, {", ".join(f"${i}" for i in range(2, len(LINK_WRITABLE) + 3))})
ON CONFLICT ((coalesce(domain_id, 0)), alias) DO NOTHING
RETURNING id
"""

UPDATE_LINK: Final = f"""
UPDATE links
   SET {", ".join(f"{c} = ${i}" for i, c in enumerate(LINK_WRITABLE, start=3))},
       updated_at = now()
 WHERE id = $1 AND owner_id = $2 AND qr_id IS NULL AND bio_id IS NULL
"""

DELETE_LINK: Final = """
DELETE FROM links l
 WHERE l.id = $1 AND l.owner_id = $2 AND l.qr_id IS NULL AND l.bio_id IS NULL
RETURNING l.id, l.owner_id, l.alias, l.campaign_id,
          coalesce((SELECT d.host FROM domains d WHERE d.id = l.domain_id), '_') AS host
"""

# What the plan's ``links`` quota counts: every redirector, the links a dynamic
# QR code is backed by included (taken under the same per-owner lock).
COUNT_OWNER_LINKS: Final = "SELECT count(*) FROM links WHERE owner_id = $1 AND bio_id IS NULL"
# The same count for several owners at once: the usage the accounts service
# shows against the quota (services/links/usage.py). Change both together.
COUNT_LINKS_BY_OWNER: Final = """
SELECT owner_id, count(*) FROM links WHERE owner_id = any($1::bigint[]) AND bio_id IS NULL
 GROUP BY owner_id"""

SET_FETCHED_TITLE: Final = "UPDATE links SET title = $2 WHERE id = $1 AND title IS NULL"

# $2: an ILIKE pattern or NULL; $3: a tag or NULL; $4: ids in the order to list
# first (order=clicks), else '{}'.
_LIST_WHERE: Final = """
 WHERE l.owner_id = $1 AND l.qr_id IS NULL AND l.bio_id IS NULL
   AND ($2::text IS NULL OR l.long_url ILIKE $2 OR l.alias ILIKE $2
        OR l.title ILIKE $2 OR l.description ILIKE $2)
   AND ($3::text IS NULL OR (l.tags @> ARRAY[$3::text] AND l.tags <> '{}'))
"""
LIST_LINKS: Final = (
    """
SELECT l.id, l.alias, l.long_url, l.title, l.description, l.tags, l.created_at,
       d.host AS domain_host, d.scheme AS domain_scheme
  FROM links l
  LEFT JOIN domains d ON d.id = l.domain_id
"""
    + _LIST_WHERE
    + """
 ORDER BY array_position($4::bigint[], l.id) NULLS LAST, l.created_at DESC, l.id DESC
 LIMIT $5 OFFSET $6
"""
)
COUNT_LIST_LINKS: Final = "SELECT count(*) FROM links l" + _LIST_WHERE

# short=: one alias, optionally on one host ('_' = the default domain).
LIST_LINKS_BY_ALIAS: Final = """
SELECT l.id, l.alias, l.long_url, l.title, l.description, l.tags, l.created_at,
       d.host AS domain_host, d.scheme AS domain_scheme
  FROM links l
  LEFT JOIN domains d ON d.id = l.domain_id
 WHERE l.owner_id = $1 AND l.alias = $2 AND l.qr_id IS NULL AND l.bio_id IS NULL
   AND ($3::text IS NULL OR coalesce(d.host, '_') = $3)
 ORDER BY l.created_at DESC, l.id DESC
"""

# --- domains, as seen from links -----------------------------------------

OWNER_DOMAIN_BY_ID: Final = "SELECT id, host, scheme FROM domains WHERE id = $1 AND owner_id = $2"
OWNER_DOMAIN_BY_HOST: Final = (
    "SELECT id, host, scheme FROM domains WHERE host = $1 AND owner_id = $2"
)

# Removing a domain's links explicitly (not by the FK cascade) so that their
# snapshots can be removed and their deletion announced.
DELETE_DOMAIN_LINKS: Final = """
DELETE FROM links WHERE domain_id = $1 RETURNING id, owner_id, alias, campaign_id
"""
# A deleted domain's host stays known as such (the edge answers 404 there) until
# it is added again.
REMEMBER_DELETED_DOMAIN: Final = """
INSERT INTO deleted_domains (host) VALUES ($1)
ON CONFLICT (host) DO UPDATE SET deleted_at = now()
"""
FORGET_DELETED_DOMAIN: Final = "DELETE FROM deleted_domains WHERE host = $1"

# Ownership proof (domain_verification.py). $1: seconds between checks of one domain.
DOMAINS_TO_VERIFY: Final = """
SELECT id, host, verify_token FROM domains
 WHERE verified_at IS NULL
   AND (verify_checked_at IS NULL OR verify_checked_at < now() - make_interval(secs => $1))
 ORDER BY verify_checked_at NULLS FIRST, id
 LIMIT $2
"""
DOMAIN_CHECKED: Final = "UPDATE domains SET verify_checked_at = now() WHERE id = $1"
DOMAIN_VERIFIED: Final = """
UPDATE domains SET verified_at = now(), verify_checked_at = now()
 WHERE id = $1 AND verified_at IS NULL
RETURNING host
"""

# --- a deleted user ---------------------------------------------------------

DELETE_OWNER_LINKS: Final = """
DELETE FROM links l
 WHERE l.owner_id = $1
RETURNING l.id, l.owner_id, l.alias,
          coalesce((SELECT d.host FROM domains d WHERE d.id = l.domain_id), '_') AS host
"""


# --- pixels, splash pages, overlays, channels, campaigns ----------------------

# What a link refers to must be its owner's. FOR KEY SHARE keeps the referenced
# row from being deleted before the link's transaction commits.
OWNED_PIXELS: Final = (
    "SELECT id FROM pixels WHERE owner_id = $1 AND id = any($2::bigint[]) FOR KEY SHARE"
)
OWNED_SPLASH: Final = "SELECT id FROM splash_pages WHERE id = $1 AND owner_id = $2 FOR KEY SHARE"
OWNED_OVERLAY: Final = "SELECT id FROM overlays WHERE id = $1 AND owner_id = $2 FOR KEY SHARE"
OWNED_CHANNEL: Final = "SELECT id FROM channels WHERE id = $1 AND owner_id = $2 FOR KEY SHARE"
OWNED_CAMPAIGN: Final = "SELECT id FROM campaigns WHERE id = $1 AND owner_id = $2 FOR KEY SHARE"

_LINK_KEY: Final = (
    "l.alias, coalesce((SELECT d.host FROM domains d WHERE d.id = l.domain_id), '_') AS host"
)

# The links whose snapshots show a pixel / a custom page ($2: 'splash-<id>' or 'overlay-<id>').
LINKS_WITH_PIXEL: Final = f"""
SELECT {_LINK_KEY} FROM links l WHERE l.owner_id = $1 AND l.pixel_ids @> ARRAY[$2::bigint]
"""
LINKS_OF_TYPE: Final = f"SELECT {_LINK_KEY} FROM links l WHERE l.owner_id = $1 AND l.type = $2"
DROP_PIXEL_FROM_LINKS: Final = f"""
UPDATE links l SET pixel_ids = array_remove(l.pixel_ids, $2::bigint), updated_at = now()
 WHERE l.owner_id = $1 AND l.pixel_ids @> ARRAY[$2::bigint]
RETURNING {_LINK_KEY}
"""
# A deleted custom page: its links fall back to the standard page ($3: 'splash' or 'direct').
RESET_LINKS_OF_TYPE: Final = f"""
UPDATE links l SET type = $3, updated_at = now()
 WHERE l.owner_id = $1 AND l.type = $2
RETURNING {_LINK_KEY}
"""

# Snapshot keys ($1 text[]) locked until the transaction ends, in one global
# order (by hash) so that two publishers of overlapping keys cannot deadlock.
LOCK_SNAPSHOT_KEYS: Final = """
SELECT count(pg_advisory_xact_lock(k))
  FROM (SELECT hashtextextended('links.snapshot:' || s, 0) AS k
          FROM unnest($1::text[]) AS s
         ORDER BY 1) AS ordered
"""
CAMPAIGN_SLUGS: Final = (
    "SELECT slug FROM campaigns WHERE id = any($1::bigint[]) AND slug IS NOT NULL"
)
# $1 campaign, $2 link, $3 owner; returns the campaign the link was in before.
ASSIGN_LINK_TO_CAMPAIGN: Final = f"""
WITH old AS (
    SELECT id, campaign_id FROM links
     WHERE id = $2 AND owner_id = $3 AND qr_id IS NULL AND bio_id IS NULL
     FOR UPDATE
)
UPDATE links l SET campaign_id = $1, updated_at = now()
  FROM old
 WHERE l.id = old.id
RETURNING old.campaign_id AS previous, {_LINK_KEY}
"""
UNASSIGN_CAMPAIGN_LINKS: Final = f"""
UPDATE links l SET campaign_id = NULL, updated_at = now()
 WHERE l.campaign_id = $1 AND l.owner_id = $2
RETURNING {_LINK_KEY}
"""

ASSIGN_LINK_TO_CHANNEL: Final = """
UPDATE links SET channel_id = $1, updated_at = now()
 WHERE id = $2 AND owner_id = $3 AND qr_id IS NULL AND bio_id IS NULL
RETURNING id
"""
ASSIGN_QR_TO_CHANNEL: Final = (
    "UPDATE qr_codes SET channel_id = $1 WHERE id = $2 AND owner_id = $3 RETURNING id"
)
UNASSIGN_CHANNEL_LINKS: Final = (
    "UPDATE links SET channel_id = NULL WHERE channel_id = $1 AND owner_id = $2"
)
ASSIGN_BIO_TO_CHANNEL: Final = (
    "UPDATE bio_pages SET channel_id = $1 WHERE id = $2 AND owner_id = $3 RETURNING id"
)
UNASSIGN_CHANNEL_BIOS: Final = (
    "UPDATE bio_pages SET channel_id = NULL WHERE channel_id = $1 AND owner_id = $2"
)
UNASSIGN_CHANNEL_QRS: Final = (
    "UPDATE qr_codes SET channel_id = NULL WHERE channel_id = $1 AND owner_id = $2"
)
# A channel's items, newest first: its links, QR codes and bio pages.
_CHANNEL_ITEMS: Final = """
SELECT 'links' AS kind, l.id, l.title, l.long_url, l.alias, d.host, d.scheme, l.created_at
  FROM links l
  LEFT JOIN domains d ON d.id = l.domain_id
 WHERE l.channel_id = $1 AND l.owner_id = $2 AND l.qr_id IS NULL AND l.bio_id IS NULL
UNION ALL
SELECT 'qr', q.id, q.name, NULL, q.alias, NULL, NULL, q.created_at
  FROM qr_codes q
 WHERE q.channel_id = $1 AND q.owner_id = $2
UNION ALL
SELECT 'bio', b.id, b.name, NULL, b.alias, d.host, d.scheme, b.created_at
  FROM bio_pages b
  LEFT JOIN domains d ON d.id = b.domain_id
 WHERE b.channel_id = $1 AND b.owner_id = $2
"""
CHANNEL_ITEMS: Final = (
    "SELECT * FROM (" + _CHANNEL_ITEMS + ") AS items "
    "ORDER BY created_at DESC, kind, id DESC LIMIT $3 OFFSET $4"
)
COUNT_CHANNEL_ITEMS: Final = "SELECT count(*) FROM (" + _CHANNEL_ITEMS + ") AS items"

# --- the shared CRUD shape (crud.py) -----------------------------------------

_IDENT: Final = re.compile(r"[a-z_][a-z0-9_]*")
_ORDER: Final = re.compile(r"[a-z_]+( (ASC|DESC))?(, [a-z_]+( (ASC|DESC))?)*")


@dataclass(frozen=True, slots=True)
class CrudSql:
    """The statements of one owner-scoped table. ``$1`` is the id where one is
    needed and the owner otherwise; ``insert``/``update`` take the writable
    columns in declaration order after them."""

    list: str
    count: str
    get: str
    lock: str
    insert: str
    update: str
    delete: str
    owned: str
    purge: str


def crud_sql(
    table: str,
    columns: tuple[str, ...],
    read_columns: tuple[str, ...],
    order_by: str,
    *,
    unlisted: tuple[str, ...] = (),
) -> CrudSql:
    """Statements built from identifiers a resource declares in code (checked here);
    the list leaves out the ``unlisted`` columns."""
    bad = [n for n in (table, *columns, *read_columns, *unlisted) if not _IDENT.fullmatch(n)]
    if bad or not _ORDER.fullmatch(order_by):
        raise ValueError(f"{table}: not plain identifiers: {bad or order_by}")
    names = tuple(dict.fromkeys(("id", "owner_id", *columns, *read_columns)))
    selected = ", ".join(names)
    listed = ", ".join(n for n in names if n not in unlisted)
    values = ", ".join(f"${i}" for i in range(2, len(columns) + 2))
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=3))
    mine = f"FROM {table} WHERE id = $1 AND owner_id = $2"
    return CrudSql(
        list=f"SELECT {listed} FROM {table} WHERE owner_id = $1 "
        f"ORDER BY {order_by} LIMIT $2 OFFSET $3",
        count=f"SELECT count(*) FROM {table} WHERE owner_id = $1",
        get=f"SELECT {selected} {mine}",
        lock=f"SELECT {selected} {mine} FOR UPDATE",
        insert=f"INSERT INTO {table} (owner_id, {', '.join(columns)}) VALUES ($1, {values}) "
        f"RETURNING {selected}",
        update=f"UPDATE {table} SET {sets} WHERE id = $1 AND owner_id = $2 RETURNING {selected}",
        delete=f"DELETE {mine}",
        owned=f"SELECT {selected} FROM {table} WHERE owner_id = $1 ORDER BY id FOR UPDATE",
        purge=f"DELETE FROM {table} WHERE owner_id = $1",
    )


# --- QR codes (qr/codes.py; the CRUD statements come from crud_sql) ----------

# A new code's alias must be free both as a short link (a dynamic code's
# tracking URL) and as /qr/<alias>.
QR_ALIAS_TAKEN: Final = """
SELECT EXISTS (SELECT 1 FROM links WHERE domain_id IS NULL AND alias = $1)
    OR EXISTS (SELECT 1 FROM qr_codes WHERE alias = $1)
"""
SET_LINK_QR: Final = "UPDATE links SET qr_id = $2 WHERE id = $1"
SET_QR_LINK: Final = "UPDATE qr_codes SET link_id = $2 WHERE id = $1"
# A dynamic code's new destination; no row when it did not change.
SET_QR_DESTINATION: Final = """
UPDATE links SET long_url = $3, updated_at = now()
 WHERE id = $1 AND qr_id = $2 AND long_url IS DISTINCT FROM $3
RETURNING id
"""
DELETE_QR_LINK: Final = """
DELETE FROM links WHERE id = $1 AND qr_id = $2 RETURNING id, owner_id, alias
"""

# What the edge reads to serve /qr/<alias> (the logo only when it must render).
QR_IMAGE_BY_ALIAS: Final = """
SELECT id, owner_id, alias, type, data, background, foreground, logo_sha256
  FROM qr_codes WHERE alias = $1
"""
QR_LOGO_BY_ID: Final = "SELECT logo FROM qr_codes WHERE id = $1"

# --- links at volume: bulk create, tags, export, account stats ---------------

# A whole batch in one statement: the rows travel as one JSON array of objects
# named like the columns (a column left out takes its default). A row whose
# alias is taken on its domain, or whose import source this owner has already
# imported, is skipped by ON CONFLICT (no error, no aborted transaction): the
# caller tells them apart by what came back.
INSERT_LINK_BATCH: Final = f"""
INSERT INTO links (owner_id, {", ".join(LINK_WRITABLE)}, import_source, created_at, created_by)
SELECT $1, {", ".join(f"r.{c}" for c in LINK_WRITABLE)}, r.import_source,
       coalesce(r.created_at, now()), $3::bigint
  FROM jsonb_populate_recordset(NULL::links, $2::jsonb) AS r
ON CONFLICT DO NOTHING
RETURNING id, alias, coalesce(domain_id, 0) AS domain_key, import_source
"""
# The links an owner already imported from these sources.
IMPORTED_LINKS: Final = """
SELECT l.id, l.alias, l.import_source, d.host AS domain_host, d.scheme AS domain_scheme
  FROM links l
  LEFT JOIN domains d ON d.id = l.domain_id
 WHERE l.owner_id = $1 AND l.import_source = any($2::text[])
"""

# An owner's tags with how many of their links carry each.
COUNT_OWNER_TAGS: Final = """
SELECT count(DISTINCT t) FROM links l, unnest(l.tags) AS t
 WHERE l.owner_id = $1 AND l.qr_id IS NULL AND l.bio_id IS NULL AND l.tags <> '{}'
"""
OWNER_TAGS: Final = """
SELECT t AS name, count(*) AS links FROM links l, unnest(l.tags) AS t
 WHERE l.owner_id = $1 AND l.qr_id IS NULL AND l.bio_id IS NULL AND l.tags <> '{}'
 GROUP BY t ORDER BY count(*) DESC, t
 LIMIT $2 OFFSET $3
"""

# Every link of an owner, for a server-side cursor (export.py), oldest first.
EXPORT_LINKS: Final = (
    _LINK_SELECT
    + """
 WHERE l.owner_id = $1 AND l.qr_id IS NULL AND l.bio_id IS NULL
 ORDER BY l.id
"""
)

# Account stats: the owner's link ids, optionally only those with a tag, on a
# domain ('_' = the default one) or in a campaign; and the same ids grouped.
OWNER_LINK_IDS: Final = """
SELECT l.id FROM links l
  LEFT JOIN domains d ON d.id = l.domain_id
 WHERE l.owner_id = $1 AND l.qr_id IS NULL AND l.bio_id IS NULL
   AND ($2::text IS NULL OR (l.tags @> ARRAY[$2::text] AND l.tags <> '{}'))
   AND ($3::text IS NULL OR coalesce(d.host, '_') = $3)
   AND ($4::bigint IS NULL OR l.campaign_id = $4)
"""
LINK_IDS_BY_TAG: Final = """
SELECT t AS key, array_agg(l.id) AS ids FROM links l, unnest(l.tags) AS t
 WHERE l.owner_id = $1 AND l.qr_id IS NULL AND l.bio_id IS NULL AND l.tags <> '{}'
 GROUP BY t
"""
LINK_IDS_BY_DOMAIN: Final = """
SELECT coalesce(d.host, '_') AS key, array_agg(l.id) AS ids FROM links l
  LEFT JOIN domains d ON d.id = l.domain_id
 WHERE l.owner_id = $1 AND l.qr_id IS NULL AND l.bio_id IS NULL
 GROUP BY 1
"""
LINK_IDS_BY_CAMPAIGN: Final = """
SELECT c.id::text AS key, c.name, array_agg(l.id) AS ids FROM links l
  JOIN campaigns c ON c.id = l.campaign_id
 WHERE l.owner_id = $1 AND l.qr_id IS NULL AND l.bio_id IS NULL
 GROUP BY c.id, c.name
"""

# --- bio pages (bio.py; the CRUD statements come from crud_sql) ---------------

SET_LINK_BIO: Final = "UPDATE links SET bio_id = $2 WHERE id = $1"
SET_BIO_LINK: Final = "UPDATE bio_pages SET link_id = $2 WHERE id = $1"
# The backing link follows the page's alias, domain and name; the old key is returned
# so its snapshot can be removed when the alias or the domain moved.
MOVE_BIO_LINK: Final = """
UPDATE links l
   SET alias = $3, domain_id = $4, title = $5, long_url = $6, updated_at = now()
  FROM (SELECT id, alias, coalesce((SELECT host FROM domains d WHERE d.id = links.domain_id), '_')
                AS host
          FROM links WHERE id = $1 AND bio_id = $2 FOR UPDATE) AS old
 WHERE l.id = old.id
RETURNING old.alias AS old_alias, old.host AS old_host,
          coalesce((SELECT host FROM domains d WHERE d.id = l.domain_id), '_') AS host, l.alias
"""
DELETE_BIO_LINK: Final = """
DELETE FROM links l WHERE l.id = $1 AND l.bio_id = $2
RETURNING l.id, l.owner_id, l.alias,
          coalesce((SELECT d.host FROM domains d WHERE d.id = l.domain_id), '_') AS host
"""
BIO_DOMAIN: Final = "SELECT host, scheme FROM domains WHERE id = $1"
