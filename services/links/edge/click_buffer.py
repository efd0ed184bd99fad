"""Counted visits on their way to RabbitMQ.

A redirect only appends a small tuple to an in-memory list (no await, no I/O,
no JSON). A background task ships the list as ``click.recorded`` batches when
it holds ``click_batch_size`` events or ``click_flush_interval`` seconds after
its first event: each batch is one persistent message with publisher confirms
when the broker is there, else a line of the spool. Another task replays the
spool once the broker is back. On shutdown whatever is buffered is shipped the
same way.

Events are encoded straight to bytes: the fields a link's clicks share
(:func:`static_fields`, cached per link and destination) are JSON-encoded once,
so a click costs one tuple and a few small ``orjson.dumps`` at flush time. The
result is exactly the envelope of ``shared/events.py`` with a ``ClickRecorded``
payload."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from contextlib import suppress
from typing import Any, Final

import orjson

from services.links.edge.broker import Broker
from services.links.edge.entries import LinkEntry
from services.links.edge.spool import Spool
from services.links.edge.stats import EdgeStats
from services.links.edge.visitor import valid_text
from shared.events import CLICK_RECORDED, ClickSource

log = logging.getLogger("edge.clicks")

REPLAY_INTERVAL: Final = 1.0  # how often the spool directory is looked at
ENCODE_SLICE: Final = 100  # events encoded between two chances for visitors to be served
_EVENT: Final = (
    b'{"id":"%s%012x","type":"' + CLICK_RECORDED.encode() + b'","version":1,'
    b'"occurred_at":"%s.%06dZ","payload":{%s,"ip":%s,"user_agent":%s,"referrer":%s,'
    b'"accept_language":%s,"country":%s}}'
)
_NULL: Final = b"null"

# One buffered click: time, link, destination, ip, user agent (JSON), referrer,
# Accept-Language, country.
Click = tuple[float, LinkEntry, str, str, bytes, str | None, str | None, str | None]


def static_fields(
    *,
    link_id: int,
    owner_id: int,
    alias: str,
    host: str,
    destination: str,
    source: ClickSource,
    qr_id: int | None,
    campaign_id: int | None,
    block_id: int | None = None,
) -> bytes:
    """The JSON members (without braces) every click of one link and destination shares
    (``block_id`` only for a bio page's block: older consumers never see it)."""
    fields: dict[str, Any] = {
        "link_id": link_id,
        "owner_id": owner_id,
        "alias": alias,
        "host": host,
        "destination": destination,
        "source": source,
        "qr_id": qr_id,
        "campaign_id": campaign_id,
    }
    if block_id is not None:
        fields["block_id"] = block_id
    return orjson.dumps(fields)[1:-1]


class EventIds:
    """Unique event ids without a ``uuid4`` per click: a random per-process prefix
    (20 hex digits) and a counter (12), 32 hex digits like the rest of the
    system's ids."""

    __slots__ = ("last", "prefix")

    def __init__(self) -> None:
        self.prefix = os.urandom(10).hex().encode()
        self.last = 0


class Timestamps:
    """The date-and-seconds part of ``occurred_at`` (ISO 8601, UTC), formatted once
    per second."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = b""

    def date(self, second: int) -> bytes:
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)).encode()
        return self._prefix


class ClickBuffer:
    def __init__(
        self,
        broker: Broker,
        spool: Spool,
        stats: EdgeStats,
        *,
        public_host: str,
        batch_size: int,
        flush_interval: float,
    ) -> None:
        self.public_host = public_host  # the ``host`` of clicks on the default domain
        self.broker = broker
        self.spool = spool
        self.stats = stats
        self.batch_size = max(1, batch_size)
        self.flush_interval = max(0.0, flush_interval)
        self._clicks: list[Click] = []
        self._first = asyncio.Event()
        self._full = asyncio.Event()
        self._stopping = False
        self._ids = EventIds()
        self._stamp = Timestamps()
        self._flusher: asyncio.Task[None] | None = None
        self._replayer: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._clicks)

    def add(
        self,
        link: LinkEntry,
        destination: str,
        ip: str,
        user_agent_json: bytes,
        referrer: str | None,
        accept_language: str | None,
        country: str | None,
    ) -> None:
        """Record one counted visit of ``link`` sent to ``destination``. Never blocks.

        ``user_agent_json`` is the JSON string of the (truncated) user agent."""
        clicks = self._clicks
        clicks.append(
            (
                time.time(),
                link,
                destination,
                ip,
                user_agent_json,
                referrer,
                accept_language,
                country,
            )
        )
        self.stats.clicks_buffered += 1
        size = len(clicks)
        if size == 1:
            self._first.set()
        if size >= self.batch_size:
            self._full.set()

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_loop(), name="edge-click-flusher")
        self._replayer = asyncio.create_task(self._replay_loop(), name="edge-spool-replayer")

    async def stop(self) -> None:
        """Ship what is buffered (to the broker, else the spool) and stop."""
        self._stopping = True
        self._first.set()
        self._full.set()
        if self._flusher is not None:
            await self._flusher
        if self._replayer is not None:
            self._replayer.cancel()
            with suppress(asyncio.CancelledError):
                await self._replayer
        await self.flush()

    # -- shipping --------------------------------------------------------------

    async def _flush_loop(self) -> None:
        while not self._stopping:
            await self._first.wait()
            if not self._full.is_set() and not self._stopping:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self.flush_interval)
            try:
                await self.flush()
            except Exception:  # never let the flusher die: the next round retries
                log.exception("click flush failed")

    async def flush(self) -> None:
        """Ship every buffered click now, one message per ``batch_size`` clicks."""
        self._first.clear()
        self._full.clear()
        taken, self._clicks = self._clicks, []
        if not taken:
            return
        shipping = []
        size = self.batch_size
        for start in range(0, len(taken), size):
            body, count = await self._encode(taken[start : start + size])
            shipping.append(asyncio.ensure_future(self._ship(body, count)))
        await asyncio.gather(*shipping)

    def _static(self, link: LinkEntry, destination: str) -> bytes:
        return static_fields(
            link_id=link.id,
            owner_id=link.owner,
            alias=link.alias,
            host=self.public_host if link.host == "_" else link.host,
            destination=destination,
            source=link.source,
            qr_id=link.qr,
            campaign_id=link.campaign,
            block_id=link.block,
        )

    async def _encode(self, clicks: list[Click]) -> tuple[bytes, int]:
        """One batch's message body. Encoding yields to the event loop every
        :data:`ENCODE_SLICE` events, so visitors never wait for a whole batch.

        This is the edge's busiest loop after the redirect itself: ids, times and
        optional fields are formatted inline rather than by helper calls."""
        event, dumps, null = _EVENT, orjson.dumps, _NULL
        ids = self._ids
        prefix, n = ids.prefix, ids.last
        second, date = -1, b""
        # Within a batch, a hot link's shared fields are encoded once.
        shared: dict[tuple[int, str], bytes] = {}
        events: list[bytes] = []
        for start in range(0, len(clicks), ENCODE_SLICE):
            if start:
                ids.last = n
                await asyncio.sleep(0)
                n = ids.last  # another flush may have taken ids meanwhile
            for click in clicks[start : start + ENCODE_SLICE]:
                at, link, destination, ip, ua, referrer, language, country = click
                whole = int(at)
                if whole != second:
                    second, date = whole, self._stamp.date(whole)
                n += 1
                try:
                    key = (id(link), destination)
                    static = shared.get(key)
                    if static is None:
                        static = shared[key] = self._static(link, destination)
                    events.append(
                        event
                        % (
                            prefix,
                            n,
                            date,
                            int((at - whole) * 1_000_000),
                            static,
                            dumps(ip),
                            ua,
                            null if referrer is None else dumps(referrer),
                            null if language is None else dumps(language),
                            null if country is None else dumps(country),
                        )
                    )
                except (TypeError, ValueError):  # e.g. a header's bytes that are not UTF-8
                    cleaned = self._encode_cleaned(click, prefix, n, date)
                    if cleaned is not None:
                        events.append(cleaned)
        ids.last = n
        return b"[" + b",".join(events) + b"]", len(events)

    def _encode_cleaned(self, click: Click, prefix: bytes, n: int, date: bytes) -> bytes | None:
        """One event whose visitor-supplied text would not encode, with that text
        made valid; ``None`` (the event dropped alone, and counted) if it still fails."""
        at, link, destination, ip, ua, referrer, language, country = click
        dumps = orjson.dumps
        try:
            return _EVENT % (
                prefix,
                n,
                date,
                int((at - int(at)) * 1_000_000),
                self._static(link, destination),
                dumps(valid_text(ip)),
                ua,
                _NULL if referrer is None else dumps(valid_text(referrer)),
                _NULL if language is None else dumps(valid_text(language)),
                _NULL if country is None else dumps(valid_text(country)),
            )
        except (TypeError, ValueError):
            self.stats.clicks_unencodable += 1
            log.exception("dropped a click event of link %s that cannot be encoded", link.id)
            return None

    async def _ship(self, body: bytes, count: int) -> None:
        try:
            await self.broker.publish(body)
        except Exception as exc:
            self.stats.publish_failures += 1
            log.debug("publishing %d clicks failed (%s): spooling them", count, exc)
        else:
            self.stats.clicks_published += count
            return
        try:
            await self.spool.append(body)
        except OSError:
            self.stats.spool_failures += 1
            log.exception("could not spool %d click events: they are lost", count)
            return
        self.stats.clicks_spooled += count

    async def _replay_loop(self) -> None:
        while True:
            await asyncio.sleep(REPLAY_INTERVAL)
            if not self.broker.ready:
                continue
            try:
                replayed = await self.spool.replay(self.broker.publish)
            except Exception as exc:
                log.warning("spool replay stopped (%s); retrying later", exc)
                continue
            if replayed:
                self.stats.clicks_replayed += replayed
                log.info("replayed %d spooled click events", replayed)
