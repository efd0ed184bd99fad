"""What a visitor of a short link gets (API.md §14).

The redirect handler keeps the common case short: a Host compare, one LRU
read, one cached user-agent verdict, an append to the click buffer and a 302.
Everything else (targeting, expiry, click limits, passwords, pages, crawlers,
HEAD) takes :meth:`Edge._visit`."""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Callable
from typing import Any, Final

import aiohttp
import orjson
import redis.asyncio as aioredis
from aiohttp import web
from multidict import MultiDictProxy

from services.links.edge import pages
from services.links.edge.click_buffer import ClickBuffer
from services.links.edge.entries import DomainEntry, LinkEntry
from services.links.edge.expiry_notices import ExpiryNotices
from services.links.edge.geoip import CountryReader
from services.links.edge.pages import NO_STORE
from services.links.edge.snapshots import SnapshotStore
from services.links.edge.stats import EdgeStats
from services.links.edge.tokens import (
    CSRF_COOKIE,
    PASSWORD_COOKIE_SECONDS,
    Signer,
    password_cookie_name,
)
from services.links.edge.visitor import (
    UserAgentInfo,
    UserAgents,
    accepted_languages,
    country_code,
)
from shared import identity
from shared.dependencies import report_failure
from shared.forwarded import client_address, forwarded_for
from shared.ip_countries import registry_country
from shared.passwords import verify_password_async
from shared.settings import Settings

log = logging.getLogger("edge.visits")

ALIAS_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")
HOST_RE: Final = re.compile(r"[a-z0-9.\-]{1,253}(:\d{1,5})?|\[[0-9a-f:.]{2,45}\](:\d{1,5})?")
MAX_PASSWORD_LENGTH: Final = 1024
PASSWORD_ATTEMPTS: Final = 5  # wrong passwords per visitor address per link...
PASSWORD_WINDOW: Final = 15 * 60  # ...per this many seconds
OVERLAY_SUBMISSIONS: Final = 10  # overlay forms per visitor address per link...
OVERLAY_WINDOW: Final = 3600  # ...per hour
EMAIL_RE: Final = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{2,63}")
CONTACTS_PATH: Final = "/internal/contacts/submit"

# INCR with a window that starts at the first hit, in one round trip.
_COUNT_IN_WINDOW: Final = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('TTL', KEYS[1])}
"""


def is_address(host: str) -> bool:
    """True for an IP literal Host (``203.0.113.5``, ``203.0.113.5:8080``, ``[::1]:80``)."""
    if host.startswith("["):
        name = host[1:].partition("]")[0]
    else:
        name = host.rpartition(":")[0] if host.count(":") == 1 else host
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Edge:
    """The visitor-facing handlers and what they share. Resources (Redis, the click
    buffer, the GeoIP reader, the accounts client) are attached at startup."""

    def __init__(self, settings: Settings, store: SnapshotStore, stats: EdgeStats) -> None:
        self.settings = settings
        self.store = store
        self.link_cache = store.link_cache
        self.stats = stats
        self.uas = UserAgents()
        self.signer = Signer(settings.internal_secret)
        self.public_host = settings.public_host
        self.public_host_default = settings.public_host
        self.public_https = settings.public_base_url.startswith("https://")
        self.trusted_hops = settings.trusted_proxy_hops
        self.country_header = settings.trusted_country_header
        # The visitor's address is the peer and no country is looked up (no GeoIP
        # reader either, see attach): the redirect records its click inline.
        self.plain_visitors = not self.trusted_hops and self.country_header is None
        self.prefix = settings.redis_prefix
        self.redis: aioredis.Redis | None = None
        self.clicks: ClickBuffer | None = None
        self.geoip: CountryReader | None = None
        self.accounts: aiohttp.ClientSession | None = None
        self.expiry: ExpiryNotices | None = None  # announces link.expired
        # Renders a bio page (services/links/edge/bio.py, set by create_app).
        self.render_bio: Callable[[web.Request, LinkEntry], web.StreamResponse] | None = None
        self._count_script: Any = None

    def attach(
        self,
        redis: aioredis.Redis,
        clicks: ClickBuffer,
        geoip: CountryReader | None,
        accounts: aiohttp.ClientSession,
    ) -> None:
        self.redis = redis
        self.clicks = clicks
        self.geoip = geoip
        self.plain_visitors = self.plain_visitors and geoip is None
        self.accounts = accounts
        self._count_script = redis.register_script(_COUNT_IN_WINDOW)

    # -- GET|HEAD /<alias> -------------------------------------------------------

    async def visit(self, request: web.Request) -> web.StreamResponse:
        try:
            headers = request.headers
            alias = request.match_info["alias"]
            host = headers.get("Host", "")
            domain: DomainEntry | None = None
            if host == self.public_host:
                suffix = "link:_:" + alias
            else:
                domain = await self._domain(host)
                if domain is not None and not domain.live:
                    return self._not_found(domain)
                suffix = f"link:{domain.host}:{alias}" if domain else "link:_:" + alias
            entry = self.link_cache.get(suffix)
            if entry.__class__ is not LinkEntry:
                entry = await self.store.link(suffix) if ALIAS_RE.fullmatch(alias) else None
                if entry is None:
                    return self._not_found(domain)
            assert isinstance(entry, LinkEntry)
            ua = headers.get("User-Agent", "")
            info = self.uas.get(ua)
            if entry.simple and not info.crawler and request.method == "GET":
                location = entry.location
                if self.plain_visitors:  # no proxies to trust, no country to find
                    self.clicks.add(  # type: ignore[union-attr]
                        entry,
                        location,
                        request.remote or "",
                        info.json,
                        headers.get("Referer"),
                        headers.get("Accept-Language"),
                        None,
                    )
                else:
                    self._record(request, entry, location, info)
                return web.Response(
                    status=302, headers={"Location": location, "Cache-Control": NO_STORE}
                )
            return await self._visit(request, entry, info, domain)
        except Exception as exc:
            report_failure(request.app, exc, log, "visit of %s failed", request.path)
            return pages.unavailable_page()

    async def visit_entry(
        self, request: web.Request, entry: LinkEntry, info: UserAgentInfo
    ) -> web.StreamResponse:
        """The whole visit path (expiry, password, targeting, pages, counting) for a
        link reached another way than its own alias: a campaign's rotator."""
        return await self._visit(request, entry, info, None)

    async def _visit(
        self,
        request: web.Request,
        entry: LinkEntry,
        info: UserAgentInfo,
        domain: DomainEntry | None,
    ) -> web.StreamResponse:
        if entry.expires is not None and entry.expires <= time.time():
            return self._expired(entry)
        counted = request.method == "GET" and not info.crawler
        if info.crawler and entry.meta is not None:
            if entry.clicklimit is not None and await self._clicks_used(entry) >= entry.clicklimit:
                return self._expired(entry)
            self.stats.not_counted += 1
            # A protected link's destination is not given away in its preview.
            destination = None if entry.password else entry.destination(entry.url)
            return pages.meta_page(entry, self._short_url(request, entry), destination)
        if entry.password is not None and not self.signer.password_ok(entry, request.cookies):
            self.stats.not_counted += 1
            return self._password_form(request, entry)
        return await self._proceed(request, entry, info, counted, 302)

    async def _proceed(
        self,
        request: web.Request,
        entry: LinkEntry,
        info: UserAgentInfo,
        counted: bool,
        status: int,
    ) -> web.StreamResponse:
        """Click limit, destination, answer and (if ``counted``, or a crawler's GET)
        the click event: analytics stores a crawler's flagged as a bot, counted
        in ``botClicks`` and in no other number."""
        if entry.clicklimit is not None:
            if counted:
                assert self.redis is not None
                used = int(await self.redis.incr(self._clicks_key(entry)))
                if used > entry.clicklimit:
                    return self._expired(entry)
            elif await self._clicks_used(entry) >= entry.clicklimit:
                return self._expired(entry)
        raw = self._choose(request, entry, info) if entry.targeted else entry.url
        destination = entry.destination(raw)
        response = self._answer(request, entry, destination, status)
        if counted or (info.crawler and request.method == "GET"):
            self._record(request, entry, destination, info)
        if not counted:
            self.stats.not_counted += 1
        elif response.status != status:
            self.stats.pages += 1
        return response

    def _answer(
        self, request: web.Request, entry: LinkEntry, destination: str, status: int
    ) -> web.StreamResponse:
        page = entry.page
        if page == "bio" and self.render_bio is not None:
            return self.render_bio(request, entry)
        web_destination = destination.lower().startswith(("http://", "https://"))
        if page == "splash":
            return pages.splash_page(entry, destination, entry.splash)
        if page == "overlay" and web_destination:
            nonce, fresh = self._csrf_nonce(request)
            token = self.signer.csrf_token(nonce, entry.id, "overlay")
            response = pages.overlay_page(entry, destination, f"/{entry.alias}/overlay", token)
            if fresh:
                self._set_csrf_cookie(request, response, nonce)
            return response
        if page in ("frame", "overlay") and web_destination:
            return pages.frame_page(entry, destination)
        if entry.pixels:
            return pages.pixel_page(entry, destination)
        return web.Response(
            status=status, headers={"Location": destination, "Cache-Control": NO_STORE}
        )

    def _choose(self, request: web.Request, entry: LinkEntry, info: UserAgentInfo) -> str:
        """Deep link → geo → device → language → the link's URL; first match wins."""
        if entry.apple or entry.google:
            devices = info.devices
            if entry.apple and "ios" in devices:
                return entry.apple
            if entry.google and "android" in devices:
                return entry.google
        if entry.geo:
            country = self._country(request, self._ip(request))
            found = entry.geo.get(country) if country else None
            if found:
                return found
        if entry.device:
            devices = info.devices
            for name, link in entry.device:
                if name in devices:
                    return link
        if entry.language:
            header = request.headers.get("Accept-Language")
            if header:
                for code in accepted_languages(header[:512]):
                    found = entry.language.get(code)
                    if found:
                        return found
        return entry.url

    # -- what a click event carries ------------------------------------------------

    def _ip(self, request: web.Request) -> str:
        peer = request.remote or ""
        if self.trusted_hops:
            return client_address(peer, forwarded_for(request.headers), self.trusted_hops)
        return peer

    def _country(self, request: web.Request, ip: str) -> str | None:
        if self.country_header is not None:
            return country_code(request.headers.get(self.country_header))
        if self.geoip is not None and ip:
            return self.geoip.country(ip)
        # No database configured: the registries' data (the click event leaves it
        # empty and the worker looks it up there, off the redirect's path).
        return registry_country(ip) if ip else None

    def _record(
        self, request: web.Request, entry: LinkEntry, destination: str, info: UserAgentInfo
    ) -> None:
        headers = request.headers
        ip = self._ip(request) if self.trusted_hops else (request.remote or "")
        assert self.clicks is not None
        self.clicks.add(
            entry,
            destination,
            ip,
            info.json,
            headers.get("Referer"),
            headers.get("Accept-Language"),
            None
            if self.country_header is None and self.geoip is None
            else self._country(request, ip),
        )

    # -- lookups and plain answers -----------------------------------------------------

    async def _domain(self, host: str) -> DomainEntry | None:
        """The branded domain a Host names, or ``None`` for the default domain.

        The public host and address literals (a load balancer's health check,
        a visitor typing the IP) are never looked up: no domain is an address."""
        name = self.domain_name(host)
        return None if name is None else await self.store.domain(name)

    def domain_name(self, host: str) -> str | None:
        """The branded domain name a Host header names, or ``None`` for the default domain."""
        host = host.lower().rstrip(".")
        if host.endswith((":80", ":443")):  # domains are stored without default ports
            host = host.rpartition(":")[0].rstrip(".")
        if not host or host == self.public_host or not HOST_RE.fullmatch(host):
            return None
        if is_address(host):
            return None
        return host

    async def _entry(self, request: web.Request) -> tuple[LinkEntry | None, DomainEntry | None]:
        alias = request.match_info["alias"]
        domain = await self._domain(request.headers.get("Host", ""))
        if not ALIAS_RE.fullmatch(alias) or (domain is not None and not domain.live):
            return None, domain
        host = domain.host if domain else "_"
        return await self.store.link(f"link:{host}:{alias}"), domain

    def _not_found(self, domain: DomainEntry | None) -> web.StreamResponse:
        self.stats.not_found += 1
        if domain is not None and domain.notfound:
            return web.Response(
                status=302, headers={"Location": domain.notfound, "Cache-Control": NO_STORE}
            )
        return pages.not_found_page()

    def _expired(self, entry: LinkEntry) -> web.StreamResponse:
        self.stats.expired += 1
        if self.expiry is not None:
            self.expiry.notice(entry)
        if entry.expiredirect:
            return web.Response(
                status=302, headers={"Location": entry.expiredirect, "Cache-Control": NO_STORE}
            )
        return pages.expired_page()

    def _clicks_key(self, entry: LinkEntry) -> str:
        return f"{self.prefix}clicks:{entry.id}"

    async def _clicks_used(self, entry: LinkEntry) -> int:
        assert self.redis is not None
        value = await self.redis.get(self._clicks_key(entry))
        return int(value or 0)

    def _short_url(self, request: web.Request, entry: LinkEntry) -> str:
        if entry.host == "_":
            return f"{self.settings.public_base_url}/{entry.alias}"
        scheme = "https" if self._https(request) else "http"
        return f"{scheme}://{entry.host}/{entry.alias}"

    def _https(self, request: web.Request) -> bool:
        if request.secure:
            return True
        if self.trusted_hops and request.headers.get("X-Forwarded-Proto") == "https":
            return True
        host = request.headers.get("Host", "").lower()
        return self.public_https and host == self.public_host

    # -- GET / -----------------------------------------------------------------------

    async def root(self, request: web.Request) -> web.StreamResponse:
        try:
            domain = await self._domain(request.headers.get("Host", ""))
        except Exception as exc:
            report_failure(request.app, exc, log, "domain lookup failed")
            return pages.unavailable_page()
        if domain is not None and not domain.live:
            return self._not_found(domain)
        if domain is not None and domain.root:
            return web.Response(
                status=302, headers={"Location": domain.root, "Cache-Control": NO_STORE}
            )
        return pages.home_page()

    async def unknown(self, request: web.Request) -> web.StreamResponse:
        self.stats.not_found += 1
        return pages.not_found_page()

    # -- passwords -------------------------------------------------------------------

    def _csrf_nonce(self, request: web.Request) -> tuple[str, bool]:
        """The visitor's CSRF cookie value, or a new one (``True``: set it)."""
        current = request.cookies.get(CSRF_COOKIE)
        # Ours are ASCII; any other bytes a cookie carries cannot be signed.
        if current and 16 <= len(current) <= 64 and current.isascii():
            return current, False
        return self.signer.new_csrf_nonce(), True

    def _set_csrf_cookie(
        self, request: web.Request, response: web.StreamResponse, nonce: str
    ) -> None:
        response.set_cookie(
            CSRF_COOKIE,
            nonce,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=self._https(request),
        )

    def _password_form(
        self,
        request: web.Request,
        entry: LinkEntry,
        *,
        error: str | None = None,
        status: int = 200,
    ) -> web.StreamResponse:
        nonce, fresh = self._csrf_nonce(request)
        token = self.signer.csrf_token(nonce, entry.id, "pw")
        response = pages.password_page(f"/{entry.alias}", token, error=error, status=status)
        if fresh:
            self._set_csrf_cookie(request, response, nonce)
        return response

    async def _count_in_window(self, key: str, window: int) -> tuple[int, int]:
        used, ttl = await self._count_script(keys=[key], args=[window])
        return int(used), int(ttl)

    async def submit_password(self, request: web.Request) -> web.StreamResponse:
        """POST /<alias>: the password form."""
        try:
            entry, domain = await self._entry(request)
            if entry is None:
                return self._not_found(domain)
            if entry.password is None:
                return pages.method_not_allowed_page()
            if entry.expires is not None and entry.expires <= time.time():
                return self._expired(entry)
            form = await _form(request)
            if form is None:
                return self._password_form(
                    request,
                    entry,
                    error="The form could not be read. Please try again.",
                    status=400,
                )
            if not self.signer.csrf_ok(
                request.cookies.get(CSRF_COOKIE), entry.id, "pw", _field(form, "csrf", 100)
            ):
                return self._password_form(
                    request, entry, error="This form has expired. Please try again.", status=403
                )
            password = _field(form, "password", MAX_PASSWORD_LENGTH) or ""
            key = f"{self.prefix}pwfail:{self._ip(request)}:{entry.id}"
            used, ttl = await self._count_in_window(key, PASSWORD_WINDOW)
            if used > PASSWORD_ATTEMPTS:
                return pages.too_many_attempts_page(ttl if ttl > 0 else PASSWORD_WINDOW)
            if not await verify_password_async(password, entry.password):
                return self._password_form(
                    request, entry, error="Wrong password. Please try again.", status=403
                )
            assert self.redis is not None
            await self.redis.decr(key)  # only wrong answers count against the visitor
            info = self.uas.get(request.headers.get("User-Agent", ""))
            response = await self._proceed(request, entry, info, not info.crawler, 303)
            response.set_cookie(
                password_cookie_name(entry.id),
                self.signer.password_cookie(entry),
                max_age=PASSWORD_COOKIE_SECONDS,
                path=f"/{entry.alias}",
                httponly=True,
                samesite="Lax",
                secure=self._https(request),
            )
            return response
        except Exception as exc:
            report_failure(request.app, exc, log, "password submission for %s failed", request.path)
            return pages.unavailable_page()

    # -- overlays ----------------------------------------------------------------------

    async def submit_overlay(self, request: web.Request) -> web.StreamResponse:
        """POST /<alias>/overlay: a contact or newsletter overlay's form."""
        try:
            entry, domain = await self._entry(request)
            overlay = entry.overlay if entry is not None else None
            if entry is None or overlay is None or overlay.kind not in ("contact", "newsletter"):
                return self._not_found(domain)
            back = f"/{entry.alias}"
            form = await _form(request)
            if form is None or not self.signer.csrf_ok(
                request.cookies.get(CSRF_COOKIE), entry.id, "overlay", _field(form, "csrf", 100)
            ):
                return pages.message_page(
                    403, "Form expired", "This form has expired. Please try again.", back
                )
            email = (_field(form, "email", 254) or "").strip()
            if not EMAIL_RE.fullmatch(email):
                return pages.message_page(
                    400, "Check your email", "Please enter a valid email address.", back
                )
            used, _ = await self._count_in_window(
                f"{self.prefix}overlay:{self._ip(request)}:{entry.id}", OVERLAY_WINDOW
            )
            if used > OVERLAY_SUBMISSIONS:
                return pages.message_page(
                    429, "Too many submissions", "Please try again later.", back
                )
            body = {
                "owner_id": entry.owner,
                "group_id": overlay.group,
                "name": (_field(form, "name", 200) or "").strip(),
                "surname": (_field(form, "surname", 200) or "").strip(),
                "email": email,
                "gsm": (_field(form, "gsm", 32) or "").strip(),
            }
            if not await self._submit_contact(body):
                return pages.message_page(
                    502, "Not saved", "Your details could not be saved. Please try again.", back
                )
            return pages.message_page(200, "Thank you", "Your details have been received.", back)
        except Exception as exc:
            report_failure(request.app, exc, log, "overlay submission for %s failed", request.path)
            return pages.unavailable_page()

    async def _submit_contact(self, body: dict[str, Any]) -> bool:
        assert self.accounts is not None
        data = orjson.dumps(body)  # signed as sent
        headers = identity.signed_headers(
            identity.SERVICE, self.settings.internal_secret, "POST", CONTACTS_PATH, data
        )
        headers["Content-Type"] = "application/json"
        try:
            async with self.accounts.post(
                self.settings.accounts_url + CONTACTS_PATH, data=data, headers=headers
            ) as resp:
                if resp.status != 200:
                    log.warning("accounts refused an overlay contact: HTTP %s", resp.status)
                    return False
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("accounts unreachable for an overlay contact: %s", exc)
            return False
        return isinstance(data, dict) and data.get("error") == 0


async def _form(request: web.Request) -> MultiDictProxy[Any] | None:
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return None
    try:
        return await request.post()
    except (ValueError, web.HTTPException):
        return None


def _field(form: MultiDictProxy[Any], name: str, limit: int) -> str | None:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else None
