"""A link's whole life over HTTP, across every real process: created through the
gateway, clicked at the edge, counted by the worker, read back through the gateway."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import COUNTRY_HEADER, add_user
from tests.support.api_calls import call
from tests.support.system import RunningSystem

pytestmark = pytest.mark.e2e

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
FACEBOOK_CRAWLER = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"


async def visit(
    http: aiohttp.ClientSession,
    url: str,
    agent: str,
    country: str | None = None,
    referrer: str | None = None,
    method: str = "GET",
) -> aiohttp.ClientResponse:
    headers = {"User-Agent": agent}
    if country:
        headers[COUNTRY_HEADER] = country
    if referrer:
        headers["Referer"] = referrer
    async with http.request(method, url, headers=headers, allow_redirects=False) as resp:
        await resp.read()
        return resp


async def wait_for_clicks(
    http: aiohttp.ClientSession, url: str, key: str, expected: int, bots: int = 0
) -> dict[str, Any]:
    """Poll the link's stats (slowly: the key's bucket holds 30 requests a minute)."""
    data: dict[str, Any] = {}
    for _ in range(20):
        status, body, _ = await call(http, "GET", url, key)
        assert status == 200, body
        data = body["data"] or {}
        if data.get("clicks") == expected and data.get("botClicks", 0) >= bots:
            return data
        await asyncio.sleep(1)
    raise AssertionError(f"stats never reached {expected} clicks: {data}")


async def test_create_click_and_read_stats(system: RunningSystem, admin_key: str) -> None:
    api = system.gateway_url + "/api"
    tag = secrets.token_hex(4)
    async with aiohttp.ClientSession() as http:
        key = await add_user(http, api, admin_key, f"clk{tag}", 1)  # the default plan

        status, body, _ = await call(
            http,
            "POST",
            f"{api}/url/add",
            key,
            {"url": "https://example.com/landing?x=1", "custom": f"e2e{tag}"},
        )
        assert status == 200, body
        link_id, short = body["id"], body["shorturl"]
        assert short == f"{system.settings.public_base_url}/e2e{tag}"

        # six people click; a crawler and a HEAD request are answered but not counted
        # (the crawler's visits are stored, flagged: botClicks)
        visits = [
            (CHROME_WINDOWS, "DE", "https://www.facebook.com/"),
            (CHROME_WINDOWS, "DE", None),
            (CHROME_WINDOWS, "DE", None),
            (SAFARI_IPHONE, "US", "https://t.co/abc"),
            (SAFARI_IPHONE, "US", None),
            (FIREFOX_LINUX, None, None),
        ]
        for agent, country, referrer in visits:
            resp = await visit(http, short, agent, country, referrer)
            assert resp.status == 302
            assert resp.headers["Location"] == "https://example.com/landing?x=1"
            assert resp.headers["Cache-Control"] == "private, no-store"
        crawler = await visit(http, short, FACEBOOK_CRAWLER)
        assert crawler.status in (200, 302)
        curl = await visit(http, short, "curl/8.5.0")  # the README's own example
        assert curl.status == 302
        head = await visit(http, short, CHROME_WINDOWS, method="HEAD")
        assert head.status == 302

        stats = await wait_for_clicks(http, f"{api}/url/{link_id}", key, expected=6, bots=2)
        assert stats["botClicks"] == 2
        assert stats["uniqueClicks"] == 3  # one visitor per (address, browser) a day
        assert stats["topCountries"] == {"Germany": 3, "United States": 2, "Unknown": 1}
        assert stats["topBrowsers"]["Chrome"] == 3
        assert stats["topBrowsers"]["Firefox"] == 1
        assert sum(stats["topBrowsers"].values()) == 6
        assert stats["socialCount"]["facebook"] == 1
        assert stats["socialCount"]["twitter"] == 1
        status, series, _ = await call(http, "GET", f"{api}/url/{link_id}/stats", key)
        assert status == 200, series
        assert (series["clicks"], series["uniqueClicks"], series["botClicks"]) == (6, 3, 2)
        assert sum(point["clicks"] for point in series["series"]) == 6

        # the list shows the same number
        status, body, _ = await call(http, "GET", f"{api}/urls", key)
        assert [(u["id"], u["clicks"]) for u in body["data"]["urls"]] == [(link_id, 6)]

        # deleted through the API: the edge stops resolving it at once
        status, body, _ = await call(http, "DELETE", f"{api}/url/{link_id}/delete", key)
        assert (status, body["message"]) == (200, "Link has been deleted successfully.")
        assert (await visit(http, short, CHROME_WINDOWS)).status == 404
