"""Account-level stats, served to users here and computed by analytics:

- ``GET /api/urls/stats``: the time series, totals and breakdowns across all of
  the caller's links (the shape of ``GET /api/url/{id}/stats``), or only those
  with a ``tag``, on a ``domain`` (a host; ``_`` the default domain) or in a
  ``campaign`` (an id);
- ``GET /api/urls/stats/{tags|domains|campaigns}``: totals per tag, per domain
  or per campaign over the range, most clicked first.

Which links carry a tag or sit on a domain is known here, so the ids go to
analytics with the request."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from services.links import queries
from services.links.access import caller
from services.links.destinations import normalize_host
from services.links.keys import ANALYTICS
from services.links.tags import tag_filter
from shared.appkeys import PG_POOL
from shared.envelope import BadRequest, NotFound, ok

RANGE_PARAMS: Final = ("from", "to", "interval")
GROUPINGS: Final = {
    "tags": (queries.LINK_IDS_BY_TAG, "tag"),
    "domains": (queries.LINK_IDS_BY_DOMAIN, "domain"),
    "campaigns": (queries.LINK_IDS_BY_CAMPAIGN, "campaign"),
}


def _range(request: web.Request) -> dict[str, str]:
    params: dict[str, str] = {}
    for name in RANGE_PARAMS:
        value = request.query.get(name, "").strip()
        if value:
            if len(value) > 32:
                raise BadRequest(f"The parameter '{name}' is too long.")
            params[name] = value
    return params


def _filters(request: web.Request) -> tuple[str | None, str | None, int | None]:
    tag = tag_filter(request.query)
    domain = request.query.get("domain", "").strip() or None
    if domain is not None and domain != "_":
        domain = normalize_host(domain.split("://", 1)[-1].split("/", 1)[0])
        if domain is None:
            raise BadRequest("The parameter 'domain' must be a domain name or '_'.")
    campaign_raw = request.query.get("campaign", "").strip()
    if campaign_raw and (
        not (campaign_raw.isascii() and campaign_raw.isdigit()) or len(campaign_raw) > 18
    ):
        raise BadRequest("The parameter 'campaign' must be a campaign id.")
    return tag, domain, int(campaign_raw) if campaign_raw else None


async def account_stats(request: web.Request) -> web.Response:
    who = caller(request)
    params = _range(request)
    tag, domain, campaign = _filters(request)
    link_ids: list[int] | None = None
    if tag or domain or campaign:
        rows = await request.app[PG_POOL].fetch(
            queries.OWNER_LINK_IDS, who.user_id, tag, domain, campaign
        )
        link_ids = [row["id"] for row in rows]
    data = await request.app[ANALYTICS].post_json(
        who, "/internal/stats/account", params, {"owner": who.user_id, "link_ids": link_ids}
    )
    return ok(**data)


async def grouped_stats(request: web.Request) -> web.Response:
    who = caller(request)
    grouping = GROUPINGS.get(request.match_info["by"])
    if grouping is None:
        raise NotFound("Stats are grouped by tags, domains or campaigns.")
    sql, label = grouping
    params = _range(request)
    params.pop("interval", None)
    rows = await request.app[PG_POOL].fetch(sql, who.user_id)
    groups = {row["key"]: list(row["ids"]) for row in rows}
    data = await request.app[ANALYTICS].post_json(
        who, "/internal/stats/groups", params, {"owner": who.user_id, "groups": groups}
    )
    totals: dict[str, Any] = data.get("groups") or {}
    items = []
    for row in rows:
        item: dict[str, Any] = {label: row["key"], "links": len(row["ids"])}
        if label == "campaign":
            item = {"campaign": int(row["key"]), "name": row["name"], "links": len(row["ids"])}
        item.update(totals.get(row["key"], {"clicks": 0, "uniqueClicks": 0, "botClicks": 0}))
        items.append(item)
    items.sort(key=lambda i: (-i["clicks"], str(i[label])))
    return ok(**{"from": data.get("from"), "to": data.get("to"), label + "s": items})


ROUTES: Final = [
    web.get("/api/urls/stats", account_stats),
    web.get("/api/urls/stats/{by}", grouped_stats),
]
