"""The services behind the gateway: one pooled keep-alive session each."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from shared.settings import Settings


@dataclass(frozen=True, slots=True)
class Upstream:
    name: str
    base_url: str
    session: aiohttp.ClientSession


def new_session(settings: Settings) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=512, keepalive_timeout=30, ttl_dns_cache=60),
        timeout=aiohttp.ClientTimeout(
            total=None,
            sock_connect=settings.upstream_connect_timeout,
            sock_read=settings.upstream_timeout,
        ),
        # A proxy relays bytes and cookies; it neither decodes nor keeps them.
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
    )
    # aiohttp sends GET, PUT and DELETE again by itself when a connection closes
    # unanswered; the gateway decides alone (gateway/proxy.py: one retry, GET,
    # HEAD and OPTIONS only): a PUT or DELETE the service may already have
    # applied is never sent twice. There is no public switch for it.
    session._retry_connection = False
    return session
