"""A bio page's content as the edge keeps it in a link entry (from the link's
snapshot), checked again here: whatever a snapshot holds, only known blocks with
their known fields reach the template."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from services.links.edge.entries import safe_url

EMAIL_RE: Final = re.compile(r"[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
# Kept in step with services/links/bio_fields.py (the edge reads what it stored).
FONTS: Final[dict[str, str]] = {
    "system": 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    "serif": 'Georgia, "Times New Roman", serif',
    "mono": 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace',
    "rounded": 'ui-rounded, "SF Pro Rounded", system-ui, sans-serif',
    "humanist": '"Gill Sans", "Trebuchet MS", Calibri, sans-serif',
}
RADII: Final = {"square": "0", "rounded": "10px", "pill": "999px"}
VIDEO_PLAYERS: Final[dict[str, str]] = {
    "youtube": "https://www.youtube-nocookie.com/embed/{}",
    "vimeo": "https://player.vimeo.com/video/{}",
}
VIDEO_ORIGINS: Final[dict[str, str]] = {
    "youtube": "https://www.youtube-nocookie.com",
    "vimeo": "https://player.vimeo.com",
}
_COLOR_RE: Final = re.compile(r"#[0-9A-F]{6}")
_VIDEO_ID_RE: Final = {"youtube": re.compile(r"[A-Za-z0-9_-]{11}"), "vimeo": re.compile(r"\d+")}
_BASE64_RE: Final = re.compile(r"[A-Za-z0-9+/=]+")
_DEFAULT_THEME: Final = {
    "background": "#FFFFFF",
    "text": "#111111",
    "button": "#111111",
    "buttontext": "#FFFFFF",
}


class BioPage:
    """A page's content from its snapshot, checked again here: whatever a snapshot
    holds, only known blocks with their known fields reach the template."""

    __slots__ = (
        "avatar",
        "blocks",
        "by_id",
        "description",
        "frames",
        "has_form",
        "name",
        "seo",
        "style",
    )

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.name = str(raw.get("name") or "")[:200]
        self.description = str(raw.get("description") or "")[:1000]
        avatar = raw.get("avatar")
        self.avatar = avatar if isinstance(avatar, str) and _BASE64_RE.fullmatch(avatar) else None
        seo = raw.get("seo") if isinstance(raw.get("seo"), Mapping) else {}
        assert isinstance(seo, Mapping)
        self.seo = {
            "title": str(seo.get("title") or "")[:200] or None,
            "description": str(seo.get("description") or "")[:500] or None,
            "image": safe_url(seo.get("image")),
        }
        theme = raw.get("theme") if isinstance(raw.get("theme"), Mapping) else {}
        assert isinstance(theme, Mapping)
        colours = {
            name: value if isinstance(value, str) and _COLOR_RE.fullmatch(value) else default
            for name, default in _DEFAULT_THEME.items()
            for value in (theme.get(name),)
        }
        self.style = {
            **colours,
            "font": FONTS.get(str(theme.get("font")), FONTS["system"]),
            "radius": RADII.get(str(theme.get("shape")), RADII["rounded"]),
        }
        self.blocks: list[dict[str, Any]] = []
        self.by_id: dict[int, dict[str, Any]] = {}
        frames: set[str] = set()
        for item in raw.get("blocks") or ():
            block = _block(item)
            if block is None:
                continue
            self.blocks.append(block)
            self.by_id[block["id"]] = block
            if block["type"] == "video":
                frames.add(VIDEO_ORIGINS[block["provider"]])
        self.frames = tuple(sorted(frames))
        self.has_form = any(b["type"] == "form" for b in self.blocks)


def _block(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, Mapping):
        return None
    block_id, kind = item.get("id"), item.get("type")
    if not isinstance(block_id, int) or isinstance(block_id, bool) or block_id <= 0:
        return None
    block: dict[str, Any] = {"id": block_id, "type": kind}
    text = str(item.get("text") or "")[:2000]
    if kind in ("heading", "text"):
        block["text"] = text
    elif kind == "link":
        url = safe_url(item.get("url"))
        if url is None:
            return None
        block.update(text=text, url=url)
    elif kind == "email":
        email = str(item.get("email") or "")
        if not EMAIL_RE.fullmatch(email):
            return None
        block.update(text=text or email, url="mailto:" + email)
    elif kind == "phone":
        phone = re.sub(r"[^0-9+]", "", str(item.get("phone") or ""))
        if not phone:
            return None
        block.update(text=text or str(item.get("phone")), url="tel:" + phone)
    elif kind == "vcard":
        block.update(
            text=text or "Save contact",
            card={k: str(item.get(k) or "")[:254] for k in ("name", "org", "title", "email")},
        )
        block["card"]["phone"] = re.sub(r"[^0-9+]", "", str(item.get("phone") or ""))
        block["card"]["url"] = safe_url(item.get("url")) or ""
    elif kind == "image":
        png = item.get("png")
        if not isinstance(png, str) or not _BASE64_RE.fullmatch(png):
            return None
        block.update(png=png, alt=str(item.get("alt") or "")[:200])
    elif kind == "social":
        links = []
        for entry in item.get("links") or ():
            if isinstance(entry, Mapping):
                url = safe_url(entry.get("url"))
                if url is not None and url.lower().startswith(("https://", "http://")):
                    links.append({"network": str(entry.get("network"))[:20], "url": url})
        block["links"] = links
    elif kind == "video":
        provider, video = item.get("provider"), item.get("video")
        if provider not in VIDEO_PLAYERS or not isinstance(video, str):
            return None
        if not _VIDEO_ID_RE[provider].fullmatch(video):
            return None
        block.update(provider=provider, src=VIDEO_PLAYERS[provider].format(video))
    elif kind == "form":
        group = item.get("group")
        block.update(
            text=text,
            button=str(item.get("button") or "Send")[:50],
            group=group if isinstance(group, int) and not isinstance(group, bool) else None,
        )
    else:
        return None
    return block
