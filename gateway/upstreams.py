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
    return aiohttp.ClientSession(
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
