"""Teams across the real processes (gateway, accounts, links, edge): a member
with a links-only role makes a link in the owner's workspace (the owner's, with
the member as its creator, redirecting at the edge), is refused domains, and
loses access within a second of being removed; a plan without ``api`` has its
keys refused."""

from __future__ import annotations

import secrets
import time
from typing import Any

import aiohttp
import orjson
import pytest

from tests.e2e.conftest import add_user
from tests.support.system import RunningSystem

pytestmark = pytest.mark.e2e


async def request(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    key: str | None,
    body: Any = None,
    workspace: int | None = None,
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if workspace is not None:
        headers["X-Workspace"] = str(workspace)
    data = orjson.dumps(body) if body is not None else None
    if data is not None:
        headers["Content-Type"] = "application/json"
    async with http.request(method, url, headers=headers, data=data) as resp:
        return resp.status, orjson.loads(await resp.read())


async def new_plan(http: aiohttp.ClientSession, api: str, admin_key: str, limits: Any) -> int:
    status, body = await request(
        http,
        "POST",
        f"{api}/plan/add",
        admin_key,
        {"name": f"Team {secrets.token_hex(4)}", "free": True, "limits": limits},
    )
    assert status == 200, body
    plan_id: int = body["id"]
    return plan_id


async def test_a_links_member_in_the_owners_workspace(
    system: RunningSystem, admin_key: str
) -> None:
    api = system.gateway_url + "/api"
    tag = secrets.token_hex(4)
    async with aiohttp.ClientSession() as http:
        plan_id = await new_plan(
            http, api, admin_key, {"links": 0, "team": {"enabled": "1", "count": "2"}}
        )
        owner_key = await add_user(http, api, admin_key, f"owner{tag}", plan_id)
        _, account = await request(http, "GET", f"{api}/account", owner_key)
        owner_id = account["data"]["id"]

        status, invited = await request(
            http,
            "POST",
            f"{api}/team/invite",
            owner_key,
            {"email": f"member{tag}@example.com", "role": "editor"},
        )
        assert status == 200, invited
        link = invited["data"]["link"]
        assert link.startswith(system.gateway_url + "/api/team/accept?token=")
        status, joined = await request(http, "POST", link, None, {"password": "member-pass"})
        assert status == 200, joined
        member_key, member_id = joined["data"]["apikey"], joined["data"]["userid"]
        membership = joined["data"]["id"]
        # the link works once
        status, again = await request(http, "POST", link, None, {"password": "member-pass"})
        assert status == 410, again

        status, added = await request(
            http,
            "POST",
            f"{api}/url/add",
            member_key,
            {"url": "https://example.com/team-e2e"},
            workspace=owner_id,
        )
        assert status == 200, added
        status, seen = await request(http, "GET", f"{api}/url/{added['id']}", owner_key)
        assert status == 200, seen
        assert seen["details"]["createdby"] == member_id
        async with http.get(added["shorturl"], allow_redirects=False) as resp:
            assert resp.status == 302
            assert resp.headers["Location"] == "https://example.com/team-e2e"

        status, refused = await request(
            http, "GET", f"{api}/domains", member_key, workspace=owner_id
        )
        assert status == 403
        assert "'assets'" in refused["message"]

        status, removed = await request(
            http, "DELETE", f"{api}/team/{membership}/delete", owner_key
        )
        assert status == 200, removed
        removed_at = time.monotonic()
        while True:
            status, _ = await request(http, "GET", f"{api}/urls", member_key, workspace=owner_id)
            if status == 403:
                break
            assert time.monotonic() - removed_at < 1.0, "the member kept access past a second"
        # their own account is still theirs
        status, _ = await request(http, "GET", f"{api}/account", member_key)
        assert status == 200


async def test_keys_of_a_plan_without_api_are_refused(
    system: RunningSystem, admin_key: str
) -> None:
    api = system.gateway_url + "/api"
    async with aiohttp.ClientSession() as http:
        plan_id = await new_plan(http, api, admin_key, {"api": {"enabled": "0"}})
        key = await add_user(http, api, admin_key, f"noapi{secrets.token_hex(4)}", plan_id)
        status, body = await request(http, "GET", f"{api}/account", key)
        assert status == 403
        assert body["message"].startswith("API access is not part of your plan")
        # the administrator's key works whatever the plan
        status, _ = await request(http, "GET", f"{api}/plans", admin_key)
        assert status == 200
