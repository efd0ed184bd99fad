"""Who is visiting: crawler or person, device and OS, country, languages and
address. User-agent verdicts are cached per distinct string (both parsers are
regex-heavy) in a bounded map."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

import orjson
from crawlerdetect import CrawlerDetect
from ua_parser import parse_device, parse_os

UA_CACHE_SIZE: Final = 20_000
MAX_UA_LENGTH: Final = 1024
_COUNTRY_RE: Final = re.compile(r"[A-Za-z]{2}")
_LINUX_FAMILIES: Final = frozenset(
    {
        "linux",
        "ubuntu",
        "debian",
        "fedora",
        "red hat",
        "suse",
        "opensuse",
        "gentoo",
        "mint",
        "linux mint",
        "arch linux",
        "centos",
        "slackware",
        "mandriva",
        "kubuntu",
        "xubuntu",
    }
)


def valid_text(value: str) -> str:
    """``value`` as valid UTF-8 text: the bytes a header carried that were not UTF-8
    (aiohttp keeps them as lone surrogates, which no JSON encoder accepts) become
    U+FFFD."""
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # surrogates that never were bytes
        raw = value.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def devices_of(user_agent: str) -> tuple[str, ...]:
    """The lower-cased device names of ``devicetarget`` that fit this visitor."""
    os_family = (parse_os(user_agent) or _NO_FAMILY).family.lower()
    device = parse_device(user_agent)
    device_family = (device.family if device else "").lower()
    brand = ((device.brand if device else None) or "").lower()
    found: list[str] = []
    if os_family == "ios":
        for name in ("iphone", "ipad", "ipod"):
            if device_family.startswith(name):
                found.append(name)
        found.append("ios")
    elif os_family == "android":
        if "kindle" in device_family or brand == "amazon":
            found.append("kindle")
        found.append("android")
    elif os_family == "windows phone":
        found.append("windows phone")
    elif os_family.startswith("windows"):
        found.append("windows")
    elif os_family in ("mac os x", "macos", "mac os"):
        found.append("macintosh")
    elif os_family == "chrome os":
        found.append("chrome os")
    elif os_family.startswith("blackberry") or "blackberry" in device_family:
        found.append("blackberry")
    elif os_family in _LINUX_FAMILIES:
        found.append("linux")
    if "kindle" in device_family and "kindle" not in found:
        found.append("kindle")
    return tuple(found)


class _NoFamily:
    family = ""


_NO_FAMILY: Final = _NoFamily()


class UserAgentInfo:
    """The verdicts for one user-agent string; device names are parsed on first use
    (only links with device targets or deep links need them)."""

    __slots__ = ("_devices", "crawler", "json", "user_agent")

    def __init__(self, user_agent: str, crawler: bool) -> None:
        self.user_agent = user_agent
        self.crawler = crawler
        self.json = orjson.dumps(user_agent)  # as click events carry it
        self._devices: tuple[str, ...] | None = None

    @property
    def devices(self) -> tuple[str, ...]:
        if self._devices is None:
            self._devices = devices_of(self.user_agent)
        return self._devices


class UserAgents:
    """Verdicts per user-agent string. A hit is one dict lookup (this runs on every
    redirect); when full, the oldest verdicts go first (a popular string that is
    dropped is simply parsed again)."""

    def __init__(self, capacity: int = UA_CACHE_SIZE) -> None:
        self._cache: dict[str, UserAgentInfo] = {}
        self._capacity = max(1, capacity)
        self._detector = CrawlerDetect()

    def warm_up(self) -> None:
        """Compile both parsers' patterns before the first visitor pays for it."""
        self._detector.is_crawler("Mozilla/5.0 warm-up")
        devices_of("Mozilla/5.0 (X11; Linux x86_64) warm-up")

    def get(self, user_agent: str) -> UserAgentInfo:
        info = self._cache.get(user_agent)
        if info is None:
            info = self._classify(user_agent)
        return info

    def _classify(self, user_agent: str) -> UserAgentInfo:
        ua = valid_text(user_agent[:MAX_UA_LENGTH])
        info = UserAgentInfo(ua, bool(ua.strip()) and bool(self._detector.is_crawler(ua)))
        cache = self._cache
        if len(cache) >= self._capacity:
            del cache[next(iter(cache))]
        cache[user_agent] = info
        return info


def accepted_languages(header: str) -> list[str]:
    """Primary language subtags of ``Accept-Language``, most wanted first (q=0 dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:30]):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().split("-")[0].lower()
        if not code or code == "*":
            continue
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if q > 0:
            ranked.append((-q, position, code))
    ranked.sort()
    return [code for _, _, code in ranked]


def country_code(value: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code, upper-cased, or ``None``."""
    if value and _COUNTRY_RE.fullmatch(value):
        code = value.upper()
        return None if code in ("XX", "ZZ") else code
    return None


CountryLookup = Callable[[str], str | None]
