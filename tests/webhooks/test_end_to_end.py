"""Webhooks across every real process (as ``make run`` starts them): a user on a
plan with webhooks registers an endpoint through the gateway; creating,
updating, clicking (the edge), exhausting a click limit (the edge refuses:
``link.expired``), going over the monthly quota (the worker: ``quota.reached``)
and deleting a link each reach the receiving server in this process, signed."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shared.settings import Settings
from tests.e2e.conftest import add_user, admin_key, e2e_settings  # noqa: F401 - fixtures
from tests.support.api_calls import call
from tests.support.system import RunningSystem, with_free_ports
from tests.support.waiting import eventually
from tests.webhooks.conftest import Receiver
from tests.webhooks.test_api import verify

pytestmark = pytest.mark.e2e

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"


@pytest.fixture
async def system(settings: Settings, tmp_path: Path) -> AsyncIterator[RunningSystem]:
    own = settings.with_overrides(
        redis_prefix=f"{settings.redis_prefix}wh{secrets.token_hex(3)}:",
        click_flush_interval=0.05,
        allow_private_webhooks=True,  # the receiver listens on loopback
        webhook_poll_interval=0.1,
    )
    running = RunningSystem(with_free_ports(own), log_dir=tmp_path)
    try:
        await running.start()
        yield running
    finally:
        await running.stop()


async def test_link_events_clicks_expiry_and_quota_reach_the_users_endpoint(
    system: RunningSystem,
    admin_key: str,  # noqa: F811 - the imported fixture
    receiver: Receiver,
) -> None:
    api = system.gateway_url + "/api"
    tag = secrets.token_hex(4)
    async with aiohttp.ClientSession() as http:
        status, plan, _ = await call(
            http,
            "POST",
            f"{api}/plan/add",
            admin_key,
            {
                "name": f"Hooks {tag}",
                "free": True,
                "limits": {"clicks": 2, "webhooks": {"enabled": "1", "count": "1"}},
                "rate": {"capacity": 10_000, "window": 60},
            },
        )
        assert status == 200, plan
        key = await add_user(http, api, admin_key, f"hook{tag}", plan["id"])
        status, added, _ = await call(
            http,
            "POST",
            f"{api}/webhook/add",
            key,
            {
                "url": receiver.url("/crm"),
                "events": [
                    "link.created",
                    "link.updated",
                    "link.deleted",
                    "link.clicked",
                    "link.expired",
                    "quota.reached",
                ],
            },
        )
        assert status == 200, added
        secret = added["secret"]
        status, second, _ = await call(
            http,
            "POST",
            f"{api}/webhook/add",
            key,
            {"url": receiver.url("/2"), "events": ["link.created"]},
        )
        assert status == 403, second  # the plan allows one

        status, link, _ = await call(
            http,
            "POST",
            f"{api}/url/add",
            key,
            {"url": "https://example.com/hooked", "clicklimit": 2},
        )
        assert status == 200, link
        status, body, _ = await call(
            http, "PUT", f"{api}/url/{link['id']}/update", key, {"url": "https://example.com/v2"}
        )
        assert status == 200, body
        # Two counted clicks use the click limit (and the plan's 2 clicks a month);
        # the third and later are refused at the edge: the link expired (announced once).
        for _ in range(5):
            async with http.get(
                link["shorturl"], headers={"User-Agent": FIREFOX}, allow_redirects=False
            ) as resp:
                await resp.read()

        def of_type(kind: str) -> list[dict[str, Any]]:
            return [r.json for r in receiver.at("/crm") if r.json["type"] == kind]

        async def seen(kind: str, count: int = 1) -> None:
            async def enough() -> bool:
                return len(of_type(kind)) >= count

            await eventually(enough, within=30)

        await seen("link.created")
        await seen("link.updated")
        await seen("link.clicked", 2)
        await seen("link.expired")
        [created] = of_type("link.created")
        assert created["data"]["link_id"] == link["id"]
        assert created["data"]["shorturl"] == link["shorturl"]
        assert of_type("link.updated")[0]["data"]["longurl"] == "https://example.com/v2"
        clicked = of_type("link.clicked")
        assert {c["data"]["link_id"] for c in clicked} == {link["id"]}
        assert clicked[0]["data"]["destination"].startswith("https://example.com/")
        [expired] = of_type("link.expired")
        assert expired["data"]["reason"] == "clicklimit"
        assert expired["data"]["link_id"] == link["id"]

        # A second link: its click goes over the plan's 2 clicks this month.
        status, other, _ = await call(
            http, "POST", f"{api}/url/add", key, {"url": "https://example.org/"}
        )
        assert status == 200, other
        async with http.get(
            other["shorturl"], headers={"User-Agent": FIREFOX}, allow_redirects=False
        ) as resp:
            assert resp.status == 302
        await seen("quota.reached")
        [quota] = of_type("quota.reached")
        assert quota["data"]["limit"] == 2

        status, body, _ = await call(http, "DELETE", f"{api}/url/{link['id']}/delete", key)
        assert status == 200, body
        await seen("link.deleted")
        assert of_type("link.deleted")[0]["data"] == {"link_id": link["id"]}

        for request in receiver.at("/crm"):
            assert verify(secret, request.headers, request.body)
        await asyncio.sleep(0.5)
        ids = [r.json["id"] for r in receiver.at("/crm")]
        assert len(ids) == len(set(ids))  # each event once
        assert len(of_type("link.expired")) == 1
        assert len(of_type("quota.reached")) == 1

        status, log, _ = await call(
            http, "GET", f"{api}/webhook/{added['id']}/deliveries?limit=100", key
        )
        assert status == 200, log
        assert {d["status"] for d in log["data"]["deliveries"]} == {200}
