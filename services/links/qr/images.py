"""A stored code's image as the edge serves it at ``/qr/<alias>``.

- :func:`load_code` reads what decides the image (never the logo itself: it
  is named by digest and read only when a render needs it) and works out the
  payload: a dynamic ``link`` code carries its tracking URL
  ``<PUBLIC_BASE_URL>/<alias>``, a static one its own payload.
- :meth:`StoredCode.spec` gives the :class:`~services.links.qr.cache.ImageSpec`
  of a size and format; its digest is the cache key and the ``ETag``.
- The code is read on every request (one indexed row, no logo), so an update
  shows on the next request; the rendered image is what gets cached.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import asyncpg

from services.links import queries
from services.links.qr.cache import ImageSpec, LogoLoader
from services.links.qr.colors import RGB, parse_color
from services.links.qr.payloads import build_payload
from services.links.qr.render import DEFAULT_SIZE, ImageFormat, check_format, check_size
from shared.envelope import BadRequest
from shared.settings import Settings

log = logging.getLogger("services.links.qr.images")

DYNAMIC_TYPE: Final = "link"


def image_url(settings: Settings, alias: str) -> str:
    """Where a code's image is served (the API's ``link``)."""
    return f"{settings.public_base_url}/qr/{alias}"


def tracking_url(settings: Settings, alias: str) -> str:
    """What a dynamic code's image carries: its backing short link."""
    return f"{settings.public_base_url}/{alias}"


def image_payload(settings: Settings, qr_type: str, data: Any, alias: str) -> str:
    """The exact text a code's image carries."""
    if qr_type == DYNAMIC_TYPE:
        return tracking_url(settings, alias)
    return build_payload(qr_type, data)


def image_options(query: Mapping[str, str]) -> tuple[int, ImageFormat]:
    """``?size=`` (100-2000, default 300) and ``?format=`` (png or svg); 400 otherwise."""
    raw_size = query.get("size")
    size = DEFAULT_SIZE if raw_size in (None, "") else check_size(raw_size)
    return size, check_format(query.get("format"))


@dataclass(frozen=True, slots=True)
class StoredCode:
    id: int
    owner_id: int
    alias: str
    type: str
    payload: str
    foreground: RGB
    background: RGB
    logo_sha256: str | None

    def spec(self, *, size: int = DEFAULT_SIZE, format: ImageFormat = "png") -> ImageSpec:
        return ImageSpec(
            payload=self.payload,
            size=size,
            foreground=self.foreground,
            background=self.background,
            format=format,
            logo_sha256=self.logo_sha256,
        )


def stored_code(row: asyncpg.Record | Mapping[str, Any], settings: Settings) -> StoredCode:
    return StoredCode(
        id=row["id"],
        owner_id=row["owner_id"],
        alias=row["alias"],
        type=row["type"],
        payload=image_payload(settings, row["type"], row["data"], row["alias"]),
        foreground=parse_color(row["foreground"], "foreground"),
        background=parse_color(row["background"], "background"),
        logo_sha256=row["logo_sha256"],
    )


async def load_code(
    conn: asyncpg.Pool | asyncpg.Connection, settings: Settings, alias: str
) -> StoredCode | None:
    """The code with this alias, or ``None``."""
    row = await conn.fetchrow(queries.QR_IMAGE_BY_ALIAS, alias)
    if row is None:
        return None
    try:
        return stored_code(row, settings)
    except BadRequest as exc:  # stored before a rule it breaks: nothing to draw
        log.warning("QR code %s cannot be drawn: %s", row["id"], exc.message)
        return None


def logo_loader(conn: asyncpg.Pool | asyncpg.Connection, code: StoredCode) -> LogoLoader:
    """Reads the code's logo, for :func:`~services.links.qr.cache.get_or_render` on a miss."""

    async def load() -> bytes | None:
        logo: bytes | None = await conn.fetchval(queries.QR_LOGO_BY_ID, code.id)
        return logo

    return load
