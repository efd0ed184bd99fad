"""Bio pages at the edge: the page at its alias (a view, counted as a click of its
link), a counted block's click at ``/<alias>/b/<id>`` (a 302, or a vCard download,
recorded for that block), and a contact form block's submission (POST there,
into the owner's contacts book through the accounts service).

The page's content comes with its link's snapshot (LRU → Redis → Postgres,
invalidated with it). It is rendered by Jinja2 with autoescaping on, mobile
first, under a strict Content-Security-Policy: no script at all, the stylesheet
inline with a per-response nonce, images only from the page itself (the avatar
and image blocks are stored with the page and inlined), and frames only from the
video players of the embeds the owner added."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import aiohttp_jinja2
import jinja2
from aiohttp import web

from services.links.edge import pages
from services.links.edge.bio_entry import EMAIL_RE, BioPage
from services.links.edge.entries import LinkEntry
from services.links.edge.tokens import CSRF_COOKIE
from services.links.edge.visits import (
    OVERLAY_SUBMISSIONS,
    OVERLAY_WINDOW,
    Edge,
    _field,
    _form,
)
from shared.dependencies import report_failure

log = logging.getLogger("edge.bio")

TEMPLATES: Final = Path(__file__).parent / "templates"
BLOCK_RE: Final = re.compile(r"[1-9][0-9]{0,8}")
CSRF_PURPOSE: Final = "bio"
CSRF_WINDOW_KEY: Final = "bio"


def setup_templates(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
    )


def policy(style_nonce: str, frames: tuple[str, ...]) -> str:
    """Nothing runs, nothing is loaded from elsewhere but the owner's video players."""
    parts = [
        "default-src 'none'",
        f"style-src 'nonce-{style_nonce}'",
        "img-src 'self' data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
    if frames:
        parts.append("frame-src " + " ".join(frames))
    return "; ".join(parts)


def _vcard_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r", "")
        .replace("\n", "\\n")
    )


def vcard(card: Mapping[str, str]) -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", "FN:" + _vcard_text(card["name"])]
    if card["org"]:
        lines.append("ORG:" + _vcard_text(card["org"]))
    if card["title"]:
        lines.append("TITLE:" + _vcard_text(card["title"]))
    if card["email"]:
        lines.append("EMAIL;TYPE=INTERNET:" + _vcard_text(card["email"]))
    if card["phone"]:
        lines.append("TEL;TYPE=CELL:" + card["phone"])
    if card["url"]:
        lines.append("URL:" + _vcard_text(card["url"]))
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def page_of(entry: LinkEntry) -> BioPage | None:
    """The entry's bio page, checked once per entry (a new snapshot is a new entry)."""
    page = entry.bio
    if page is None or isinstance(page, BioPage):
        return page
    made = entry.bio = BioPage(page)
    return made


class BioPages:
    """The edge's bio handlers; they share the edge's lookups, counting and forms."""

    def __init__(self, edge: Edge) -> None:
        self.edge = edge

    def render(self, request: web.Request, entry: LinkEntry) -> web.Response:
        """The page (GET or HEAD of its alias); the caller counts the view."""
        edge = self.edge
        page = page_of(entry)
        assert page is not None
        style_nonce = secrets.token_urlsafe(16)
        context: dict[str, Any] = {
            "page": page,
            "nonce": style_nonce,
            "base": f"/{entry.alias}/b/",
            "csrf": "",
        }
        fresh_nonce = None
        if page.has_form:
            csrf_nonce, fresh = edge._csrf_nonce(request)
            context["csrf"] = edge.signer.csrf_token(csrf_nonce, entry.id, CSRF_PURPOSE)
            fresh_nonce = csrf_nonce if fresh else None
        text = aiohttp_jinja2.render_string("bio.html", request, context)
        response = pages.respond(200, text, policy=policy(style_nonce, page.frames))
        if fresh_nonce is not None:
            edge._set_csrf_cookie(request, response, fresh_nonce)
        return response

    async def _page_and_block(
        self, request: web.Request
    ) -> tuple[LinkEntry | None, dict[str, Any] | None, web.StreamResponse | None]:
        edge = self.edge
        entry, domain = await edge._entry(request)
        raw_block = request.match_info["block"]
        page = page_of(entry) if entry is not None else None
        block = (
            page.by_id.get(int(raw_block))
            if page is not None and BLOCK_RE.fullmatch(raw_block)
            else None
        )
        if entry is None or block is None:
            return None, None, edge._not_found(domain)
        return entry, block, None

    async def block(self, request: web.Request) -> web.StreamResponse:
        """GET|HEAD /<alias>/b/<id>: a link, email, phone or vCard block's click."""
        try:
            entry, block, refused = await self._page_and_block(request)
            if refused is not None:
                return refused
            assert entry is not None
            assert block is not None
            if block["type"] not in ("link", "email", "phone", "vcard"):
                return self.edge._not_found(None)
            edge = self.edge
            info = edge.uas.get(request.headers.get("User-Agent", ""))
            view = entry.via_block(block["id"])
            if block["type"] == "vcard":
                response: web.StreamResponse = web.Response(
                    text=vcard(block["card"]),
                    content_type="text/vcard",
                    charset="utf-8",
                    headers={
                        "Content-Disposition": 'attachment; filename="contact.vcf"',
                        "Cache-Control": pages.NO_STORE,
                        "X-Content-Type-Options": "nosniff",
                    },
                )
                destination = f"/{entry.alias}/b/{block['id']}"
            else:
                destination = block["url"]
                response = web.Response(
                    status=302, headers={"Location": destination, "Cache-Control": pages.NO_STORE}
                )
            if request.method == "GET":  # a crawler's is stored as a bot, in no count
                edge._record(request, view, destination, info)
            return response
        except Exception as exc:
            report_failure(request.app, exc, log, "bio block %s failed", request.path)
            return pages.unavailable_page()

    async def submit(self, request: web.Request) -> web.StreamResponse:
        """POST /<alias>/b/<id>: a contact form block, into the owner's contacts book."""
        try:
            entry, block, refused = await self._page_and_block(request)
            if refused is not None:
                return refused
            assert entry is not None
            assert block is not None
            if block["type"] != "form":
                return pages.method_not_allowed_page()
            edge = self.edge
            back = f"/{entry.alias}"
            form = await _form(request)
            if form is None or not edge.signer.csrf_ok(
                request.cookies.get(CSRF_COOKIE), entry.id, CSRF_PURPOSE, _field(form, "csrf", 100)
            ):
                return pages.message_page(
                    403, "Form expired", "This form has expired. Please try again.", back
                )
            email = (_field(form, "email", 254) or "").strip()
            if not EMAIL_RE.fullmatch(email):
                return pages.message_page(
                    400, "Check your email", "Please enter a valid email address.", back
                )
            used, _ = await edge._count_in_window(
                f"{edge.prefix}bioform:{edge._ip(request)}:{entry.id}", OVERLAY_WINDOW
            )
            if used > OVERLAY_SUBMISSIONS:
                return pages.message_page(
                    429, "Too many submissions", "Please try again later.", back
                )
            body = {
                "owner_id": entry.owner,
                "group_id": block["group"],
                "name": (_field(form, "name", 200) or "").strip(),
                "surname": "",
                "email": email,
                "gsm": (_field(form, "gsm", 32) or "").strip(),
            }
            if not await edge._submit_contact(body):
                return pages.message_page(
                    502, "Not saved", "Your details could not be saved. Please try again.", back
                )
            return pages.message_page(200, "Thank you", "Your details have been received.", back)
        except Exception as exc:
            report_failure(request.app, exc, log, "bio form %s failed", request.path)
            return pages.unavailable_page()
