"""Countries on a fresh install: no GeoIP database, no trusted country header; a
visit from a known public address shows its country in the link's stats, through
the real edge, broker, worker and gateway."""

from __future__ import annotations

import secrets

import aiohttp
import pytest

from tests.e2e.conftest import add_user, admin_key, e2e_settings  # noqa: F401 - fixtures
from tests.e2e.test_click_pipeline import FIREFOX_LINUX, wait_for_clicks
from tests.support.api_calls import call
from tests.support.system import RunningSystem

pytestmark = pytest.mark.e2e


async def test_visits_from_public_addresses_show_their_country(
    fresh_system: RunningSystem,
    admin_key: str,  # noqa: F811
) -> None:
    api = fresh_system.gateway_url + "/api"
    tag = secrets.token_hex(4)
    async with aiohttp.ClientSession() as http:
        key = await add_user(http, api, admin_key, f"geo{tag}", 1)
        status, body, _ = await call(
            http,
            "POST",
            f"{api}/url/add",
            key,
            {"url": "https://example.com/", "custom": f"g{tag}"},
        )
        assert status == 200, body
        link_id, short = body["id"], body["shorturl"]
        # ARIN's 8.8.8.8 and 2001:4860:4860::8888 (US), the RIPE NCC's 193.0.6.139 (NL),
        # and a documentation address no registry assigns.
        for address in ("8.8.8.8", "2001:4860:4860::8888", "193.0.6.139", "192.0.2.1"):
            async with http.get(
                short,
                headers={"User-Agent": FIREFOX_LINUX, "X-Forwarded-For": address},
                allow_redirects=False,
            ) as resp:
                assert resp.status == 302
        data = await wait_for_clicks(http, f"{api}/url/{link_id}", key, 4)
    assert data["topCountries"] == {"United States": 2, "Netherlands": 1, "Unknown": 1}
