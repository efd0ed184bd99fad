"""What the stats show, derived from what the edge saw: browser, OS and device
type (ua-parser), bots (crawlerdetect), country and city (the edge's field, else
a MaxMind database), referrer host and social network, first language, an
anonymised IP and a daily-salted visitor hash.

Everything derived from a string the visitor controls is cached per string, so
a stream of clicks from the same few browsers costs one parse each."""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import maxminddb
import ua_parser
from crawlerdetect import CrawlerDetect

from shared.countries import country_code
from shared.events import ClickRecorded, Event, MalformedEvent
from shared.ip_countries import registry_country

DIRECT: Final = "Direct, email and other"
SOCIAL_NETWORKS: Final = ("facebook", "twitter", "instagram", "linkedin", "google")
MAX_ID: Final = 2**63 - 1

# Hosts (and their subdomains) of each network counted in socialCount.
_SOCIAL_HOSTS: Final[dict[str, str]] = {
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "fb.me": "facebook",
    "twitter.com": "twitter",
    "x.com": "twitter",
    "t.co": "twitter",
    "instagram.com": "instagram",
    "linkedin.com": "linkedin",
    "lnkd.in": "linkedin",
}
# The apps' own referrers (``android-app://<package>``).
_SOCIAL_APPS: Final[dict[str, str]] = {
    "com.facebook.katana": "facebook",
    "com.facebook.lite": "facebook",
    "com.twitter.android": "twitter",
    "com.instagram.android": "instagram",
    "com.linkedin.android": "linkedin",
    "com.google.android.googlequicksearchbox": "google",
}
_GOOGLE_RE: Final = re.compile(r"(?:^|\.)google\.(?:[a-z]{2,3})(?:\.[a-z]{2})?$")
_HOST_RE: Final = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}\.?)*$")
_LANGUAGE_RE: Final = re.compile(r"^[a-z]{2,3}$")
_MOBILE_OS: Final = frozenset(
    {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS", "Tizen"}
)
_SALT_CONTEXT: Final = b"analytics visitor salt\x00"


@dataclass(frozen=True, slots=True)
class Agent:
    browser: str
    os: str
    device: str  # Desktop, Mobile, Tablet or Bot
    is_bot: bool


@dataclass(frozen=True, slots=True)
class Click:
    """One click event, enriched and anonymised: what a raw row holds."""

    event_id: str
    occurred_at: datetime
    link_id: int
    owner_id: int
    source: str
    qr_id: int | None
    campaign_id: int | None
    ip_prefix: str | None
    visitor_hash: bytes
    country: str  # ISO code, "" when unknown
    city: str
    browser: str
    os: str
    device: str
    referrer: str  # host, "" for direct
    social: str | None
    language: str
    is_bot: bool
    day: date  # of occurred_at, UTC: the unique-visitor window
    month: date  # its first day: the quota period
    block_id: int | None = None  # a click on a bio page's block, not a view of the page


def anonymise_ip(raw: str) -> str | None:
    """The network of an address: IPv4 /24, IPv6 /48 (IPv4-mapped IPv6 as IPv4)."""
    text = raw.strip()
    parts = text.split(".")
    if len(parts) == 4 and all(p.isascii() and p.isdigit() and len(p) <= 3 for p in parts):
        # The common case, without ipaddress's cost; leading zeros are refused there too.
        if all(int(p) <= 255 and (p == "0" or p[0] != "0") for p in parts):
            return f"{int(parts[0])}.{int(parts[1])}.{int(parts[2])}.0/24"
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def first_language(header: str | None) -> str:
    """The primary subtag of the first language in Accept-Language (``en-US,fr`` → ``en``)."""
    if not header:
        return ""
    first = header.split(",", 1)[0].split(";", 1)[0].strip().lower()
    primary = first.split("-", 1)[0]
    return primary if _LANGUAGE_RE.match(primary) else ""


def referrer_host(raw: str | None) -> tuple[str, str | None]:
    """``(host, social network)`` of a Referer; ``("", None)`` for direct, email and other."""
    if not raw:
        return "", None
    try:
        parts = urlsplit(raw.strip())
        if parts.scheme in ("http", "https"):
            host = parts.hostname or ""
        elif parts.scheme == "android-app":
            package = parts.netloc.lower()
            return (package, _SOCIAL_APPS.get(package)) if _HOST_RE.match(package) else ("", None)
        else:
            return "", None
        host = host.rstrip(".").encode("idna").decode("ascii").lower()
    except (ValueError, UnicodeError):
        return "", None
    host = host.removeprefix("www.")
    if not host or len(host) > 253 or not _HOST_RE.match(host):
        return "", None
    return host, social_network(host)


def social_network(host: str) -> str | None:
    if _GOOGLE_RE.search(host):
        return "google"
    labels = host.split(".")
    for start in range(len(labels) - 1):
        network = _SOCIAL_HOSTS.get(".".join(labels[start:]))
        if network is not None:
            return network
    return None


def _os_name(os: Any) -> str:
    if os is None:
        return "Other"
    if os.family == "Windows" and os.major:
        return f"Windows {os.major}"
    return str(os.family)[:64]


def _device_type(result: Any, user_agent: str) -> str:
    device = result.device
    os_family = result.os.family if result.os is not None else ""
    lowered = user_agent.lower()
    if (
        (
            device is not None
            and (device.family == "iPad" or "tablet" in (device.brand or "").lower())
        )
        or "tablet" in lowered
        or (os_family == "Android" and "mobile" not in lowered)
    ):
        return "Tablet"
    if os_family in _MOBILE_OS or "mobi" in lowered:
        return "Mobile"
    return "Desktop"


class Enricher:
    """Per-process enrichment with its caches and the (optional) GeoIP reader."""

    def __init__(
        self, secret: str, geoip_db: str | None = None, *, cache_size: int = 20_000
    ) -> None:
        self._secret = secret.encode()
        self._crawlers = CrawlerDetect()
        self._salts: dict[date, bytes] = {}
        self._geo: Any = maxminddb.open_database(geoip_db) if geoip_db else None
        self._geo_has_city = bool(
            self._geo is not None and "City" in str(self._geo.metadata().database_type)
        )
        self.agent = functools.lru_cache(maxsize=cache_size)(self._agent)
        self.referrer = functools.lru_cache(maxsize=cache_size)(referrer_host)
        self.language = functools.lru_cache(maxsize=1024)(first_language)
        self.network = functools.lru_cache(maxsize=cache_size)(anonymise_ip)

    def close(self) -> None:
        if self._geo is not None:
            self._geo.close()

    def warm_up(self) -> None:
        """Load ua-parser's rules now rather than on the first click."""
        self.agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36")

    def _agent(self, user_agent: str) -> Agent:
        user_agent = user_agent.replace("\x00", "")  # Postgres text cannot hold it
        if not user_agent.strip():
            return Agent("Other", "Other", "Bot", True)  # browsers always send one
        result = ua_parser.parse(user_agent)
        browser = result.user_agent.family[:64] if result.user_agent is not None else "Other"
        os_name = _os_name(result.os)
        is_bot = self._crawlers.is_crawler(user_agent) or (
            result.device is not None and result.device.family == "Spider"
        )
        device = "Bot" if is_bot else _device_type(result, user_agent)
        return Agent(browser, os_name, device, is_bot)

    def location(self, country: str | None, ip: str) -> tuple[str, str]:
        """``(ISO code or "", city or "")``: the edge's country, else the GeoIP database,
        else the registries' data (a fresh install has no database)."""
        code = country_code(country) if country else None
        city = ""
        if self._geo is not None and (code is None or self._geo_has_city):
            record = self._lookup(ip)
            if record is not None:
                if code is None:
                    found = (record.get("country") or record.get("registered_country") or {}).get(
                        "iso_code"
                    )
                    code = country_code(found) if isinstance(found, str) else None
                names = (record.get("city") or {}).get("names") or {}
                name = names.get("en")
                # A city only when it lies in the country reported.
                if isinstance(name, str) and code is not None:
                    record_code = (record.get("country") or {}).get("iso_code")
                    if record_code in (None, code):
                        city = name[:100]
        if code is None and ip:
            code = registry_country(ip)
        return code or "", city

    def _lookup(self, ip: str) -> dict[str, Any] | None:
        try:
            record = self._geo.get(ip.strip())
        except ValueError:
            return None
        return record if isinstance(record, dict) else None

    def salt(self, day: date) -> bytes:
        """The day's salt, derived from the secret: nothing to store, the same in
        every worker, and the hashes of different days cannot be linked."""
        salt = self._salts.get(day)
        if salt is None:
            if len(self._salts) > 8:
                self._salts.clear()
            salt = hmac.new(
                self._secret, _SALT_CONTEXT + day.isoformat().encode(), hashlib.sha256
            ).digest()
            self._salts[day] = salt
        return salt

    def visitor_hash(self, ip: str, user_agent: str, day: date) -> bytes:
        message = f"{ip.strip()}\x00{user_agent}".encode(errors="replace")
        return hmac.digest(self.salt(day), message, "sha256")[:16]

    def enrich(self, event: Event, click: ClickRecorded) -> Click:
        if not event.id.isprintable():
            raise MalformedEvent("event id must be printable")
        if not 0 < click["link_id"] <= MAX_ID or not 0 < click["owner_id"] <= MAX_ID:
            raise MalformedEvent("link_id and owner_id must be positive 64-bit integers")
        for value, name in (
            (click["qr_id"], "qr_id"),
            (click["campaign_id"], "campaign_id"),
            (click.get("block_id"), "block_id"),
        ):
            if value is not None and not 0 < value <= MAX_ID:
                raise MalformedEvent(f"{name} must be a positive 64-bit integer")
        occurred_at = event.occurred_at.astimezone(UTC)
        ip, user_agent = click["ip"], click["user_agent"]
        agent = self.agent(user_agent)
        host, social = self.referrer(click["referrer"])
        country, city = self.location(click["country"], ip)
        return Click(
            event_id=event.id,
            occurred_at=occurred_at,
            link_id=click["link_id"],
            owner_id=click["owner_id"],
            source=click["source"],
            qr_id=click["qr_id"],
            campaign_id=click["campaign_id"],
            ip_prefix=self.network(ip),
            visitor_hash=self.visitor_hash(ip, user_agent, occurred_at.date()),
            country=country,
            city=city,
            browser=agent.browser,
            os=agent.os,
            device=agent.device,
            referrer=host,
            social=social,
            language=self.language(click["accept_language"]),
            is_bot=agent.is_bot,
            day=occurred_at.date(),
            month=occurred_at.date().replace(day=1),
            block_id=click.get("block_id"),
        )
