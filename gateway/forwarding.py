"""What crosses the gateway in each direction: the request headers a service
gets, the response headers a client gets, who the client is, and the request id."""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from shared import identity
from shared.forwarded import client_address, forwarded_for

# RFC 9110 §7.6.1 plus the de-facto ones; also whatever a Connection header names.
HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# The client headers a service sees (CONTRACTS.md); everything else stays here,
# in particular Authorization and any X-Internal-Identity a client made up.
FORWARDED_REQUEST_HEADERS: Final = ("Content-Type", "Accept", "Accept-Language", "User-Agent")
INVALIDATE_HEADER: Final = "X-Principal-Invalidate"
REQUEST_ID_HEADER: Final = "X-Request-Id"
# Never relayed to a client: lengths are recomputed, our own Date and Server apply.
_DROPPED_RESPONSE_HEADERS: Final = HOP_BY_HOP | {
    "content-length",
    "date",
    "server",
    INVALIDATE_HEADER.lower(),
    identity.HEADER.lower(),
}
_REQUEST_ID_RE: Final = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Request ids are unique, not secret: a random prefix per process and a counter
# (no system call per request, unlike uuid4).
_RID_PREFIX: Final = secrets.token_hex(8)
_rid_counter = itertools.count(secrets.randbelow(1 << 32))


def connection_named(headers: CIMultiDictProxy[str] | CIMultiDict[str]) -> set[str]:
    """Header names a ``Connection`` header declares hop-by-hop."""
    named: set[str] = set()
    for value in headers.getall("Connection", ()):
        named.update(token.strip().lower() for token in value.split(",") if token.strip())
    return named


def request_id(request: web.Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    if given and _REQUEST_ID_RE.match(given):
        return given
    return f"{_RID_PREFIX}{next(_rid_counter) & 0xFFFFFFFFFFFFFFFF:016x}"


@dataclass(frozen=True, slots=True)
class Client:
    ip: str  # the address limits are counted against
    forwarded_for: str  # the X-Forwarded-For a service sees
    proto: str
    host: str


def client_of(request: web.Request, trusted_hops: int) -> Client:
    """Who is calling: the peer, or with ``trusted_hops`` proxies in front of
    us, the address the outermost trusted proxy saw (shared/forwarded.py)."""
    peer = request.remote or "unknown"
    if trusted_hops <= 0:
        return Client(peer, peer, request.scheme, request.host)
    entries = forwarded_for(request.headers)
    trusted = entries[-trusted_hops:]
    ip = client_address(peer, entries, trusted_hops)
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
    host = request.headers.get("X-Forwarded-Host", "").split(",")[-1].strip()
    return Client(
        ip=ip,
        forwarded_for=", ".join([*trusted, peer]),
        proto=proto if proto in {"http", "https"} else request.scheme,
        host=host or request.host,
    )


def upstream_request_headers(
    request: web.Request, client: Client, rid: str, signature: str
) -> dict[str, str]:
    incoming = request.headers
    hop = connection_named(incoming)
    headers = {
        name: incoming[name]
        for name in FORWARDED_REQUEST_HEADERS
        if name in incoming and name.lower() not in hop
    }
    headers["X-Forwarded-For"] = client.forwarded_for
    headers["X-Forwarded-Proto"] = client.proto
    headers["X-Forwarded-Host"] = client.host
    headers[REQUEST_ID_HEADER] = rid
    headers[identity.HEADER] = signature
    return headers


def client_response_headers(
    upstream: CIMultiDictProxy[str], extra: Iterable[tuple[str, str]]
) -> CIMultiDict[str]:
    dropped = _DROPPED_RESPONSE_HEADERS | connection_named(upstream)
    headers: CIMultiDict[str] = CIMultiDict(
        (name, value) for name, value in upstream.items() if name.lower() not in dropped
    )
    for name, value in extra:
        headers[name] = value
    return headers


def invalidations(upstream: CIMultiDictProxy[str]) -> tuple[list[int], list[int]]:
    """The users and plans an ``X-Principal-Invalidate`` header names."""
    users: list[int] = []
    plans: list[int] = []
    for value in upstream.getall(INVALIDATE_HEADER, ()):
        for item in value.split(","):
            kind, _, raw_id = item.strip().partition(":")
            if not raw_id.strip().isdigit():
                continue
            if kind == "user":
                users.append(int(raw_id))
            elif kind == "plan":
                plans.append(int(raw_id))
    return users, plans
