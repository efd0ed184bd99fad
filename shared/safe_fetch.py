"""Fetching a URL a user gave us without letting them aim us at our own network.

Used for page titles and QR logos. Every hop (the first URL and each redirect)
is checked: http or https only; the host is resolved once, every address it
resolves to must be public (``ipaddress.is_global``, IPv4-mapped IPv6 unwrapped),
and the connection goes to exactly those checked addresses (a resolver that
refuses, so a DNS answer cannot change between check and connect). The body is
read up to a byte limit, the content type can be required, redirects are
limited and the whole fetch has a deadline.

``allow_private=True`` (tests, or a deployment that really wants it) lifts only
the address check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Final

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]

DEFAULT_TIMEOUT: Final = 5.0
DEFAULT_MAX_BYTES: Final = 1024 * 1024
DEFAULT_MAX_REDIRECTS: Final = 3
USER_AGENT: Final = "Mozilla/5.0 (compatible; ShortenerBot/1.0; +link preview)"
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


class FetchError(Exception):
    """The URL could not be fetched safely; ``str(exc)`` says why (safe to show a user)."""


class BlockedAddress(FetchError):
    pass


class TooLarge(FetchError):
    pass


class BadContentType(FetchError):
    pass


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # after redirects
    status: int
    content_type: str  # lower-case media type without parameters
    charset: str | None
    body: bytes
    truncated: bool


def is_public_address(address: IPAddress) -> bool:
    """True for addresses on the public internet (not private, loopback, link-local, …)."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is None and address in _NAT64:  # the IPv4 address in its last 32 bits
            mapped = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if mapped is not None:
            return is_public_address(mapped)
        if address.teredo is not None:
            return False
    return bool(address.is_global) and not address.is_multicast


def allow_any_address(address: IPAddress) -> bool:
    return True


def parse_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


class CheckingResolver(AbstractResolver):
    """Resolves like the threaded resolver, then refuses if any answer is not allowed."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            answers = await self._inner.resolve(host, port, family)
        except (OSError, UnicodeError) as exc:  # UnicodeError: a name IDNA cannot encode
            raise FetchError(f"The host '{host}' could not be resolved.") from exc
        if not answers:
            raise FetchError(f"The host '{host}' could not be resolved.")
        for answer in answers:
            address = parse_ip(answer["host"])
            if address is None or not self.policy(address):
                # One bad answer refuses the host: a name that also points
                # inside our network is not one we want to talk to.
                raise BlockedAddress(f"The host '{host}' is not a public address.")
        return answers

    async def close(self) -> None:
        await self._inner.close()


def check_url(raw: str | URL, policy: AddressPolicy) -> URL:
    """The URL if it may be requested at all: http or https, a host, no credentials,
    and a literal address only if ``policy`` allows it (aiohttp connects to a
    literal without asking the resolver)."""
    try:
        url = raw if isinstance(raw, URL) else URL(raw)
    except (ValueError, TypeError) as exc:
        raise FetchError("The URL is not valid.") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise FetchError("Only http and https URLs can be fetched.")
    if url.user is not None or url.password is not None:
        raise FetchError("URLs with credentials are not fetched.")
    literal = parse_ip(url.host)
    if literal is not None and not policy(literal):
        raise BlockedAddress(f"The host '{url.host}' is not a public address.")
    return url


def guarded_connector(
    policy: AddressPolicy, *, limit: int, limit_per_host: int
) -> aiohttp.TCPConnector:
    """A connector that connects only to addresses ``policy`` allows, resolving every
    new connection's host afresh (no DNS cache: an answer cannot be swapped later)."""
    return aiohttp.TCPConnector(
        resolver=CheckingResolver(policy),
        use_dns_cache=False,
        limit=limit,
        limit_per_host=limit_per_host,
    )


class SafeFetcher:
    """One client session for user-supplied URLs; open with ``async with``."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        policy: AddressPolicy | None = None,
        user_agent: str = USER_AGENT,
        connection_limit: int = 20,
    ) -> None:
        self.policy: AddressPolicy = policy or (
            allow_any_address if allow_private else is_public_address
        )
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self.connection_limit = connection_limit
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SafeFetcher:
        connector = guarded_connector(self.policy, limit=self.connection_limit, limit_per_host=4)
        self._session = aiohttp.ClientSession(
            connector=connector,
            trust_env=False,  # never route through an environment proxy
            timeout=aiohttp.ClientTimeout(total=self.timeout, sock_connect=self.timeout),
            headers={"User-Agent": self.user_agent},
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def check_url(self, raw: str | URL) -> URL:
        """The URL if it may be requested at all (scheme, host, literal address)."""
        return check_url(raw, self.policy)

    async def fetch(
        self,
        url: str,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        content_types: Iterable[str] | None = None,
        truncate: bool = False,
        accept: str = "*/*",
    ) -> FetchResult:
        """GET ``url`` following at most ``max_redirects`` checked redirects.

        ``content_types``: the accepted media types (``image/png``) or families
        (``text/``); anything else raises :class:`BadContentType`. A body over
        ``max_bytes`` raises :class:`TooLarge`, or is cut there if ``truncate``."""
        if self._session is None:
            raise RuntimeError("SafeFetcher used outside 'async with'")
        try:
            async with asyncio.timeout(self.timeout):
                return await self._fetch(
                    self._session, url, max_bytes, tuple(content_types or ()), truncate, accept
                )
        except TimeoutError as exc:
            raise FetchError("The URL did not answer in time.") from exc
        except aiohttp.ClientConnectorError as exc:
            raise FetchError("The URL could not be reached.") from exc
        except aiohttp.ClientError as exc:
            raise FetchError("The URL could not be fetched.") from exc

    async def _fetch(
        self,
        session: aiohttp.ClientSession,
        raw: str,
        max_bytes: int,
        content_types: tuple[str, ...],
        truncate: bool,
        accept: str,
    ) -> FetchResult:
        url = self.check_url(raw)
        for _ in range(self.max_redirects + 1):
            async with session.get(url, allow_redirects=False, headers={"Accept": accept}) as resp:
                if resp.status in _REDIRECTS:
                    location = resp.headers.get("Location")
                    if not location:
                        raise FetchError("A redirect without a Location header.")
                    url = self.check_url(url.join(URL(location)))
                    continue
                if resp.status >= 400:
                    raise FetchError(f"The URL answered HTTP {resp.status}.")
                media_type = resp.content_type.lower()
                if content_types and not any(
                    media_type == t or (t.endswith("/") and media_type.startswith(t))
                    for t in content_types
                ):
                    raise BadContentType(f"The URL serves '{media_type}', which is not accepted.")
                declared = resp.content_length
                if declared is not None and declared > max_bytes and not truncate:
                    raise TooLarge(f"The URL serves more than {max_bytes} bytes.")
                body, truncated = await _read_limited(resp, max_bytes)
                if truncated and not truncate:
                    raise TooLarge(f"The URL serves more than {max_bytes} bytes.")
                return FetchResult(
                    url=str(url),
                    status=resp.status,
                    content_type=media_type,
                    charset=resp.charset,
                    body=body,
                    truncated=truncated,
                )
        raise FetchError(f"More than {self.max_redirects} redirects.")


async def _read_limited(resp: aiohttp.ClientResponse, max_bytes: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(64 * 1024):
        room = max_bytes - size
        if len(chunk) > room:
            chunks.append(chunk[:room])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False
