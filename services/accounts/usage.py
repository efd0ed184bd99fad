"""What users have used of their plan's limits: links (counted by the links
service as its quota counts them) and tracked clicks this month (the analytics
service), asked over internal HTTP for many users at once.

A service that does not answer within ``USAGE_TIMEOUT`` leaves its figures
unknown (``null``), never a false 0: the account answer must not say there is
room under a quota when nobody knows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
import orjson
from aiohttp import web

from services.accounts.keys import ANALYTICS_HTTP, LINKS_HTTP
from services.accounts.plan_limits import canonical
from services.accounts.rows import Row
from shared import identity
from shared.appkeys import SETTINGS
from shared.identity import SERVICE

log = logging.getLogger("services.accounts.usage")

USAGE_PATH: Final = "/internal/usage"
USAGE_TIMEOUT: Final = 1.0


@dataclass(frozen=True, slots=True)
class Usage:
    """One user's figures; ``None``: the service that knows did not say."""

    links: int | None = None
    clicks: int | None = None
    clicks_over_quota: int | None = None


UNKNOWN: Final = Usage()


async def _ask(
    session: aiohttp.ClientSession, base_url: str, secret: str, user_ids: Sequence[int]
) -> Mapping[str, Any]:
    """``{"<user id>": {...figures}}`` from one service, or ``{}`` if it cannot say."""
    body = orjson.dumps({"owners": list(user_ids)})
    headers = identity.signed_headers(SERVICE, secret, "POST", USAGE_PATH, body)  # as sent
    try:
        async with session.post(
            base_url + USAGE_PATH,
            data=body,
            headers={**headers, "Content-Type": "application/json"},
            timeout=aiohttp.ClientTimeout(total=USAGE_TIMEOUT),
        ) as resp:
            if resp.status != 200:
                log.info("usage from %s unavailable: HTTP %s", base_url, resp.status)
                return {}
            data = orjson.loads(await resp.read())
    except (aiohttp.ClientError, TimeoutError, OSError, orjson.JSONDecodeError) as exc:
        log.info("usage from %s unavailable: %s", base_url, type(exc).__name__)
        return {}
    found = data.get("usage") if isinstance(data, dict) else None
    return found if isinstance(found, dict) else {}


def _count(entry: Any, key: str) -> int | None:
    value = entry.get(key) if isinstance(entry, Mapping) else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


async def usage_of(app: web.Application, user_ids: Sequence[int]) -> dict[int, Usage]:
    """Each user's :class:`Usage`, both services asked at once."""
    if not user_ids:
        return {}
    settings = app[SETTINGS]
    links, clicks = await asyncio.gather(
        _ask(app[LINKS_HTTP], settings.links_url, settings.internal_secret, user_ids),
        _ask(app[ANALYTICS_HTTP], settings.analytics_url, settings.internal_secret, user_ids),
    )
    return {
        uid: Usage(
            links=_count(links.get(str(uid)), "links"),
            clicks=_count(clicks.get(str(uid)), "clicks_this_month"),
            clicks_over_quota=_count(clicks.get(str(uid)), "clicks_over_quota_this_month"),
        )
        for uid in user_ids
    }


def _against(used: int | None, limit: int) -> dict[str, Any]:
    """``used`` of ``limit`` (0: unlimited); ``reached`` is ``null`` when nobody knows."""
    reached = False if limit <= 0 else None if used is None else used >= limit
    return {"used": used, "limit": limit, "reached": reached}


def usage_json(row: Row, usage: Usage) -> dict[str, Any]:
    """The ``usage`` of the account answer and of an admin's user views. Admins are
    never limited, whatever their plan: their limits show as 0 (unlimited)."""
    limits = canonical(row["limits"])
    exempt = row["role"] == "admin"
    return {
        "links": _against(usage.links, 0 if exempt else limits["links"]),
        "clicks": {
            **_against(usage.clicks, 0 if exempt else limits["clicks"]),
            "overQuota": usage.clicks_over_quota,
        },
    }
