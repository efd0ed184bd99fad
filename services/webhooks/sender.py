"""Sending one signed request to a user's endpoint, safely.

Targets go through the SSRF guard of ``shared/safe_fetch.py``: http or https
only, no credentials, and every address a host resolves to (on each new
connection) must be public unless ``ALLOW_PRIVATE_WEBHOOKS`` is set. Redirects
are never followed (a 3xx is a failed attempt): a redirect cannot lead the
request inside our network. Every request has a deadline; no proxy from the
environment is used; the answer's body is read only up to a few KiB."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from typing import Final

import aiohttp

from services.webhooks.signing import signed_headers
from shared.safe_fetch import (
    AddressPolicy,
    CheckingResolver,
    FetchError,
    allow_any_address,
    check_url,
    guarded_connector,
    is_public_address,
    parse_ip,
)
from shared.settings import Settings

USER_AGENT: Final = "ShortenerWebhooks/1.0"
READ_LIMIT: Final = 4096
MAX_ERROR: Final = 300


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt: the HTTP status (None when there was no answer), how long it
    took, and what went wrong (None on a 2xx)."""

    status: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def address_policy(settings: Settings) -> AddressPolicy:
    return allow_any_address if settings.allow_private_webhooks else is_public_address


class Sender:
    """One client session for every endpoint; open with ``async with``."""

    def __init__(self, settings: Settings, *, connections: int | None = None) -> None:
        self.policy = address_policy(settings)
        self.timeout = settings.webhook_timeout
        self.connections = connections or settings.webhook_concurrency
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Sender:
        self._session = aiohttp.ClientSession(
            # No per-host cap: two users' endpoints on one host must not share one;
            # the dispatcher limits each endpoint.
            connector=guarded_connector(self.policy, limit=self.connections, limit_per_host=0),
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            headers={"User-Agent": USER_AGENT},
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(
        self,
        url: str,
        secret: str,
        event_id: str,
        event_type: str,
        body: bytes,
        *,
        deadline: float | None = None,
    ) -> Outcome:
        """One attempt; ``deadline`` (seconds) shortens the session's timeout."""
        if self._session is None:
            raise RuntimeError("Sender used outside 'async with'")
        limit = min(self.timeout, deadline) if deadline is not None else self.timeout
        started = time.perf_counter()

        def took() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            target = check_url(url, self.policy)
            headers = signed_headers(secret, event_id, event_type, int(time.time()), body)
            async with self._session.post(
                target,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=limit),
            ) as resp:
                await resp.content.read(READ_LIMIT)
                status = resp.status
        except TimeoutError:
            return Outcome(None, took(), f"No answer within {limit:g} s.")
        except FetchError as exc:
            return Outcome(None, took(), str(exc))
        except aiohttp.ClientConnectorError as exc:
            return Outcome(None, took(), _short(f"Could not connect: {exc.os_error}"))
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return Outcome(None, took(), _short(f"The request failed: {exc!r}"))
        if 200 <= status < 300:
            return Outcome(status, took(), None)
        if 300 <= status < 400:
            return Outcome(status, took(), f"HTTP {status}: redirects are not followed.")
        return Outcome(status, took(), f"HTTP {status}.")


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


async def check_target(url: str, policy: AddressPolicy, *, within: float = 5.0) -> None:
    """Raise :class:`FetchError` (its message is for the user) unless ``url`` may be a
    webhook target now: the checks of every send, and its host resolves to allowed
    addresses only. Each send checks again (DNS answers change)."""
    target = check_url(url, policy)
    if parse_ip(target.host or "") is not None:
        return
    resolver = CheckingResolver(policy)
    try:
        async with asyncio.timeout(within):
            await resolver.resolve(target.host or "", target.port or 0, socket.AF_UNSPEC)
    except TimeoutError as exc:
        raise FetchError(f"The host '{target.host}' could not be resolved in time.") from exc
    finally:
        await resolver.close()
