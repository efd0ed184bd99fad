"""Usage against the plan's limits in the account answer and the admin's user
views (issue 9 item 3): links from the links service, tracked clicks this month
from the analytics service (both real, on real ports); a figure nobody can give
is null, never a false 0."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import pytest

from services.links.app import create_app as create_links_app
from shared import identity
from shared.identity import SERVICE, Principal
from shared.settings import Settings
from tests.accounts.conftest import AccountsApi, NewUser, StartAccounts
from tests.conftest import ServeApp
from tests.links.conftest import LinksApi
from tests.support import principals
from tests.support.analytics_service import send_clicks, serve_analytics, visit
from tests.support.service_client import service_starter
from tests.support.waiting import eventually


@dataclass
class Platform:
    accounts: AccountsApi
    links: LinksApi
    analytics_url: str


@pytest.fixture
async def platform(
    serve_app: ServeApp, settings: Settings, start_accounts: StartAccounts
) -> Platform:
    analytics_url = await serve_analytics(serve_app, settings)
    links = await service_starter(serve_app, settings, create_links_app, LinksApi)(
        analytics_url=analytics_url
    )
    accounts = await start_accounts(
        analytics_url=analytics_url, links_url=str(links.client.make_url("")).rstrip("/")
    )
    return Platform(accounts, links, analytics_url)


async def tiny_plan(api: AccountsApi) -> int:
    """A plan of 2 links and 3 tracked clicks a month."""
    got = await api.call(
        "POST",
        "/api/plan/add",
        principals.admin(),
        {"name": f"Tiny {secrets.token_hex(4)}", "free": True, "limits": {"links": 2, "clicks": 3}},
    )
    assert got.status == 200, got.body
    plan_id: int = got.body["id"]
    return plan_id


async def usage_seen_by_all(api: AccountsApi, user: NewUser, who: Principal) -> dict[str, Any]:
    """The usage the user sees, checked to be what the admin's views show."""
    mine = await api.call("GET", "/api/account", who)
    assert mine.status == 200, mine.body
    usage: dict[str, Any] = mine.body["data"]["usage"]
    one = await api.call("GET", f"/api/user/{user.id}", principals.admin())
    assert one.body["data"]["usage"] == usage
    listed = await api.call("GET", f"/api/users?email={user.email}", principals.admin())
    assert [u["usage"] for u in listed.body["data"]] == [usage]
    return usage


async def test_a_user_at_their_quotas_is_told_so(platform: Platform, pg_pool: asyncpg.Pool) -> None:
    api = platform.accounts
    user, who = await api.new_principal(planid=await tiny_plan(api))
    assert await usage_seen_by_all(api, user, who) == {
        "links": {"used": 0, "limit": 2, "reached": False},
        "clicks": {"used": 0, "limit": 3, "reached": False, "overQuota": 0},
    }

    first = await platform.links.add(who, url="https://example.com/a")
    await platform.links.add(who, url="https://example.com/b")
    # the analytics worker applies the quota once it knows the user's plan (an event)
    await eventually(
        lambda: pg_pool.fetchval("SELECT 1 FROM analytics.user_plans WHERE user_id = $1", user.id)
    )
    alias = first["shorturl"].rsplit("/", 1)[1]
    await send_clicks(
        platform.links.settings,
        (
            visit(
                n,
                first["id"],
                user.id,
                alias=alias,
                destination="https://example.com/a",
                accept_language="en",
            )
            for n in range(1, 6)
        ),
    )

    async def all_counted() -> bool:
        got = await api.call("GET", "/api/account", who)
        return bool(got.body["data"]["usage"]["clicks"]["overQuota"] == 2)

    await eventually(all_counted)
    assert await usage_seen_by_all(api, user, who) == {
        "links": {"used": 2, "limit": 2, "reached": True},
        "clicks": {"used": 3, "limit": 3, "reached": True, "overQuota": 2},
    }
    # and the links service refuses a third link, as the answer said it would
    status, body = await platform.links.call(
        "POST", "/api/url/add", who, {"url": "https://c.example"}
    )
    assert (status, body["error"]) == (403, 1)


async def test_admins_and_the_default_plan_have_no_limit(
    platform: Platform, pg_pool: asyncpg.Pool
) -> None:
    api = platform.accounts
    user, who = await api.new_principal()  # the default plan
    await platform.links.add(who, url="https://example.com/x")
    assert await usage_seen_by_all(api, user, who) == {
        "links": {"used": 1, "limit": 0, "reached": False},
        "clicks": {"used": 0, "limit": 0, "reached": False, "overQuota": 0},
    }
    # an admin on a limited plan is still never limited
    boss = await api.add_user(planid=await tiny_plan(api))
    await pg_pool.execute("UPDATE accounts.users SET role = 'admin' WHERE id = $1", boss.id)
    boss_who = await api.principal(boss.apikey)
    assert boss_who.role == "admin"
    for _ in range(3):
        await platform.links.add(boss_who, url="https://example.com/boss")
    assert await usage_seen_by_all(api, boss, boss_who) == {
        "links": {"used": 3, "limit": 0, "reached": False},
        "clicks": {"used": 0, "limit": 0, "reached": False, "overQuota": 0},
    }


async def test_unknown_figures_are_null_never_zero(
    start_accounts: StartAccounts, serve_app: ServeApp, settings: Settings
) -> None:
    """With neither service answering (closed ports), or only one."""
    alone = await start_accounts()
    user, who = await alone.new_principal(planid=await tiny_plan(alone))
    assert await usage_seen_by_all(alone, user, who) == {
        "links": {"used": None, "limit": 2, "reached": None},
        "clicks": {"used": None, "limit": 3, "reached": None, "overQuota": None},
    }
    default_user, default_who = await alone.new_principal()
    assert await usage_seen_by_all(alone, default_user, default_who) == {
        "links": {"used": None, "limit": 0, "reached": False},
        "clicks": {"used": None, "limit": 0, "reached": False, "overQuota": None},
    }
    # links answers, analytics does not
    links = await service_starter(serve_app, settings, create_links_app, LinksApi)()
    with_links = await start_accounts(links_url=str(links.client.make_url("")).rstrip("/"))
    await links.add(who, url="https://example.com/only-links")
    assert await usage_seen_by_all(with_links, user, who) == {
        "links": {"used": 1, "limit": 2, "reached": False},
        "clicks": {"used": None, "limit": 3, "reached": None, "overQuota": None},
    }


async def test_the_usage_endpoints_answer_services_only(platform: Platform) -> None:
    secret = platform.links.settings.internal_secret
    bases = (str(platform.links.client.make_url("")).rstrip("/"), platform.analytics_url)
    async with aiohttp.ClientSession() as http:
        for base in bases:
            for who, body, status in (
                (principals.user(), b'{"owners": [1]}', 403),
                (principals.admin(), b'{"owners": [1]}', 403),
                (SERVICE, b'{"owners": [1, "x"]}', 400),
                (SERVICE, b"{}", 400),
                (SERVICE, b'{"owners": [7, 8]}', 200),
            ):
                headers = identity.signed_headers(who, secret, "POST", "/internal/usage", body)
                async with http.post(
                    f"{base}/internal/usage",
                    data=body,
                    headers={**headers, "Content-Type": "application/json"},
                ) as resp:
                    assert resp.status == status, (base, who.role, body)
                    if status == 200:
                        assert set((await resp.json())["usage"]) == {"7", "8"}
