"""What a link refers to besides its domain — pixels, a channel, a campaign, a
custom splash page or overlay — must exist and be the link's owner's: each is a
404 otherwise, exactly like a missing one, and nothing is stored.

Call :func:`check_references` inside the link's transaction: the referenced
rows are locked (``FOR KEY SHARE``) until it commits, so none can be deleted
in between."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from services.links import queries
from services.links.rows import Conn
from shared.envelope import NotFound

_CUSTOM_PAGE: Final = re.compile(r"(splash|overlay)-([0-9]+)")
_PAGES: Final = {
    "splash": (queries.OWNED_SPLASH, "Splash page", "/api/splash/add"),
    "overlay": (queries.OWNED_OVERLAY, "CTA overlay", "/api/overlay/add"),
}


def _missing(what: str, object_id: int, endpoint: str) -> NotFound:
    return NotFound(f"{what} {object_id} not found. Add it first with {endpoint}.")


async def check_references(conn: Conn, owner_id: int, columns: Mapping[str, Any]) -> None:
    """404 for the first referenced object (among the ``columns`` being written)
    that is not the owner's."""
    pixel_ids: list[int] = columns.get("pixel_ids") or []
    if pixel_ids:
        rows = await conn.fetch(queries.OWNED_PIXELS, owner_id, pixel_ids)
        found = {row["id"] for row in rows}
        for pixel_id in pixel_ids:
            if pixel_id not in found:
                raise _missing("Pixel", pixel_id, "/api/pixel/add")
    match = _CUSTOM_PAGE.fullmatch(columns.get("type") or "")
    if match is not None:
        sql, what, endpoint = _PAGES[match.group(1)]
        page_id = int(match.group(2))
        if await conn.fetchval(sql, page_id, owner_id) is None:
            raise _missing(what, page_id, endpoint)
    for column, sql, what, endpoint in (
        ("channel_id", queries.OWNED_CHANNEL, "Channel", "/api/channel/add"),
        ("campaign_id", queries.OWNED_CAMPAIGN, "Campaign", "/api/campaign/add"),
    ):
        object_id = columns.get(column)
        if object_id is not None and await conn.fetchval(sql, object_id, owner_id) is None:
            raise _missing(what, object_id, endpoint)
