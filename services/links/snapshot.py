"""Link and domain snapshots: what the edge needs to answer a visitor, in one
JSON document per alias, kept in Redis.

The links service writes a snapshot whenever a link (or domain) changes and
publishes the key on the invalidation channel; every edge replica drops it
from its in-process LRU on that message. On a Redis miss the edge builds the
snapshot from Postgres with the same :func:`load_link_snapshot` and stores it.

Redis layout (all under ``REDIS_PREFIX``):

- ``link:<host>:<alias>``  → link snapshot JSON (``<host>`` is ``_`` for the default domain)
- ``domain:<host>``        → domain snapshot JSON (``live``: false while unverified or deleted)
- ``campaign:<slug>``      → campaign snapshot JSON (the ``/r/<slug>`` rotator's links)
- channel ``invalidate``   → messages are the key suffix that changed (``link:_:abc``)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import asyncpg
import orjson
import redis.asyncio as aioredis

from services.links.rows import Conn
from shared.settings import Settings

DEFAULT_HOST: Final = "_"
SNAPSHOT_VERSION: Final = 1
# Snapshots live long in Redis (a miss costs a Postgres read, never correctness):
# every change rewrites or deletes them explicitly.
SNAPSHOT_TTL_SECONDS: Final = 7 * 24 * 3600


def link_key_suffix(host: str, alias: str) -> str:
    return f"link:{host}:{alias}"


def domain_key_suffix(host: str) -> str:
    return f"domain:{host}"


def redis_key(settings: Settings, suffix: str) -> str:
    return settings.redis_prefix + suffix


def invalidate_channel(settings: Settings) -> str:
    return settings.redis_prefix + "invalidate"


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _json(value: Any) -> Any:
    """A json(b) value, decoded if the connection has no JSON codec."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


# What a link's pixel ids and ``splash-<id>`` / ``overlay-<id>`` type resolve to,
# so that the edge needs no second read. Only the owner's own objects count (every
# write checks that; this is the net). A CASE guards the casts from other types.
_LINK_RESOLVED_SQL: Final = """
       (SELECT coalesce(jsonb_agg(jsonb_build_object('type', p.type, 'tag', p.tag)
                                  ORDER BY array_position(l.pixel_ids, p.id)), '[]'::jsonb)
          FROM pixels p
         WHERE p.id = any(l.pixel_ids) AND p.owner_id = l.owner_id) AS pixel_tags,
       (SELECT jsonb_build_object('title', s.title, 'message', s.message, 'image', s.image,
                                  'button_text', s.button_text, 'button_url', s.button_url,
                                  'delay', s.delay)
          FROM splash_pages s
         WHERE s.owner_id = l.owner_id
           AND s.id = CASE WHEN l.type LIKE 'splash-%' THEN substr(l.type, 8)::bigint END
       ) AS splash_page,
       (SELECT jsonb_build_object('type', o.type, 'name', o.name, 'text', o.text,
                                  'button_text', o.button_text, 'button_url', o.button_url,
                                  'position', o.position, 'colors', o.colors, 'group', o.group_id)
          FROM overlays o
         WHERE o.owner_id = l.owner_id
           AND o.id = CASE WHEN l.type LIKE 'overlay-%' THEN substr(l.type, 9)::bigint END
       ) AS overlay_page,
       (SELECT jsonb_build_object('id', b.id, 'name', b.name, 'description', b.description,
                                  'avatar', translate(encode(b.avatar, 'base64'), E'\n', ''),
                                  'theme', b.theme, 'seo', b.seo, 'blocks', b.blocks)
          FROM bio_pages b
         WHERE b.id = l.bio_id AND b.owner_id = l.owner_id
       ) AS bio_page"""

LINK_SNAPSHOT_SQL: Final = f"""
SELECT l.id, l.owner_id, l.alias, l.long_url, l.type, l.status, l.password_hash,
       l.expires_at, l.click_limit, l.expiration_redirect,
       l.meta_title, l.meta_description, l.meta_image,
       l.deeplink, l.geotarget, l.devicetarget, l.languagetarget, l.parameters,
       l.pixel_ids, l.campaign_id, l.qr_id, l.updated_at,{_LINK_RESOLVED_SQL}
  FROM links l
 WHERE l.alias = $2
   -- Written against the (coalesce(domain_id, 0), alias) index so a lookup is
   -- one index probe, not a scan of every alias.
   AND coalesce(l.domain_id, 0) = CASE WHEN $1::text = '_' THEN 0
             ELSE coalesce((SELECT id FROM domains WHERE host = $1::text), -1) END
"""

# A domain is served ("live") once verified; a deleted domain's host keeps a
# snapshot that is not live, so the edge answers 404 there instead of the
# default domain's links.
DOMAIN_SNAPSHOT_SQL: Final = """
SELECT id, owner_id, host, redirect_root, redirect_404, verified_at IS NOT NULL AS live
  FROM domains WHERE host = $1
UNION ALL
SELECT 0, 0, g.host, NULL, NULL, false
  FROM deleted_domains g
 WHERE g.host = $1 AND NOT EXISTS (SELECT 1 FROM domains WHERE host = $1)
"""


def link_snapshot(row: asyncpg.Record | Mapping[str, Any], host: str) -> dict[str, Any]:
    """The snapshot document of one ``links`` row (as selected by ``LINK_SNAPSHOT_SQL``)."""
    meta = None
    if row["meta_title"] or row["meta_description"] or row["meta_image"]:
        meta = {
            "title": row["meta_title"],
            "description": row["meta_description"],
            "image": row["meta_image"],
        }
    return {
        "v": SNAPSHOT_VERSION,
        "id": row["id"],
        "owner": row["owner_id"],
        "host": host,
        "alias": row["alias"],
        "url": row["long_url"],
        "type": row["type"],
        "private": row["status"] == "private",
        "password": row["password_hash"],
        "expires": _epoch(row["expires_at"]),
        "clicklimit": row["click_limit"],
        "expiredirect": row["expiration_redirect"],
        "meta": meta,
        "deeplink": row["deeplink"],
        "geo": row["geotarget"],
        "device": row["devicetarget"],
        "language": row["languagetarget"],
        "parameters": row["parameters"],
        # [{"type", "tag"}] of its pixels in its order (ids that resolve to none left out).
        "pixels": _json(row.get("pixel_tags")) or [],
        "splash": _json(row.get("splash_page")),  # type splash-<id>: its content
        "overlay": _json(row.get("overlay_page")),  # type overlay-<id>: its content
        "bio": _json(row.get("bio_page")),  # type bio: the page's content (bio.py)
        "campaign": row["campaign_id"],
        "qr": row["qr_id"],  # the dynamic QR code this link backs: its visits are scans
        "updated": _epoch(row["updated_at"]),
    }


def domain_snapshot(row: asyncpg.Record | Mapping[str, Any]) -> dict[str, Any]:
    return {
        "v": SNAPSHOT_VERSION,
        "id": row["id"],
        "owner": row["owner_id"],
        "host": row["host"],
        "root": row["redirect_root"],
        "notfound": row["redirect_404"],
        # False: not served (unverified, or deleted) - every path there is a 404.
        "live": row["live"],
    }


async def load_link_snapshot(
    conn: asyncpg.Connection | asyncpg.Pool, host: str, alias: str
) -> dict[str, Any] | None:
    row = await conn.fetchrow(LINK_SNAPSHOT_SQL, host, alias)
    return link_snapshot(row, host) if row is not None else None


async def load_domain_snapshot(
    conn: asyncpg.Connection | asyncpg.Pool, host: str
) -> dict[str, Any] | None:
    row = await conn.fetchrow(DOMAIN_SNAPSHOT_SQL, host)
    return domain_snapshot(row) if row is not None else None


# --- campaigns -------------------------------------------------------------------


def campaign_key_suffix(slug: str) -> str:
    return f"campaign:{slug}"


# A campaign's links in a stable order (by id), so that every edge replica
# rotates through the same sequence.
CAMPAIGN_SNAPSHOT_SQL: Final = """
SELECT c.id, c.owner_id, c.public, c.slug,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', l.id, 'host', coalesce(d.host, '_'),
                                                     'alias', l.alias) ORDER BY l.id)
                   FROM links l
                   LEFT JOIN domains d ON d.id = l.domain_id
                  WHERE l.campaign_id = c.id AND l.owner_id = c.owner_id), '[]'::jsonb) AS links
  FROM campaigns c
 WHERE lower(c.slug) = lower($1) AND c.slug = $1
"""

# The public list page /u/<username>/<slug>-<id>: what it shows of each link
# (private links are not listed).
CAMPAIGN_PAGE_SQL: Final = """
SELECT c.id, c.owner_id, c.owner_username, c.name, c.slug, c.public,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', l.id, 'alias', l.alias,
                                                     'host', d.host, 'scheme', d.scheme,
                                                     'title', l.title) ORDER BY l.id)
                   FROM links l
                   LEFT JOIN domains d ON d.id = l.domain_id
                  WHERE l.campaign_id = c.id AND l.owner_id = c.owner_id
                    AND l.status = 'public'), '[]'::jsonb) AS links
  FROM campaigns c
 WHERE c.id = $1
"""


def campaign_snapshot(row: asyncpg.Record | Mapping[str, Any]) -> dict[str, Any]:
    """``{"v", "id", "owner", "public", "links": [{"id", "host", "alias"}, ...]}``."""
    return {
        "v": SNAPSHOT_VERSION,
        "id": row["id"],
        "owner": row["owner_id"],
        "public": row["public"],
        "links": _json(row["links"]) or [],
    }


async def load_campaign_snapshot(conn: Conn | asyncpg.Pool, slug: str) -> dict[str, Any] | None:
    """The rotator snapshot of the campaign with this slug (exact case), if any."""
    row = await conn.fetchrow(CAMPAIGN_SNAPSHOT_SQL, slug)
    return campaign_snapshot(row) if row is not None else None


async def load_campaign_page(conn: Conn | asyncpg.Pool, campaign_id: int) -> dict[str, Any] | None:
    """``{"id", "owner", "username", "name", "public", "links": [{"id", "alias",
    "host" (None: the default domain), "scheme", "title"}]}`` for the public list page."""
    row = await conn.fetchrow(CAMPAIGN_PAGE_SQL, campaign_id)
    if row is None:
        return None
    return {
        "id": row["id"],
        "owner": row["owner_id"],
        "username": row["owner_username"],
        "name": row["name"],
        "slug": row["slug"],
        "public": row["public"],
        "links": _json(row["links"]) or [],
    }


async def publish_snapshots(
    redis: aioredis.Redis,
    settings: Settings,
    changes: Sequence[tuple[str, Mapping[str, Any] | None]],
) -> None:
    """Write (or delete, for ``None``) snapshots and tell every edge, in one round trip.

    ``changes`` holds ``(key_suffix, snapshot_or_None)`` pairs. Call it after
    the database transaction has committed, so an edge that reloads on the
    invalidation message sees the new row."""
    if not changes:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for suffix, snapshot in changes:
            key = redis_key(settings, suffix)
            if snapshot is None:
                pipe.delete(key)
            else:
                pipe.set(key, orjson.dumps(snapshot), ex=SNAPSHOT_TTL_SECONDS)
        for suffix, _ in changes:
            pipe.publish(invalidate_channel(settings), suffix)
        await pipe.execute()
