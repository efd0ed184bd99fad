"""Admins are never limited, in any service (issue 9 item 1): an admin on a plan
with a monthly click quota still has every click counted, across the real
processes (accounts announces the role with the plan, the worker exempts it),
while a user on the same plan is held to the quota."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.e2e.conftest import add_user
from tests.support.api_calls import call
from tests.support.system import RunningSystem
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
QUOTA = 2
VISITS = 5


async def shorten(http: aiohttp.ClientSession, api: str, key: str) -> dict[str, Any]:
    status, body, _ = await call(
        http, "POST", f"{api}/url/add", key, {"url": "https://example.com/"}
    )
    assert status == 200, body
    added: dict[str, Any] = body
    return added


async def visit_times(http: aiohttp.ClientSession, url: str, times: int) -> None:
    for _ in range(times):
        async with http.get(url, headers={"User-Agent": BROWSER}, allow_redirects=False) as resp:
            assert resp.status == 302


async def clicks_when_settled(
    http: aiohttp.ClientSession, url: str, key: str, *, at_least: int
) -> int:
    """The link's clicks once they reached ``at_least`` and then stayed put for a
    few polls (slowly: a key's bucket holds 30 requests a minute)."""
    seen: list[int] = []
    for _ in range(25):
        status, body, _ = await call(http, "GET", url, key)
        assert status == 200, body
        seen.append(int((body["data"] or {}).get("clicks") or 0))
        if seen[-1] >= at_least and seen[-3:] == [seen[-1]] * 3:
            return seen[-1]
        await asyncio.sleep(0.7)
    raise AssertionError(f"clicks never settled: {seen}")


async def test_an_admin_on_a_plan_with_a_click_quota_has_every_click_counted(
    system: RunningSystem, admin_key: str, pg_pool: asyncpg.Pool
) -> None:
    api = system.gateway_url + "/api"
    tag = secrets.token_hex(4)
    async with aiohttp.ClientSession() as http:
        status, body, _ = await call(
            http,
            "POST",
            f"{api}/plan/add",
            admin_key,
            {"name": f"Quota {tag}", "limits": {"clicks": QUOTA, "retention": 7}},
        )
        assert status == 200, body
        plan_id = body["id"]
        status, body, _ = await call(http, "GET", f"{api}/account", admin_key)
        assert status == 200, body
        admin_id = body["data"]["id"]
        status, body, _ = await call(
            http, "PUT", f"{api}/plan/{plan_id}/user/{admin_id}", admin_key, {"type": "lifetime"}
        )
        assert status == 200, body
        user_key = await add_user(http, api, admin_key, f"quota{tag}", plan_id)
        status, body, _ = await call(http, "GET", f"{api}/account", user_key)
        user_id = body["data"]["id"]

        async def plans_known() -> bool:  # clicks and plan changes travel apart
            rows = await pg_pool.fetch(
                "SELECT user_id, role FROM analytics.user_plans"
                " WHERE plan_id = $1 AND user_id = any($2::bigint[])",
                plan_id,
                [admin_id, user_id],
            )
            return {(r["user_id"], r["role"]) for r in rows} == {
                (admin_id, "admin"),
                (user_id, "user"),
            }

        await eventually(plans_known)

        admins = await shorten(http, api, admin_key)
        users = await shorten(http, api, user_key)
        await visit_times(http, users["shorturl"], VISITS)  # the plan's quota holds here
        await visit_times(http, admins["shorturl"], VISITS)

        user_clicks = await clicks_when_settled(
            http, f"{api}/url/{users['id']}", user_key, at_least=QUOTA
        )
        assert user_clicks == QUOTA
        admin_clicks = await clicks_when_settled(
            http, f"{api}/url/{admins['id']}", admin_key, at_least=QUOTA
        )
        assert admin_clicks == VISITS
