"""Issue 9, proof: ``make run`` on an empty database. The admin the bootstrap
creates (with the key it prints) can use every feature, and 100,000 clicks on
one link through the edge all show in that link's stats."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, Final

import aiohttp
import pytest
from yarl import URL

from shared.settings import Settings
from tests.support.api_calls import call
from tests.support.figures import report_figure
from tests.support.http_load import get_many
from tests.support.make_run import MakeRun
from tests.support.namespace import private_namespace
from tests.support.system import with_free_ports

pytestmark = pytest.mark.e2e

CLICKS: Final = 100_000
BROWSER: Final = {
    "User-Agent": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
    ),
    "Accept": "text/html,application/xhtml+xml",
    "Accept-Language": "en-US,en;q=0.9",
}
COUNTED_WITHIN: Final = 60.0  # seconds, after the last click, for the stats to show all


@pytest.fixture(scope="module")
async def make_run(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[MakeRun]:
    # An empty database (not even created: make run's migrations create it).
    async with private_namespace(settings, "fresh", migrate=False) as own:
        run = MakeRun(with_free_ports(own), tmp_path_factory.mktemp("make-run") / "output.log")
        try:
            await run.start()
            yield run
        finally:
            await run.stop()


async def succeed(
    http: aiohttp.ClientSession, method: str, url: str, key: str, body: Any = None
) -> Any:
    """Call the API, riding out the key's rate limit (30 a minute) as a client would."""
    while True:
        status, answer, headers = await call(http, method, url, key, body)
        if status != 429:
            break
        await asyncio.sleep(int(headers["Retry-After"]))
    assert (status, answer["error"]) == (200, 0), (method, url, answer)
    return answer


# Generous: the first test also waits for make run to migrate, bootstrap and start.
@pytest.mark.timeout(300)
async def test_the_first_admin_can_use_every_feature(make_run: MakeRun) -> None:
    key = make_run.admin_key()
    api = make_run.gateway_url + "/api"
    async with aiohttp.ClientSession() as http:
        account = await succeed(http, "GET", f"{api}/account", key)
        assert account["data"]["username"] == "admin"

        domain = await succeed(
            http, "POST", f"{api}/domain/add", key, {"domain": "https://go.example.com"}
        )
        campaign = await succeed(
            http, "POST", f"{api}/campaign/add", key, {"name": "Launch", "slug": "launch"}
        )
        channel = await succeed(
            http, "POST", f"{api}/channel/add", key, {"name": "Social", "color": "#112233"}
        )
        pixel = await succeed(
            http,
            "POST",
            f"{api}/pixel/add",
            key,
            {"type": "gtmpixel", "name": "Tag manager", "tag": "GTM-ABC123"},
        )
        splash = await succeed(
            http, "POST", f"{api}/splash/add", key, {"name": "Wait", "title": "One moment"}
        )
        overlay = await succeed(
            http, "POST", f"{api}/overlay/add", key, {"type": "message", "name": "Hello"}
        )
        await succeed(
            http,
            "POST",
            f"{api}/qr/add",
            key,
            {"type": "link", "data": "https://example.com/poster", "name": "Poster"},
        )
        link = await succeed(
            http,
            "POST",
            f"{api}/url/add",
            key,
            {
                "url": "https://example.com/offer",
                "custom": "offer",
                "domain": domain["id"],
                "password": "open sesame",
                "expiry": "2099-01-01 00:00:00",
                "geotarget": [{"location": "Canada", "link": "https://example.ca/offer"}],
                "devicetarget": [{"device": "iPhone", "link": "https://example.com/ios"}],
                "languagetarget": [{"language": "de", "link": "https://example.de/offer"}],
                "parameters": [{"name": "utm_source", "value": "launch"}],
                "pixels": [pixel["id"]],
                "campaign": campaign["id"],
                "channel": channel["id"],
                "metatitle": "The offer",
            },
        )
        assert link["shorturl"] == "https://go.example.com/offer"
        for page in (f"splash-{splash['id']}", f"overlay-{overlay['id']}"):
            await succeed(
                http, "POST", f"{api}/url/add", key, {"url": "https://example.com/", "type": page}
            )

        details = (await succeed(http, "GET", f"{api}/url/{link['id']}", key))["details"]
        assert details["location"] == {"Canada": "https://example.ca/offer"}
        assert details["password"] is True
        assert details["expiry"] == "2099-01-01 00:00:00"
        assert details["parameters"] == [{"name": "utm_source", "value": "launch"}]
        assert details["pixels"] == [pixel["id"]]


@pytest.mark.timeout(300)
async def test_a_hundred_thousand_clicks_all_show_in_the_stats(
    make_run: MakeRun, pytestconfig: pytest.Config
) -> None:
    key = make_run.admin_key()
    api = make_run.gateway_url + "/api"
    async with aiohttp.ClientSession() as http:
        link = await succeed(
            http, "POST", f"{api}/url/add", key, {"url": "https://example.com/landing"}
        )
        short = URL(link["shorturl"])
        assert short.origin() == URL(make_run.edge_url)

        edge = URL(make_run.edge_url)
        assert edge.host is not None
        assert edge.port is not None
        load = await get_many(edge.host, edge.port, short.path, CLICKS, headers=BROWSER)
        assert dict(load.statuses) == {302: CLICKS}

        started = time.monotonic()
        clicks = None
        while time.monotonic() - started < COUNTED_WITHIN:
            clicks = (await succeed(http, "GET", f"{api}/url/{link['id']}", key))["data"]["clicks"]
            if clicks >= CLICKS:
                break
            await asyncio.sleep(3)  # the key's bucket refills a request every 2 s
        counted_after = time.monotonic() - started
        assert clicks == CLICKS
        listed = (await succeed(http, "GET", f"{api}/urls", key))["data"]["urls"]
        assert [u["clicks"] for u in listed if u["id"] == link["id"]] == [CLICKS]
        # the account says the same: every click tracked, no limit, none left out
        usage = (await succeed(http, "GET", f"{api}/account", key))["data"]["usage"]
        assert usage["clicks"] == {"used": CLICKS, "limit": 0, "reached": False, "overQuota": 0}

    report_figure(
        pytestconfig,
        f"fresh install: {CLICKS:,} clicks through the edge in {load.seconds:.1f} s "
        f"({load.per_second:,.0f}/s), all {clicks:,} in the stats "
        f"{counted_after:.1f} s after the last",
    )
