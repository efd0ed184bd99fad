"""The edge's fast core: cached direct redirects answered without aiohttp.

Nearly every request an edge gets is a ``GET /<alias>`` of a link already in
its LRU that needs nothing but headers to answer. aiohttp's general request
path (request and response objects, routing, header multidicts, the writer)
costs about three times what parsing and answering such a request needs, so
the public port's connections start on :class:`FastConnection`, a plain
event-loop protocol that parses with ``httptools`` (the llhttp parser uvicorn
uses) and answers such a request from bytes prebuilt per link snapshot: the
click goes into the same :class:`ClickBuffer` as aiohttp's handler would put
it (same fields, batches, spool, exactly-once).

Anything else (another method or path, a link not cached or not ``simple``, a
crawler, a branded domain not cached, HTTP/1.0, a body, an upgrade, a head
larger than :data:`MAX_HEAD`, bytes llhttp refuses, a head still incomplete
after :data:`PARTIAL_HEAD_SECONDS`) hands the connection, from the first byte
not yet answered, to aiohttp's own protocol in the same process: the
transport is switched to a ``RequestHandler`` of the app's ``Server`` and the
unanswered bytes are fed to it, so every such request gets exactly the answer
the aiohttp app gives (the connection then stays with aiohttp).

Pipelined requests are answered in order; a pipelined request that needs
aiohttp is handed over with everything after it."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any, Final, cast

import httptools
from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE
from aiohttp.web_server import Server

from services.links.edge.entries import LinkEntry
from services.links.edge.keys import CLICKS, EDGE, GEOIP
from services.links.edge.pages import NO_STORE
from services.links.edge.visitor import country_code
from services.links.edge.visits import Edge
from shared.forwarded import client_address

MAX_HEAD: Final = 8 * 1024  # a larger request head is aiohttp's to judge (and refuse)
PARTIAL_HEAD_SECONDS: Final = 1.0  # a head arriving slower than this goes to aiohttp
SWEEP_INTERVAL: Final = 0.5
_PATH_RE: Final = re.compile(rb"/([A-Za-z0-9_-]{1,128})(?:\?[^#]*)?")
# Headers after which a GET is not a plain bodiless request: aiohttp decides.
_NOT_PLAIN: Final = frozenset({b"content-length", b"transfer-encoding", b"expect", b"upgrade"})


LOADING: Final = b"(loading)"  # answer(): the link is loading, the connection waits (by identity)


def _text(value: bytes) -> str:
    # As aiohttp decodes header values: bytes that are not UTF-8 kept as surrogates.
    return value.decode("utf-8", "surrogateescape")


class Answers:
    """Prebuilt response bytes: a link's 302 head, and the Date line (once a second)."""

    __slots__ = ("_date", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._date = b""

    def date(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._date = b"Date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
        return self._date

    @staticmethod
    def redirect(entry: LinkEntry) -> bytes:
        """``entry``'s 302 without the Date line and final CRLF; b"" if its
        location cannot be written into a header byte for byte."""
        location = entry.location
        if any(c in location for c in "\r\n\x00"):
            return b""
        return (
            b"HTTP/1.1 302 Found\r\nLocation: "
            + location.encode("utf-8", "surrogateescape")
            + b"\r\nCache-Control: "
            + NO_STORE.encode()
            + b"\r\nContent-Length: 0\r\nContent-Type: application/octet-stream\r\nServer: "
            + SERVER_SOFTWARE.encode()
            + b"\r\n"
        )


class FastCore:
    """What every fast connection of one app shares: the edge, its click buffer,
    which paths aiohttp routes elsewhere, and the open connections."""

    def __init__(self, app: web.Application, server: Server) -> None:
        edge: Edge = app[EDGE]
        self.edge = edge
        self.server = server
        self.clicks = app[CLICKS]
        self.link_cache = edge.link_cache
        self.domains = edge.store.domains.cache
        self.uas = edge.uas
        self.public_host = edge.public_host
        self.trusted_hops = edge.trusted_hops
        self.country_header = (
            edge.country_header.lower().encode() if edge.country_header is not None else None
        )
        self.geoip = app.get(GEOIP)
        self.plain = edge.plain_visitors and self.geoip is None
        self.answers = Answers()
        self.keepalive = float(server._kwargs.get("keepalive_timeout", 75.0))
        # One-segment paths with a route of their own (/health, /ready, ...).
        self.routed = frozenset(
            info["path"].encode()
            for resource in app.router.resources()
            if "path" in (info := resource.get_info())
        )
        self.connections: set[FastConnection] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()
        self.served = 0  # redirects answered here (the rest: aiohttp's)
        self.handed_off = 0

    def start_sweeping(self) -> None:
        if self._sweeper is None:
            self._sweeper = self._loop.call_later(SWEEP_INTERVAL, self._sweep)

    def _sweep(self) -> None:
        """Close keep-alive connections idle as long as aiohttp would allow, hand
        slow heads to aiohttp (it judges them as it does today)."""
        self._sweeper = None
        now = self._loop.time()
        for conn in list(self.connections):
            conn.check(now)
        if self.connections:
            self.start_sweeping()

    def close_all(self) -> None:
        for conn in list(self.connections):
            conn.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def answer(self, conn: FastConnection) -> bytes | None:
        """The response to the request ``conn`` just parsed, ``None`` (aiohttp's), or
        :data:`LOADING` (the link is being loaded; the connection waits for it)."""
        parsed = conn.parsed
        if (
            not parsed.complete
            or parsed.other
            or conn.parser.get_method() != b"GET"
            or conn.parser.get_http_version() != "1.1"
        ):
            return None
        match = _PATH_RE.fullmatch(parsed.url)
        if match is None:
            return None
        path = parsed.url.partition(b"?")[0]
        if path in self.routed:
            return None
        headers = parsed.headers
        host = _text(headers.get(b"host", b""))
        if host == self.public_host:
            suffix = "link:_:"
        else:
            name = self.edge.domain_name(host)
            if name is None:
                suffix = "link:_:"
            else:
                domain = self.domains.get("domain:" + name)
                if domain is None or not domain.live:
                    return None
                suffix = f"link:{domain.host}:"
        suffix += match.group(1).decode()
        entry = self.link_cache.get(suffix)
        if entry.__class__ is not LinkEntry:
            loaded = conn.loaded
            if loaded is None or loaded[0] != suffix:
                conn.load(suffix)  # a miss: answered here if it loads as a direct link
                return LOADING
            entry, conn.loaded = loaded[1], None
            if entry is None:
                return None
        assert isinstance(entry, LinkEntry)
        if not entry.simple:
            return None
        info = self.uas.get(_text(headers.get(b"user-agent", b"")))
        if info.crawler:
            return None
        head = entry.redirect
        if head is None:
            head = entry.redirect = Answers.redirect(entry)
        if not head:
            return None
        self._record(conn.peer, entry, info.json, headers)
        self.served += 1
        if parsed.close:  # "Connection: close": answered, then closed
            conn.closing = True
            return head + b"Connection: close\r\n" + self.answers.date() + b"\r\n"
        return head + self.answers.date() + b"\r\n"

    def _record(self, peer: str, entry: LinkEntry, ua: bytes, headers: dict[bytes, bytes]) -> None:
        referrer = headers.get(b"referer")
        language = headers.get(b"accept-language")
        ip, country = peer, None
        if not self.plain:
            if self.trusted_hops:
                entries = [
                    part.strip() for part in _text(headers.get(b"x-forwarded-for", b"")).split(",")
                ]
                ip = client_address(peer, [e for e in entries if e], self.trusted_hops)
            if self.country_header is not None:
                raw = headers.get(self.country_header)
                country = country_code(None if raw is None else _text(raw))
            elif self.geoip is not None and ip:
                country = self.geoip.country(ip)
        self.clicks.add(
            entry,
            entry.location,
            ip,
            ua,
            None if referrer is None else _text(referrer),
            None if language is None else _text(language),
            country,
        )


class Parsed:
    """httptools' callbacks for one request head."""

    __slots__ = ("close", "complete", "headers", "other", "url", "wanted")

    def __init__(self, wanted: frozenset[bytes]) -> None:
        self.wanted = wanted
        self.reset()

    def reset(self) -> None:
        self.url = b""
        self.headers: dict[bytes, bytes] = {}
        self.other = False
        self.close = False
        self.complete = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name in self.wanted:
            headers = self.headers
            if name == b"x-forwarded-for" and name in headers:  # every line counts
                headers[name] += b"," + value
            elif name not in headers:
                headers[name] = value
        elif name == b"connection":
            # llhttp forgets its keep-alive verdict once the message is complete.
            self.close = self.close or b"close" in value.lower()
        elif name in _NOT_PLAIN:
            self.other = True

    def on_message_complete(self) -> None:
        self.complete = True


class FastConnection(asyncio.Protocol):
    """One public connection, until a request needs aiohttp (then :meth:`_hand_off`)."""

    __slots__ = (
        "_buffer",
        "_core",
        "_last",
        "_partial_since",
        "closing",
        "loaded",
        "parsed",
        "parser",
        "peer",
        "transport",
    )

    def __init__(self, core: FastCore, wanted: frozenset[bytes]) -> None:
        self._core = core
        self.parsed = Parsed(wanted)
        self.parser = httptools.HttpRequestParser(self.parsed)
        self._buffer = b""
        self.peer = ""
        self._last = 0.0
        self._partial_since: float | None = None
        self.closing = False
        # A missed link loaded for the request waiting on it: (suffix, entry or None).
        self.loaded: tuple[str, LinkEntry | None] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)
        peer = self.transport.get_extra_info("peername")
        self.peer = peer[0] if isinstance(peer, (tuple, list)) else ""
        self._last = self._core._loop.time()
        self._core.connections.add(self)
        self._core.start_sweeping()

    def connection_lost(self, exc: Exception | None) -> None:
        self._core.connections.discard(self)
        self.transport = None

    def pause_writing(self) -> None:
        if self.transport is not None:  # a client that does not read: stop reading it
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        if self._buffer:
            data = self._buffer + data
            self._buffer = b""
        core, parsed, parser = self._core, self.parsed, self.parser
        out: list[bytes] = []
        start = 0
        while True:
            end = data.find(b"\r\n\r\n", start, start + MAX_HEAD)
            if end < 0:
                break
            end += 4
            parsed.reset()
            try:
                parser.feed_data(data[start:end])
            except (httptools.HttpParserError, httptools.HttpParserUpgrade):
                response = None
            else:
                response = core.answer(self)
            if response is None:
                if out:
                    transport.writelines(out)
                self._hand_off(data[start:])
                return
            if response is LOADING:  # this request and the rest wait for the load
                if out:
                    transport.writelines(out)
                self._buffer = data[start:]
                self._partial_since = None
                transport.pause_reading()
                return
            out.append(response)
            start = end
            if self.closing:
                transport.writelines(out)
                transport.close()
                return
        if out:
            transport.writelines(out)
        rest = data[start:] if start else data
        if len(rest) >= MAX_HEAD or (rest and b"\n\n" in rest):  # too long, or LF-only lines
            self._hand_off(rest)
            return
        now = core._loop.time()
        self._last = now
        if rest:
            self._buffer = rest
            if self._partial_since is None:
                self._partial_since = now
        else:
            self._partial_since = None

    def load(self, suffix: str) -> None:
        task = asyncio.ensure_future(self._core.edge.store.link(suffix))
        task.add_done_callback(lambda done: self._loaded(suffix, done))

    def _loaded(self, suffix: str, done: asyncio.Future[LinkEntry | None]) -> None:
        transport = self.transport
        if transport is None:  # gone meanwhile
            if not done.cancelled():
                done.exception()
            return
        waiting, self._buffer = self._buffer, b""
        if done.cancelled() or done.exception() is not None:
            self._hand_off(waiting)  # aiohttp's app tells the visitor what went wrong
            return
        self.loaded = (suffix, done.result())
        transport.resume_reading()
        self.data_received(waiting)

    def eof_received(self) -> bool | None:
        if self._buffer:  # half a request and no more coming: aiohttp's answer
            self._hand_off(self._buffer)
            return True
        return None

    def check(self, now: float) -> None:
        if self.transport is None:
            return
        if self._partial_since is not None:
            if now - self._partial_since >= PARTIAL_HEAD_SECONDS:
                self._hand_off(self._buffer)
        elif now - self._last >= self._core.keepalive:
            self.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _hand_off(self, unanswered: bytes) -> None:
        """Give this connection to aiohttp, starting with ``unanswered``."""
        transport = self.transport
        assert transport is not None
        core = self._core
        core.connections.discard(self)
        core.handed_off += 1
        self.transport = None
        self._buffer = b""
        handler = core.server()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if unanswered:
            handler.data_received(unanswered)


class FastServer:
    """The app's protocol factory: aiohttp's :class:`Server` with connections
    starting on the fast core. Everything else is the wrapped server's."""

    def __init__(self, server: Server, core: FastCore) -> None:
        self._server = server
        self._core = core
        self.core = core
        wanted = {b"host", b"user-agent", b"referer", b"accept-language"}
        if core.trusted_hops:
            wanted.add(b"x-forwarded-for")
        if core.country_header is not None:
            wanted.add(core.country_header)
        self._wanted = frozenset(wanted)

    def __call__(self) -> FastConnection:
        return FastConnection(self._core, self._wanted)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)

    def pre_shutdown(self) -> None:
        self._core.close_all()
        self._server.pre_shutdown()

    async def shutdown(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 (aiohttp's)
        self._core.close_all()
        await self._server.shutdown(timeout)


def install(app: web.Application) -> None:
    """Serve ``app``'s public port through the fast core.

    aiohttp builds a server's protocol factory in ``Application._make_handler``
    (after the startup contexts ran, so the edge's resources are attached); the
    app's own factory is wrapped for this one application object. Set with
    ``object.__setattr__`` since aiohttp's debug mode warns about attributes."""
    make_handler: Callable[..., Server] = app._make_handler

    def fast_handler(**kwargs: Any) -> FastServer:
        server = make_handler(**kwargs)
        return FastServer(server, FastCore(app, server))

    object.__setattr__(app, "_make_handler", fast_handler)
