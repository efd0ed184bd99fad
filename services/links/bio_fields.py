"""What a bio page may hold, checked before anything is stored: the theme (colours,
a button shape and a font from fixed lists), the SEO/social preview tags, and the
ordered blocks. Every URL a visitor can follow goes through the links' own
destination check (no ``javascript:``, ``data:``, ``file:`` ...); images (the
avatar, image blocks) are fetched once, here, through the SSRF guard (or taken
from an upload), normalized to a small PNG and served from our own page, so a
visitor's browser never loads anything from a third party except the video
embeds the owner added."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from services.links.destinations import validate_url
from services.links.page_fields import color
from services.links.qr.logo import fetch_logo
from services.links.qr.render import MAX_LOGO_BYTES, normalize_logo_async, validate_logo_async
from shared.envelope import BadRequest
from shared.request_body import Body
from shared.safe_fetch import SafeFetcher
from shared.settings import Settings

MAX_BLOCKS: Final = 50
MAX_IMAGE_BLOCKS: Final = 10
IMAGE_SIDE: Final = 512  # avatar and image blocks are stored as PNGs this big at most
BLOCK_TYPES: Final = (
    "link",
    "heading",
    "text",
    "image",
    "social",
    "email",
    "phone",
    "vcard",
    "video",
    "form",
)
# The blocks a visitor's click on goes through the edge (/<alias>/b/<id>) and is counted.
COUNTED_BLOCKS: Final = frozenset({"link", "email", "phone", "vcard"})
SOCIAL_NETWORKS: Final = (
    "facebook",
    "instagram",
    "x",
    "twitter",
    "linkedin",
    "youtube",
    "tiktok",
    "github",
    "pinterest",
    "snapchat",
    "telegram",
    "whatsapp",
    "mastodon",
    "twitch",
    "discord",
    "spotify",
)
# System font stacks only: a web font would be a third-party (or extra) load.
FONTS: Final[dict[str, str]] = {
    "system": 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    "serif": 'Georgia, "Times New Roman", serif',
    "mono": 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace',
    "rounded": 'ui-rounded, "SF Pro Rounded", system-ui, sans-serif',
    "humanist": '"Gill Sans", "Trebuchet MS", Calibri, sans-serif',
}
SHAPES: Final = ("square", "rounded", "pill")
DEFAULT_THEME: Final[dict[str, str]] = {
    "background": "#FFFFFF",
    "text": "#111111",
    "button": "#111111",
    "buttontext": "#FFFFFF",
    "shape": "rounded",
    "font": "system",
}
# Where each video provider's player lives: the only frames a page may load.
VIDEO_ORIGINS: Final[dict[str, str]] = {
    "youtube": "https://www.youtube-nocookie.com",
    "vimeo": "https://player.vimeo.com",
}
_VIDEO_ID_RE: Final[dict[str, re.Pattern[str]]] = {
    "youtube": re.compile(r"[A-Za-z0-9_-]{11}"),
    "vimeo": re.compile(r"[0-9]{1,12}"),
}
_EMAIL_RE: Final = re.compile(r"[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
_PHONE_RE: Final = re.compile(r"\+?[0-9][0-9 ().-]{2,30}")
_UPLOAD_RE: Final = re.compile(r"data:image/(png|jpeg|jpg);base64,", re.IGNORECASE)


def _where(index: int, name: str) -> str:
    return f"blocks[{index}].{name}"


def _text(block: Mapping[str, Any], index: int, name: str, limit: int, *, required: bool) -> str:
    value = block.get(name)
    if value is None or value == "":
        if required:
            raise BadRequest(f"The field '{_where(index, name)}' is required.")
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"The field '{_where(index, name)}' must be a string.")
    value = value.strip()
    if "\x00" in value:
        raise BadRequest(f"The field '{_where(index, name)}' contains a NUL character.")
    if len(value) > limit:
        raise BadRequest(f"The field '{_where(index, name)}' must be at most {limit} characters.")
    if required and not value:
        raise BadRequest(f"The field '{_where(index, name)}' is required.")
    return value


async def image_png(source: Any, field: str, settings: Settings, fetcher: SafeFetcher) -> bytes:
    """A small PNG of the image at ``source``: an http(s) URL fetched through the SSRF
    guard, or an upload as a ``data:image/png|jpeg;base64,...`` string."""
    if isinstance(source, str) and _UPLOAD_RE.match(source.strip()):
        encoded = source.strip().split(",", 1)[1]
        if len(encoded) > MAX_LOGO_BYTES * 4 // 3 + 4:
            raise BadRequest(f"The field '{field}' must be an image of at most 2 MB.")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest(f"The field '{field}' is not valid base64.") from exc
        try:
            await validate_logo_async(data)
        except BadRequest as exc:
            raise BadRequest(exc.message.replace("'logo'", f"'{field}'")) from exc
    elif isinstance(source, str) and source.strip().lower().startswith(("http://", "https://")):
        try:
            data = await fetch_logo(source, settings, fetcher=fetcher)
        except BadRequest as exc:
            raise BadRequest(exc.message.replace("'logo'", f"'{field}'")) from exc
    else:
        raise BadRequest(
            f"The field '{field}' must be the http(s) URL of a png or jpg image, "
            "or an upload as data:image/png;base64,..."
        )
    return await normalize_logo_async(data)


def parse_theme(raw: Any, current: Mapping[str, Any] | None) -> dict[str, str]:
    """The theme, merged over the stored one (or the default): only what is sent changes."""
    if raw is None:
        return dict(DEFAULT_THEME)
    if not isinstance(raw, Mapping):
        raise BadRequest("The field 'theme' must be an object.")
    unknown = set(raw) - set(DEFAULT_THEME)
    if unknown:
        raise BadRequest(
            f"The field 'theme' has unknown keys: {', '.join(sorted(map(str, unknown)))}."
        )
    theme = {**DEFAULT_THEME, **(current or {})}
    for name in ("background", "text", "button", "buttontext"):
        if name in raw:
            theme[name] = color(raw[name], f"theme.{name}")
    if "shape" in raw:
        if not isinstance(raw["shape"], str) or raw["shape"] not in SHAPES:
            raise BadRequest(f"The field 'theme.shape' must be one of: {', '.join(SHAPES)}.")
        theme["shape"] = raw["shape"]
    if "font" in raw:
        if not isinstance(raw["font"], str) or raw["font"] not in FONTS:
            raise BadRequest(f"The field 'theme.font' must be one of: {', '.join(FONTS)}.")
        theme["font"] = raw["font"]
    return theme


def parse_seo(raw: Any) -> dict[str, str | None]:
    """``{"title", "description", "image"}``: the page's title and social preview tags."""
    if raw is None:
        return {"title": None, "description": None, "image": None}
    if not isinstance(raw, Mapping):
        raise BadRequest("The field 'seo' must be an object.")
    body = Body(raw)
    unknown = set(raw) - {"title", "description", "image"}
    if unknown:
        raise BadRequest(
            f"The field 'seo' has unknown keys: {', '.join(sorted(map(str, unknown)))}."
        )
    image = raw.get("image")
    return {
        "title": body.text("title", max_length=200) or None,
        "description": body.text("description", max_length=500) or None,
        # A preview image is fetched by the sites that show the preview, not by visitors.
        "image": validate_url(image, "seo.image", web_only=True) if image else None,
    }


async def parse_blocks(
    raw: Any,
    current: Sequence[Mapping[str, Any]],
    last_id: int,
    settings: Settings,
    fetcher: SafeFetcher,
) -> tuple[list[dict[str, Any]], int]:
    """The new ordered blocks and the page's last block id.

    A block sent with the ``id`` of a stored block keeps it (its counted clicks stay
    its own); any other gets a new id, never one the page used before."""
    if not isinstance(raw, list):
        raise BadRequest("The field 'blocks' must be an array of blocks.")
    if len(raw) > MAX_BLOCKS:
        raise BadRequest(f"A bio page may hold at most {MAX_BLOCKS} blocks.")
    stored = {b["id"]: b for b in current if isinstance(b.get("id"), int)}
    blocks: list[dict[str, Any]] = []
    used: set[int] = set()
    images = 0
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise BadRequest(f"The field 'blocks[{index}]' must be an object.")
        kind = item.get("type")
        if not isinstance(kind, str) or kind not in BLOCK_TYPES:
            raise BadRequest(
                f"The field '{_where(index, 'type')}' must be one of: {', '.join(BLOCK_TYPES)}."
            )
        wanted = item.get("id")
        if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted in stored:
            if wanted in used:
                raise BadRequest(f"The block id {wanted} appears twice.")
            block_id = wanted
        else:
            last_id += 1
            block_id = last_id
        used.add(block_id)
        if kind == "image":
            images += 1
            if images > MAX_IMAGE_BLOCKS:
                raise BadRequest(f"A bio page may hold at most {MAX_IMAGE_BLOCKS} images.")
        previous = stored.get(block_id)
        block = await _block(index, kind, item, previous, settings, fetcher)
        blocks.append({"id": block_id, "type": kind, **block})
    return blocks, last_id


async def _block(
    index: int,
    kind: str,
    item: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    settings: Settings,
    fetcher: SafeFetcher,
) -> dict[str, Any]:
    if kind == "link":
        return {
            "text": _text(item, index, "text", 200, required=True),
            "url": validate_url(item.get("url"), _where(index, "url")),
        }
    if kind == "heading":
        return {"text": _text(item, index, "text", 200, required=True)}
    if kind == "text":
        return {"text": _text(item, index, "text", 2000, required=True)}
    if kind == "image":
        alt = _text(item, index, "alt", 200, required=False)
        source = item.get("url")
        if source is None and previous is not None and previous.get("type") == "image":
            png = previous["png"]  # kept: the block was sent back without a new image
        else:
            data = await image_png(source, _where(index, "url"), settings, fetcher)
            png = base64.b64encode(data).decode()
        return {"alt": alt, "png": png}
    if kind == "social":
        links = item.get("links")
        if not isinstance(links, list) or not links or len(links) > len(SOCIAL_NETWORKS):
            raise BadRequest(
                f"The field '{_where(index, 'links')}' must be an array of "
                '{"network", "url"} (at most one per network).'
            )
        out = []
        for n, entry in enumerate(links):
            where = f"{_where(index, 'links')}[{n}]"
            network = entry.get("network") if isinstance(entry, Mapping) else None
            if not isinstance(network, str) or network not in SOCIAL_NETWORKS:
                raise BadRequest(
                    f"The field '{where}.network' must be one of: {', '.join(SOCIAL_NETWORKS)}."
                )
            url = validate_url(entry.get("url"), f"{where}.url", web_only=True)
            out.append({"network": network, "url": url})
        return {"links": out}
    if kind == "email":
        email = _text(item, index, "email", 254, required=True)
        if not _EMAIL_RE.fullmatch(email):
            raise BadRequest(f"The field '{_where(index, 'email')}' must be an email address.")
        return {"email": email, "text": _text(item, index, "text", 200, required=False)}
    if kind == "phone":
        phone = _text(item, index, "phone", 32, required=True)
        if not _PHONE_RE.fullmatch(phone):
            raise BadRequest(f"The field '{_where(index, 'phone')}' must be a phone number.")
        return {"phone": phone, "text": _text(item, index, "text", 200, required=False)}
    if kind == "vcard":
        card = {
            name: _text(item, index, name, limit, required=name == "name")
            for name, limit in (
                ("name", 200),
                ("org", 200),
                ("title", 200),
                ("email", 254),
                ("phone", 32),
                ("text", 200),
            )
        }
        if card["email"] and not _EMAIL_RE.fullmatch(card["email"]):
            raise BadRequest(f"The field '{_where(index, 'email')}' must be an email address.")
        if card["phone"] and not _PHONE_RE.fullmatch(card["phone"]):
            raise BadRequest(f"The field '{_where(index, 'phone')}' must be a phone number.")
        site = item.get("url")
        card["url"] = validate_url(site, _where(index, "url"), web_only=True) if site else ""
        return card
    if kind == "video":
        provider = item.get("provider")
        if not isinstance(provider, str) or provider not in VIDEO_ORIGINS:
            raise BadRequest(f"The field '{_where(index, 'provider')}' must be youtube or vimeo.")
        video = item.get("video")
        if not isinstance(video, str) or not _VIDEO_ID_RE[provider].fullmatch(video):
            raise BadRequest(
                f"The field '{_where(index, 'video')}' must be a {provider} video id "
                f"(e.g. {'dQw4w9WgXcQ' if provider == 'youtube' else '76979871'}), not a URL."
            )
        return {"provider": provider, "video": video}
    # form: a contact form whose entries go to the owner's contacts book.
    group = item.get("group")
    if group is not None and (
        isinstance(group, bool) or not isinstance(group, int) or not 0 < group < 2**63
    ):
        raise BadRequest(f"The field '{_where(index, 'group')}' must be a contact group id.")
    return {
        "text": _text(item, index, "text", 200, required=False),
        "button": _text(item, index, "button", 50, required=False) or "Send",
        "group": group,
    }
