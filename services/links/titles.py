"""Page titles for links added without one, fetched in the background.

The add answers at once; a task owned by the app (cancelled on shutdown)
fetches the destination through :class:`shared.safe_fetch.SafeFetcher` (no
private addresses, a deadline, a byte limit, HTML only) and stores the
``<title>`` unless the user has set a title in the meantime."""

from __future__ import annotations

import asyncio
import html
import logging
import re
from contextlib import suppress
from html.parser import HTMLParser
from typing import Final

import asyncpg

from services.links import queries
from shared.safe_fetch import FetchError, SafeFetcher

log = logging.getLogger("services.links.titles")

MAX_PAGE_BYTES: Final = 256 * 1024  # a <title> lives in the <head>
MAX_TITLE_LENGTH: Final = 255
HTML_TYPES: Final = ("text/html", "application/xhtml+xml")
_META_CHARSET_RE: Final = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE
)


class _TitleParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: str | None = None
        self.og_title: str | None = None
        self._depth = 0  # inside <svg>, a <title> is an image's, not the page's
        self._in_title = False
        self._parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "svg":
            self._depth += 1
        elif tag == "title" and self._depth == 0 and self.title is None:
            self._in_title = True
        elif tag == "meta" and self.og_title is None:
            found = dict(attrs)
            if (found.get("property") or found.get("name")) in ("og:title", "twitter:title"):
                self.og_title = found.get("content")

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg" and self._depth:
            self._depth -= 1
        elif tag == "title" and self._in_title:
            self._in_title = False
            self.title = "".join(self._parts)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._parts.append(data)


def _decode(body: bytes, charset: str | None) -> str:
    if not charset:
        match = _META_CHARSET_RE.search(body[:4096])
        charset = match.group(1).decode("ascii") if match else "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def extract_title(body: bytes, charset: str | None = None) -> str | None:
    """The page's ``<title>`` (else its ``og:title``), whitespace collapsed, at most 255 chars."""
    parser = _TitleParser()
    with suppress(Exception):  # a broken page has no title, not an error
        parser.feed(_decode(body, charset))
    raw = parser.title if parser.title and parser.title.strip() else parser.og_title
    if not raw:
        return None
    title = " ".join(html.unescape(raw).split())
    title = "".join(ch for ch in title if ch.isprintable())
    return title[:MAX_TITLE_LENGTH] or None


class TitleFetcher:
    """Owns the background title tasks of one process."""

    def __init__(self, pool: asyncpg.Pool, fetcher: SafeFetcher, concurrency: int = 8) -> None:
        self.pool = pool
        self.fetcher = fetcher
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, link_id: int, url: str) -> None:
        task = asyncio.create_task(self._run(link_id, url), name=f"title:{link_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def join(self) -> None:
        """Wait for the tasks scheduled so far (tests; graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run(self, link_id: int, url: str) -> None:
        async with self._slots:
            try:
                page = await self.fetcher.fetch(
                    url,
                    max_bytes=MAX_PAGE_BYTES,
                    content_types=HTML_TYPES,
                    truncate=True,
                    accept="text/html,application/xhtml+xml;q=0.9",
                )
            except FetchError as exc:
                log.info("no title for link %s: %s", link_id, exc)
                return
            except Exception:
                log.exception("fetching the title of link %s failed", link_id)
                return
            title = extract_title(page.body, page.charset)
            if title is None:
                return
            try:
                await self.pool.execute(queries.SET_FETCHED_TITLE, link_id, title)
            except (asyncpg.PostgresError, OSError):
                log.exception("could not store the title of link %s", link_id)
