"""Getting a QR logo from where the API's ``logo`` field points.

- An ``http``/``https`` URL is fetched through :mod:`shared.safe_fetch`: every
  hop's addresses must be public (unless ``ALLOW_PRIVATE_FETCH``), the body
  is streamed and abandoned past 2 MB, the whole fetch has a deadline.
- Anything else is a path, read only from inside ``QR_LOGO_DIR`` (after
  resolving ``..`` and symlinks); without that setting, paths are refused.
- Either way the bytes must decode as a PNG or JPEG (see
  :func:`services.links.qr.render.validate_logo`); any failure is a 400.

Fetch a logo when a code is added or updated and keep the bytes (ideally
:func:`~services.links.qr.render.normalize_logo`'s) with the code: images
are then rendered without touching the network.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, Final

from services.links.qr.render import MAX_LOGO_BYTES, validate_logo_async
from shared.envelope import BadRequest
from shared.safe_fetch import FetchError, SafeFetcher, TooLarge
from shared.settings import Settings

FIELD: Final = "logo"
MAX_SOURCE_LENGTH: Final = 2000
LOGO_FETCH_TIMEOUT: Final = 5.0  # seconds for the whole fetch, redirects included
_SCHEME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_ACCEPT: Final = "image/png,image/jpeg;q=0.9,*/*;q=0.1"


async def fetch_logo(
    source: Any,
    settings: Settings,
    *,
    fetcher: SafeFetcher | None = None,
) -> bytes:
    """The bytes of the PNG or JPEG logo at ``source`` (a URL or a path), or a 400.

    ``fetcher``: an open :class:`SafeFetcher` to reuse; by default one is
    opened for this call, honouring ``settings.allow_private_fetch``."""
    if not isinstance(source, str) or not source.strip():
        raise BadRequest(f"The field '{FIELD}' must be the URL or path of a png or jpg image.")
    source = source.strip()
    if len(source) > MAX_SOURCE_LENGTH:
        raise BadRequest(f"The field '{FIELD}' must be at most {MAX_SOURCE_LENGTH} characters.")
    scheme = _SCHEME_RE.match(source)
    if scheme is None:
        data = await _read_path(source, settings)
    elif scheme.group(0).lower() in ("http:", "https:"):
        data = await _fetch_url(source, settings, fetcher)
    else:
        raise BadRequest(f"The field '{FIELD}' must be an http or https URL, or a path.")
    await validate_logo_async(data)
    return data


async def _fetch_url(url: str, settings: Settings, fetcher: SafeFetcher | None) -> bytes:
    try:
        if fetcher is not None:
            result = await fetcher.fetch(url, max_bytes=MAX_LOGO_BYTES, accept=_ACCEPT)
        else:
            async with SafeFetcher(
                allow_private=settings.allow_private_fetch, timeout=LOGO_FETCH_TIMEOUT
            ) as own:
                result = await own.fetch(url, max_bytes=MAX_LOGO_BYTES, accept=_ACCEPT)
    except TooLarge as exc:
        raise BadRequest("The logo must be at most 2 MB.") from exc
    except FetchError as exc:
        raise BadRequest(f"The logo could not be fetched: {exc}") from exc
    return result.body


async def _read_path(raw: str, settings: Settings) -> bytes:
    if not settings.qr_logo_dir:
        raise BadRequest(
            f"The field '{FIELD}' must be an http or https URL: "
            "logos from paths are not enabled on this server."
        )
    return await asyncio.to_thread(_read_inside, Path(settings.qr_logo_dir), raw)


def _read_inside(directory: Path, raw: str) -> bytes:
    # Messages never show the resolved path: it would describe the server.
    try:
        root = directory.resolve(strict=True)
        target = (root / raw).resolve()  # an absolute ``raw`` replaces ``root`` here
    except (OSError, ValueError, RuntimeError) as exc:
        raise BadRequest(f"The field '{FIELD}' is not a readable logo path.") from exc
    if not target.is_relative_to(root) or target == root:
        raise BadRequest(f"The field '{FIELD}' must be a path inside the logo directory.")
    if not target.exists():
        raise BadRequest(f"The field '{FIELD}' names a file that does not exist.")
    if not target.is_file():  # checked before opening: a FIFO would block the read
        raise BadRequest(f"The field '{FIELD}' does not name a file.")
    try:
        with target.open("rb") as file:
            data = file.read(MAX_LOGO_BYTES + 1)
    except OSError as exc:
        raise BadRequest(f"The field '{FIELD}' is not a readable logo path.") from exc
    if len(data) > MAX_LOGO_BYTES:
        raise BadRequest("The logo must be at most 2 MB.")
    return data
