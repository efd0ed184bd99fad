"""Snapshots parsed once into small slotted objects, so that a cache hit costs
no JSON parsing and the common case (a plain link) is one attribute read.

A snapshot is whatever the links service wrote (``services/links/snapshot.py``);
anything malformed in it is skipped rather than trusted."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping
from typing import Any, Final

from services.links.edge.query_merge import header_safe, merge_parameters
from services.links.snapshot import link_key_suffix
from shared.events import ClickSource

PIXEL_TYPES: Final = frozenset(
    {
        "fbpixel",
        "gapixel",
        "gtmpixel",
        "adwordspixel",
        "linkedinpixel",
        "twitterpixel",
        "adrollpixel",
        "quorapixel",
        "pinterest",
        "bing",
        "snapchat",
        "reddit",
    }
)
# A pixel tag is an account or container id; anything else (quotes, angle brackets,
# spaces, script) is refused, not escaped into a script.
PIXEL_TAG_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}")
_UNSAFE_SCHEMES: Final = frozenset({"javascript", "data", "vbscript", "file", "blob"})
_SCHEME_RE: Final = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.\-]*):")
_CSS_COLOR_RE: Final = re.compile(r"#[0-9A-Fa-f]{3,8}|[A-Za-z]{3,20}")


def safe_url(value: Any) -> str | None:
    """A URL a page may link to: a string whose scheme cannot run script."""
    if not isinstance(value, str) or not value or len(value) > 8192:
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()
    match = _SCHEME_RE.match(cleaned)
    if match and match.group(1).lower() in _UNSAFE_SCHEMES:
        return None
    return header_safe(cleaned)


def web_url(value: Any) -> str | None:
    """An http(s) URL (what may be framed, refreshed to, or shown as an image)."""
    url = safe_url(value)
    if url is None or not url.lower().startswith(("http://", "https://")):
        return None
    return url


def _text(value: Any, limit: int = 2000) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class Meta:
    __slots__ = ("description", "image", "title")

    def __init__(self, title: str | None, description: str | None, image: str | None) -> None:
        self.title = title
        self.description = description
        self.image = image


class Pixel:
    __slots__ = ("kind", "tag")

    def __init__(self, kind: str, tag: str) -> None:
        self.kind = kind
        self.tag = tag


class Splash:
    __slots__ = ("button_text", "button_url", "delay", "image", "message", "title")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.title = _text(raw.get("title"), 200)
        self.message = _text(raw.get("message"), 5000)
        self.image = web_url(raw.get("image"))
        self.button_text = _text(raw.get("button_text"), 100)
        self.button_url = safe_url(raw.get("button_url"))
        delay = _int(raw.get("delay"))
        self.delay = 5 if delay is None else max(0, min(30, delay))


class Overlay:
    __slots__ = ("button_text", "button_url", "colors", "group", "kind", "name", "position", "text")

    KINDS: Final = frozenset({"message", "contact", "newsletter"})
    POSITIONS: Final = frozenset(
        {"top", "bottom", "top-left", "top-right", "bottom-left", "bottom-right"}
    )
    COLOR_KEYS: Final = frozenset({"bg", "text", "button", "button_text", "border"})

    def __init__(self, raw: Mapping[str, Any]) -> None:
        kind = raw.get("type")
        self.kind = kind if kind in self.KINDS else "message"
        self.name = _text(raw.get("name"), 200)
        self.text = _text(raw.get("text"), 5000)
        self.button_text = _text(raw.get("button_text"), 100)
        self.button_url = safe_url(raw.get("button_url"))
        position = raw.get("position")
        self.position = position if position in self.POSITIONS else "bottom"
        colors = raw.get("colors")
        self.colors: dict[str, str] = {}
        if isinstance(colors, Mapping):
            for key, value in colors.items():
                if (
                    key in self.COLOR_KEYS
                    and isinstance(value, str)
                    and _CSS_COLOR_RE.fullmatch(value)
                ):
                    self.colors[key] = value
        self.group = _int(raw.get("group"))


class LinkEntry:
    """One link, ready to answer: ``simple`` links (direct, no password, targeting,
    pixels, expiry or click limit) are answered from ``location`` alone."""

    __slots__ = (
        "alias",
        "apple",
        "bio",
        "block",
        "block_views",
        "campaign",
        "clicklimit",
        "device",
        "expiredirect",
        "expires",
        "geo",
        "google",
        "host",
        "id",
        "language",
        "location",
        "merged",
        "meta",
        "overlay",
        "owner",
        "page",
        "password",
        "password_fingerprint",
        "pixels",
        "qr",
        "redirect",
        "rotator_view",
        "simple",
        "source",
        "splash",
        "targeted",
        "url",
    )

    id: int
    owner: int
    host: str
    alias: str
    url: str
    location: str
    page: str | None
    password: str | None
    password_fingerprint: str
    expires: float | None
    clicklimit: int | None
    expiredirect: str | None
    meta: Meta | None
    apple: str | None
    google: str | None
    geo: dict[str, str] | None
    device: tuple[tuple[str, str], ...] | None
    language: dict[str, str] | None
    merged: dict[str, str] | None
    pixels: tuple[Pixel, ...]
    campaign: int | None
    qr: int | None  # the dynamic QR code this link backs: its visits are scans
    source: ClickSource  # what its click events say brought the visitor
    rotator_view: LinkEntry | None  # via_rotator's copy, made once per entry
    # The fast core's prebuilt 302 head (status line to Content-Length), made at
    # the first fast answer; b"" when ``location`` cannot go into a header as is.
    redirect: bytes | None
    splash: Splash | None
    overlay: Overlay | None
    # type bio: the page's content from the snapshot, made a BioPage on first use
    # (services/links/edge/bio.py); block: the bio block a click is on (via_block).
    bio: Any
    block: int | None
    block_views: dict[int, LinkEntry] | None
    targeted: bool
    simple: bool

    def destination(self, raw: str) -> str:
        """The ``Location`` for one of this link's destinations (parameters merged)."""
        if self.merged is None:
            return raw
        found = self.merged.get(raw)
        return found if found is not None else raw

    def via_rotator(self, campaign_id: int) -> LinkEntry:
        """This link as reached through a campaign's rotator: its clicks say so."""
        view = self.rotator_view
        if view is None or view.campaign != campaign_id:
            view = copy.copy(self)
            view.source = "rotator"
            view.campaign = campaign_id
            view.rotator_view = None
            self.rotator_view = view
        return view

    def via_block(self, block_id: int) -> LinkEntry:
        """This (bio page's) link as the target of a click on one of its blocks."""
        views = self.block_views
        if views is None:
            views = self.block_views = {}
        view = views.get(block_id)
        if view is None:
            view = copy.copy(self)
            view.block = block_id
            view.block_views = None
            views[block_id] = view
        return view


class CampaignEntry:
    """A campaign's rotator (``campaign:<slug>``): its links' snapshot key suffixes,
    in the stable order every replica rotates through."""

    __slots__ = ("id", "links", "owner", "public")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.id = _int(raw.get("id")) or 0
        self.owner = _int(raw.get("owner")) or 0
        self.public = raw.get("public") is True
        links: list[str] = []
        raw_links = raw.get("links")
        if isinstance(raw_links, list):
            for item in raw_links:
                if isinstance(item, Mapping):
                    host, alias = item.get("host"), item.get("alias")
                    if isinstance(host, str) and host and isinstance(alias, str) and alias:
                        links.append(link_key_suffix(host, alias))
        self.links: tuple[str, ...] = tuple(links)


class DomainEntry:
    __slots__ = ("host", "id", "live", "notfound", "owner", "root")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.id = _int(raw.get("id")) or 0
        self.owner = _int(raw.get("owner")) or 0
        self.host = str(raw.get("host") or "")
        # Not live (unverified, or deleted): nothing is served on this host, and
        # its owner's redirects are not followed. Older snapshots were all live.
        self.live = raw.get("live") is not False
        self.root = safe_url(raw.get("root")) if self.live else None
        self.notfound = safe_url(raw.get("notfound")) if self.live else None


def _rules(raw: Any, key: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(raw, list):
        for rule in raw:
            if isinstance(rule, Mapping):
                name, link = rule.get(key), safe_url(rule.get("link"))
                if isinstance(name, str) and name and link is not None:
                    found.append((name, link))
    return found


def _first_wins(pairs: list[tuple[str, str]]) -> dict[str, str] | None:
    table: dict[str, str] = {}
    for name, link in pairs:
        table.setdefault(name, link)
    return table or None


def password_fingerprint(password_hash: str) -> str:
    """Changes whenever the password does (the stored hash has a fresh salt)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def parse_link(raw: Mapping[str, Any]) -> LinkEntry | None:
    """The entry of a link snapshot, or ``None`` if it is unusable."""
    url = safe_url(raw.get("url"))
    link_id = _int(raw.get("id"))
    if url is None or link_id is None:
        return None
    e = LinkEntry()
    e.redirect = None
    e.id = link_id
    e.owner = _int(raw.get("owner")) or 0
    e.host = str(raw.get("host") or "_")
    e.alias = str(raw.get("alias") or "")
    e.url = url
    e.campaign = _int(raw.get("campaign"))
    e.qr = _int(raw.get("qr"))
    e.source = "qr" if e.qr is not None else "link"
    e.rotator_view = None

    kind = raw.get("type")
    kind = kind if isinstance(kind, str) else "direct"
    e.splash = e.overlay = None
    e.bio, e.block, e.block_views = None, None, None
    if kind == "bio" and isinstance(raw.get("bio"), Mapping):
        e.page = "bio"
        e.bio = raw["bio"]
    elif kind == "frame":
        e.page = "frame"
    elif kind == "splash" or kind.startswith("splash-"):
        e.page = "splash"
        custom = raw.get("splash")
        if kind != "splash" and isinstance(custom, Mapping):
            e.splash = Splash(custom)
    elif kind.startswith("overlay-"):
        custom = raw.get("overlay")
        e.page = "overlay" if isinstance(custom, Mapping) else "frame"
        if isinstance(custom, Mapping):
            e.overlay = Overlay(custom)
    else:
        e.page = None

    password = raw.get("password")
    e.password = password if isinstance(password, str) and password else None
    e.password_fingerprint = password_fingerprint(e.password) if e.password else ""
    e.expires = _float(raw.get("expires"))
    limit = _int(raw.get("clicklimit"))
    e.clicklimit = limit if limit is not None and limit > 0 else None
    e.expiredirect = safe_url(raw.get("expiredirect"))

    meta = raw.get("meta")
    e.meta = None
    if isinstance(meta, Mapping):
        title, description = _text(meta.get("title"), 300), _text(meta.get("description"), 1000)
        image = web_url(meta.get("image"))
        if title or description or image:
            e.meta = Meta(title, description, image)

    deeplink = raw.get("deeplink")
    e.apple = e.google = None
    if isinstance(deeplink, Mapping) and deeplink.get("auto") is True:
        e.apple = safe_url(deeplink.get("apple"))
        e.google = safe_url(deeplink.get("google"))
    geo = _rules(raw.get("geo"), "location")
    e.geo = _first_wins([(code.upper(), link) for code, link in geo])
    device = _rules(raw.get("device"), "device")
    e.device = tuple((name.lower(), link) for name, link in device) or None
    language = _rules(raw.get("language"), "language")
    e.language = _first_wins([(code.lower().split("-")[0], link) for code, link in language])
    e.targeted = bool(e.apple or e.google or e.geo or e.device or e.language)

    parameters: list[tuple[str, str]] = []
    raw_parameters = raw.get("parameters")
    if isinstance(raw_parameters, list):
        for item in raw_parameters:
            if isinstance(item, Mapping):
                name, value = item.get("name"), item.get("value")
                if isinstance(name, str) and name and isinstance(value, str | int | float):
                    parameters.append((name, str(value)))
    destinations = {url}
    destinations.update(v for v in (e.apple, e.google) if v)
    for table in (e.geo, e.language):
        destinations.update((table or {}).values())
    destinations.update(link for _, link in e.device or ())
    if parameters:
        e.merged = {d: header_safe(merge_parameters(d, parameters)) for d in destinations}
        e.location = e.merged[url]
    else:
        e.merged = None
        e.location = url

    pixels: list[Pixel] = []
    raw_pixels = raw.get("pixels")
    if isinstance(raw_pixels, list):
        for item in raw_pixels:
            # Bare ids are pixels the links service has not resolved: nothing to fire.
            if isinstance(item, Mapping):
                kind_, tag = item.get("type"), item.get("tag")
                if kind_ in PIXEL_TYPES and isinstance(tag, str) and PIXEL_TAG_RE.fullmatch(tag):
                    pixels.append(Pixel(kind_, tag))
    e.pixels = tuple(pixels)
    e.simple = not (
        e.page
        or e.password
        or e.targeted
        or e.pixels
        or e.expires is not None
        or e.clicklimit is not None
    )
    return e
