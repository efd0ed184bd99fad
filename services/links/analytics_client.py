"""Calls to the analytics service's internal API (shared/CONTRACTS.md), signed
with the principal of the user the links service acts for.

Stats are an extra on top of links, never a reason for a links request to
fail: the lookups answer ``None`` when analytics is slow or down (and the
answers say ``null``: no count is better than a wrong one). A stats request,
whose whole answer is analytics', gets a 503 naming it after
``ANALYTICS_TIMEOUT``, well before the gateway would give up on links."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

import aiohttp
import orjson
from aiohttp import web
from multidict import CIMultiDictProxy
from yarl import URL

from shared import identity
from shared.envelope import ApiError
from shared.identity import Principal
from shared.settings import Settings

log = logging.getLogger("services.links.analytics")

# Lookups that decorate a links answer give up quickly; relays of a stats
# request (the whole answer) wait up to ANALYTICS_TIMEOUT.
LOOKUP_TIMEOUT: Final = 1.5
UNAVAILABLE_MESSAGE: Final = "The analytics service is unavailable right now. Please retry later."
RETRY_AFTER_SECONDS: Final = 5


class AnalyticsUnavailable(Exception):
    pass


def unavailable() -> ApiError:
    """The answer to a request that cannot be answered truthfully without analytics."""
    return ApiError(503, UNAVAILABLE_MESSAGE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class AnalyticsClient:
    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.session = session
        self.base = settings.analytics_url

    async def _call(
        self,
        who: Principal,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        deadline: float = LOOKUP_TIMEOUT,
    ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        url = URL(self.base + path)
        if params:
            url = url.with_query(params)
        data = orjson.dumps(body) if body is not None else b""
        # Signed for this one request: path and query as they go out, and the body.
        headers = identity.signed_headers(
            who, self.settings.internal_secret, method, url.raw_path_qs, data
        )
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with self.session.request(
                method,
                url,
                data=data or None,
                headers=headers,
                timeout=aiohttp.ClientTimeout(
                    total=deadline,
                    sock_connect=min(deadline, self.settings.upstream_connect_timeout),
                ),
            ) as resp:
                return resp.status, resp.headers, await resp.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise AnalyticsUnavailable(f"{method} {path}: {type(exc).__name__}") from exc

    async def _json(
        self, who: Principal, method: str, path: str, **kwargs: Any
    ) -> dict[str, Any] | None:
        try:
            status, _, raw = await self._call(who, method, path, **kwargs)
            if status != 200:
                log.warning("analytics answered %s to %s %s", status, method, path)
                return None
            data = orjson.loads(raw)
        except AnalyticsUnavailable as exc:
            log.warning("analytics unavailable: %s", exc)
            return None
        except orjson.JSONDecodeError:
            log.warning("analytics sent a body that is not JSON for %s %s", method, path)
            return None
        return data if isinstance(data, dict) else None

    async def link_stats(self, who: Principal, link_id: int) -> dict[str, Any] | None:
        """The stats block of one link, or ``None`` when analytics cannot say."""
        return await self._json(
            who, "GET", f"/internal/stats/links/{link_id}", params={"owner": str(who.user_id)}
        )

    async def counts(self, who: Principal, link_ids: Sequence[int]) -> dict[int, int] | None:
        """Clicks per link (missing = 0); ``None`` when analytics cannot say."""
        if not link_ids:
            return {}
        data = await self._json(
            who,
            "POST",
            "/internal/stats/counts",
            body={"owner": who.user_id, "link_ids": list(link_ids)},
        )
        counts = (data or {}).get("counts")
        if not isinstance(counts, dict):
            return None
        out: dict[int, int] = {}
        for key, value in counts.items():
            if str(key).isdigit() and isinstance(value, int) and not isinstance(value, bool):
                out[int(key)] = value
        return out

    async def ranking(self, who: Principal) -> list[tuple[int, int]] | None:
        """``(link_id, clicks)``, most clicked first; ``None`` when analytics cannot say."""
        data = await self._json(
            who, "GET", "/internal/stats/ranking", params={"owner": str(who.user_id)}
        )
        links = (data or {}).get("links")
        if not isinstance(links, list):
            return None
        ranked: list[tuple[int, int]] = []
        for item in links:
            if (
                isinstance(item, list)
                and len(item) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in item)
            ):
                ranked.append((item[0], item[1]))
        return ranked

    async def relay(self, who: Principal, path: str, params: Mapping[str, str]) -> web.Response:
        """Answer a stats request with analytics' own answer (JSON or CSV)."""
        try:
            status, upstream_headers, raw = await self._call(
                who, "GET", path, params=params, deadline=self.settings.analytics_timeout
            )
        except AnalyticsUnavailable as exc:
            log.warning("analytics unavailable: %s", exc)
            raise unavailable() from exc
        if status == 503:
            raise unavailable()
        if status >= 500:
            raise ApiError(502, "The analytics service failed. Please retry later.")
        content_type = upstream_headers.get("Content-Type", "application/json")
        headers = {"Content-Type": content_type}
        if status == 200 and content_type.startswith("text/csv"):
            headers["Content-Disposition"] = upstream_headers.get(
                "Content-Disposition", 'attachment; filename="stats.csv"'
            )
        return web.Response(body=raw, status=status, headers=headers)

    async def post_json(
        self, who: Principal, path: str, params: Mapping[str, str], body: Any
    ) -> dict[str, Any]:
        """A stats request that is the whole answer: analytics' JSON object, its own
        refusal (4xx) raised as such, a 503/502 when it is down or failing."""
        try:
            status, _, raw = await self._call(
                who, "POST", path, params=params, body=body, deadline=self.settings.upstream_timeout
            )
        except AnalyticsUnavailable as exc:
            log.warning("analytics unavailable: %s", exc)
            raise ApiError(
                503, "Statistics are unavailable right now. Please retry later."
            ) from exc
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            data = None
        if status >= 500 or not isinstance(data, dict):
            raise ApiError(502, "The statistics service failed. Please retry later.")
        if status != 200:
            raise ApiError(status, str(data.get("message") or "Bad request."))
        return data
