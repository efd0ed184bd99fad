"""Who the client is behind ``TRUSTED_PROXY_HOPS`` proxies.

Each proxy appends the address it got the request from to ``X-Forwarded-For``
(as a new header line or at the end of the last one; both mean the same list).
With N trusted proxies in front of us the client is the Nth entry from the
right: everything left of it was written by the client and proves nothing.
Every per-client limit (failed API keys at the gateway, wrong link passwords
at the edge) counts against this address, so behind a proxy one attacker
locks out themselves, not everyone who shares the proxy's address."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from multidict import CIMultiDictProxy

FORWARDED_FOR = "X-Forwarded-For"


def valid_ip(value: str) -> str | None:
    """``value`` as a normalised IP address, or ``None`` when it is not one."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def forwarded_for(headers: CIMultiDictProxy[str]) -> list[str]:
    """Every ``X-Forwarded-For`` entry, in order, across all the header's lines."""
    return [
        entry.strip()
        for line in headers.getall(FORWARDED_FOR, ())
        for entry in line.split(",")
        if entry.strip()
    ]


def client_address(peer: str, entries: Sequence[str], trusted_hops: int) -> str:
    """The address the outermost trusted proxy saw, or ``peer`` when no proxy is
    trusted, none wrote an entry, or the entry is not an IP address."""
    if trusted_hops <= 0 or not entries:
        return peer
    return valid_ip(entries[-min(trusted_hops, len(entries))]) or peer
