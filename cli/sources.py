"""Reading other shorteners' exports into :class:`SourceLink` records, one at a
time (files are streamed, APIs paged), so an import of any size stays flat in
memory.

Formats (each documented by its tool; the fixtures under tests/fixtures/import
follow them):

- ``csv``: a header row with ``url`` (required), ``alias``, ``title``, ``tags``
  (separated by ``,`` ``|`` or ``;``), ``created``. Our own ``GET /api/urls/export``
  starts with these columns.
- ``bitly``: Bitly's CSV export of links: ``long_url``, ``link`` (the bitlink,
  e.g. ``https://bit.ly/3xYz``), ``title``, ``created_at``, ``tags``; a custom
  back-half is the bitlink's path.
- ``shlink``: Shlink's CSV (``Long URL``, ``Short code``, optional ``Domain``,
  ``Title``, ``Tags`` separated by ``|``), or its REST API
  (``/rest/v3/short-urls``, paged, ``X-Api-Key``).
- ``kutt``: Kutt's API (``/api/v2/links``, ``X-API-KEY``, paged by ``skip``) or a
  saved answer of it: ``{"data": [{"id", "address", "target", "description",
  "created_at", ...}], "total", ...}``.
- ``yourls``: a MySQL dump of the ``yourls_url`` table (``keyword``, ``url``,
  ``title``, ``timestamp``, ``ip``, ``clicks``), or the YOURLS API
  (``action=stats&filter=last``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp

TAG_SPLIT: Final = re.compile(r"[,|;]")
PAGE_SIZE: Final = 100


class SourceError(Exception):
    """The other shortener's API refused or failed."""


@dataclass(frozen=True, slots=True)
class SourceLink:
    """One link of another shortener, keyed by where it came from."""

    source: str  # e.g. "bitly:bit.ly/3xYz": the same link, the same key, every run
    url: str
    alias: str | None = None
    title: str | None = None
    tags: tuple[str, ...] = ()
    created: str | None = None  # YYYY-MM-DD HH:MM:SS, UTC

    def item(self, *, keep_alias: bool = True) -> dict[str, Any]:
        """The item of a ``POST /api/urls/bulk`` request."""
        item: dict[str, Any] = {"url": self.url, "source": self.source}
        if self.alias and keep_alias:
            item["custom"] = self.alias
        if self.title:
            item["title"] = self.title[:255]
        if self.tags:
            item["tags"] = list(self.tags)
        if self.created:
            item["created"] = self.created
        return item


def api_date(text: Any) -> str | None:
    """An ISO 8601 / SQL date or a unix time as ``YYYY-MM-DD HH:MM:SS`` UTC; None if unreadable."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        moment = datetime.fromtimestamp(text, UTC)
    else:
        raw = str(text or "").strip()
        if not raw:
            return None
        if raw.isdigit():
            moment = datetime.fromtimestamp(int(raw), UTC)
        else:
            try:
                moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def split_tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        parts = [str(v) for v in value]
    else:
        parts = TAG_SPLIT.split(str(value or ""))
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


def _path_alias(short_url: str) -> tuple[str, str | None]:
    """``(host/path, alias)`` of a short URL with or without a scheme."""
    text = short_url.strip()
    parts = urlsplit(text if "://" in text else "https://" + text)
    alias = parts.path.strip("/") or None
    return f"{parts.netloc}/{alias or ''}", alias


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            yield {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}


def _first(row: Mapping[str, str], *names: str) -> str:
    for name in names:
        if row.get(name):
            return row[name]
    return ""


def csv_links(path: Path) -> Iterator[SourceLink]:
    for row in _rows(path):
        url = _first(row, "url", "longurl", "long_url")
        alias = _first(row, "alias", "custom") or None
        created = _first(row, "created", "date")
        key = alias or hashlib.sha256(f"{url}\0{created}".encode()).hexdigest()[:32]
        yield SourceLink(
            source=f"csv:{key}",
            url=url,
            alias=alias,
            title=row.get("title") or None,
            tags=split_tags(row.get("tags")),
            created=api_date(created),
        )


def bitly_links(path: Path) -> Iterator[SourceLink]:
    for row in _rows(path):
        bitlink = _first(row, "link", "bitlink", "short_url", "short url")
        where, alias = _path_alias(bitlink)
        yield SourceLink(
            source=f"bitly:{where}",
            url=_first(row, "long_url", "long url", "destination"),
            alias=alias,
            title=_first(row, "title") or None,
            tags=split_tags(_first(row, "tags")),
            created=api_date(_first(row, "created_at", "created", "date created")),
        )


def shlink_csv_links(path: Path) -> Iterator[SourceLink]:
    for row in _rows(path):
        code = _first(row, "short code", "shortcode", "short_code")
        domain = _first(row, "domain")
        yield SourceLink(
            source=f"shlink:{domain}/{code}",
            url=_first(row, "long url", "longurl", "long_url"),
            alias=code or None,
            title=_first(row, "title") or None,
            tags=split_tags(_first(row, "tags")),
            created=api_date(_first(row, "created", "datecreated", "date created")),
        )


def shlink_item(item: Mapping[str, Any]) -> SourceLink:
    code = str(item.get("shortCode") or "")
    return SourceLink(
        source=f"shlink:{item.get('domain') or ''}/{code}",
        url=str(item.get("longUrl") or ""),
        alias=code or None,
        title=item.get("title") or None,
        tags=split_tags(item.get("tags") or []),
        created=api_date(item.get("dateCreated")),
    )


def kutt_item(item: Mapping[str, Any]) -> SourceLink:
    address = str(item.get("address") or "")
    return SourceLink(
        source=f"kutt:{item.get('id') or address}",
        url=str(item.get("target") or ""),
        alias=address or None,
        title=item.get("description") or None,
        created=api_date(item.get("created_at")),
    )


def kutt_file_links(path: Path) -> Iterator[SourceLink]:
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data.get("data", []) if isinstance(data, dict) else data
    for item in items:
        yield kutt_item(item)


def yourls_item(keyword: str, url: str, title: str | None, timestamp: Any) -> SourceLink:
    return SourceLink(
        source=f"yourls:{keyword}",
        url=url,
        alias=keyword or None,
        title=title or None,
        created=api_date(timestamp),
    )


def yourls_dump_links(path: Path) -> Iterator[SourceLink]:
    from cli.sql_dump import insert_rows

    for row in insert_rows(path, table_suffix="url"):
        yield yourls_item(
            str(row.get("keyword") or ""),
            str(row.get("url") or ""),
            row.get("title"),
            row.get("timestamp"),
        )


# --- the tools' APIs (paged) ----------------------------------------------------


async def _get_json(
    session: aiohttp.ClientSession, url: str, headers: Mapping[str, str], params: Mapping[str, Any]
) -> Any:
    try:
        async with session.get(url, headers=dict(headers), params=dict(params)) as resp:
            if resp.status != 200:
                raise SourceError(f"{url} answered {resp.status}: {(await resp.text())[:200]}")
            return await resp.json(content_type=None)
    except (aiohttp.ClientError, ValueError) as exc:
        raise SourceError(f"{url}: {exc}") from exc


async def shlink_api_links(
    session: aiohttp.ClientSession, base: str, key: str
) -> AsyncIterator[SourceLink]:
    page = 1
    while True:
        data = await _get_json(
            session,
            base.rstrip("/") + "/rest/v3/short-urls",
            {"X-Api-Key": key},
            {"page": page, "itemsPerPage": PAGE_SIZE},
        )
        block = data.get("shortUrls", {})
        for item in block.get("data", []):
            yield shlink_item(item)
        pages = int(block.get("pagination", {}).get("pagesCount") or 1)
        if page >= pages:
            return
        page += 1


async def kutt_api_links(
    session: aiohttp.ClientSession, base: str, key: str
) -> AsyncIterator[SourceLink]:
    skip = 0
    while True:
        data = await _get_json(
            session,
            base.rstrip("/") + "/api/v2/links",
            {"X-API-KEY": key},
            {"limit": PAGE_SIZE, "skip": skip},
        )
        items = data.get("data", [])
        for item in items:
            yield kutt_item(item)
        skip += len(items)
        if not items or skip >= int(data.get("total") or 0):
            return


async def yourls_api_links(
    session: aiohttp.ClientSession, base: str, signature: str
) -> AsyncIterator[SourceLink]:
    """YOURLS's stats action lists the links (``filter=last``, ``limit`` as high as given)."""
    data = await _get_json(
        session,
        base.rstrip("/") + "/yourls-api.php",
        {},
        {
            "action": "stats",
            "filter": "last",
            "limit": 1_000_000,
            "format": "json",
            "signature": signature,
        },
    )
    for link in (data.get("links") or {}).values():
        _, keyword = _path_alias(str(link.get("shorturl") or ""))
        yield yourls_item(
            keyword or "", link.get("url", ""), link.get("title"), link.get("timestamp")
        )
