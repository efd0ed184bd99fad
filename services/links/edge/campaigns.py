"""A campaign's two public addresses on the edge (API.md sections 7 and 14).

- ``GET /r/<slug>``: the rotator. Each visit goes to the next of the campaign's
  links in turn: the position is a Redis counter (``rotator:<campaign_id>``)
  shared by every replica, so the turns are fair across them. The chosen link
  is then visited exactly as through its own alias (expiry, password,
  targeting, pages), and its click says ``source: rotator`` and the campaign.
  Only counted visits (GET, not a crawler) advance the rotation.
- ``GET /u/<username>/<slug>-<id>``: the campaign's public list of links, read
  from Postgres; 404 unless the campaign is public and ``username`` is its
  owner's.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Mapping
from html import escape
from typing import Any, Final

from aiohttp import web
from redis.exceptions import RedisError

from services.links.edge import pages
from services.links.edge.visits import Edge
from services.links.snapshot import load_campaign_page
from shared.dependencies import report_failure
from shared.settings import Settings

log = logging.getLogger("edge.campaigns")

SLUG_RE: Final = re.compile(r"[A-Za-z0-9_-]{3,64}")
MAX_USERNAME_LENGTH: Final = 100
_LIST_CSS: Final = (
    "ul.links{list-style:none;padding:0;margin:1rem 0 0}"
    "ul.links li{padding:.6rem 0;border-top:1px solid #d0d7de}"
    "ul.links a{font-weight:600}"
)


class CampaignPages:
    def __init__(self, edge: Edge, settings: Settings) -> None:
        self.edge = edge
        self.base = settings.public_base_url
        self.prefix = settings.redis_prefix
        # Turns taken here while Redis cannot be reached (still a rotation, per replica).
        self._local_turns = itertools.count()

    # -- GET /r/<slug> -----------------------------------------------------------

    async def rotate(self, request: web.Request) -> web.StreamResponse:
        edge = self.edge
        try:
            slug = request.match_info["slug"]
            campaign = await edge.store.campaign(slug) if SLUG_RE.fullmatch(slug) else None
            if campaign is None or not campaign.links:
                return await edge.unknown(request)
            info = edge.uas.get(request.headers.get("User-Agent", ""))
            counted = request.method == "GET" and not info.crawler
            turn = await self._turn(campaign.id, counted)
            entry = await edge.store.link(campaign.links[turn % len(campaign.links)])
            if entry is None:  # deleted a moment ago: the campaign snapshot follows shortly
                return await edge.unknown(request)
            return await edge.visit_entry(request, entry.via_rotator(campaign.id), info)
        except Exception as exc:
            report_failure(request.app, exc, log, "rotator %s failed", request.path)
            return pages.unavailable_page()

    async def _turn(self, campaign_id: int, counted: bool) -> int:
        """The 0-based position of this visit; only counted visits take a turn."""
        redis = self.edge.redis
        assert redis is not None
        key = f"{self.prefix}rotator:{campaign_id}"
        try:
            if counted:
                return int(await redis.incr(key)) - 1
            return int(await redis.get(key) or 0)
        except (RedisError, OSError) as exc:
            log.warning("rotator position unavailable (%s): rotating locally", exc)
            return next(self._local_turns)

    # -- GET /u/<username>/<slug>-<id> -------------------------------------------

    async def campaign_list(self, request: web.Request) -> web.StreamResponse:
        try:
            username = request.match_info["username"]
            _, dash, digits = request.match_info["page"].rpartition("-")
            if (
                not dash
                or not digits.isascii()
                or not digits.isdigit()
                or len(digits) > 18
                or len(username) > MAX_USERNAME_LENGTH
            ):
                return await self.edge.unknown(request)
            pool = self.edge.store.pool
            assert pool is not None
            campaign = await load_campaign_page(pool, int(digits))
            if campaign is None or not campaign["public"] or campaign["username"] != username:
                return await self.edge.unknown(request)
            return list_page(campaign, self.base)
        except Exception as exc:
            report_failure(request.app, exc, log, "campaign list %s failed", request.path)
            return pages.unavailable_page()


def short_url(link: Mapping[str, Any], base: str) -> str:
    if link.get("host"):
        return f"{link.get('scheme') or 'https'}://{link['host']}/{link['alias']}"
    return f"{base}/{link['alias']}"


def list_page(campaign: Mapping[str, Any], base: str) -> web.Response:
    """The campaign's name and its links (title and short URL), every value escaped."""
    name = str(campaign["name"])
    items = []
    for link in campaign["links"]:
        url = short_url(link, base)
        title = link.get("title") or url
        items.append(
            f'<li><a href="{escape(url)}" rel="nofollow">{escape(str(title))}</a>'
            f'<br><span class="muted">{escape(url)}</span></li>'
        )
    listing = f'<ul class="links">{"".join(items)}</ul>' if items else "<p>No links yet.</p>"
    body = f"<main><h1>{escape(name)}</h1>{listing}</main>"
    return pages.respond(200, pages.document(name, body, head=f"<style>{_LIST_CSS}</style>"))
