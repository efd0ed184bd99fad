"""Plan flags the gateway enforces: ``api`` (keys of a plan without it are refused)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from services.accounts.plan_limits import FEATURES, NUMBERS
from tests.teams.conftest import Teams

NO_API = (
    "API access is not part of {whose} plan (the 'api' feature): its API keys are refused. "
    "An administrator can turn it on."
)


async def test_keys_of_a_plan_without_api_are_refused_until_it_is_turned_on(teams: Teams) -> None:
    plan_id = await teams.plan(api={"enabled": "0"}, team={"enabled": "1", "count": "0"})
    user = await teams.user(plan_id)
    for method, path in (("GET", "/api/account"), ("GET", "/api/urls"), ("POST", "/api/url/add")):
        got = await teams.call(method, path, user.key, {"url": "https://example.com/"})
        assert got.status == 403, got.body
        assert got.body == {"error": 1, "message": NO_API.format(whose="your")}
    async with teams.pg_pool.acquire() as conn:
        assert not await conn.fetchval(
            "SELECT count(*) FROM links.links WHERE owner_id = $1", user.id
        )
    turned_on = await teams.call(
        "PUT", f"/api/plan/{plan_id}/update", teams.admin_key, {"limits": {"api": {"enabled": 1}}}
    )
    assert turned_on.status == 200, turned_on.body
    assert (await teams.call("GET", "/api/account", user.key)).status == 200


async def test_a_workspace_on_a_plan_without_api_refuses_its_members(teams: Teams) -> None:
    plan_id = await teams.plan(team={"enabled": "1", "count": "0"})
    owner = await teams.user(plan_id)
    member, _ = await teams.join(owner, ["links"])
    assert (await teams.call("GET", "/api/urls", member.key, workspace=owner.id)).status == 200
    off = await teams.call(
        "PUT", f"/api/plan/{plan_id}/update", teams.admin_key, {"limits": {"api": {"enabled": 0}}}
    )
    assert off.status == 200, off.body
    got = await teams.call("GET", "/api/urls", member.key, workspace=owner.id)
    assert got.status == 403
    assert got.body["message"] == NO_API.format(whose="this workspace's")
    # the member's own plan is another matter
    assert (await teams.call("GET", "/api/account", member.key)).status == 200


async def test_admins_are_never_refused_by_their_plan(teams: Teams) -> None:
    plan_id = await teams.plan(api={"enabled": "0"})
    async with teams.pg_pool.acquire() as conn:
        admin_id = await conn.fetchval(
            "SELECT u.id FROM accounts.users u JOIN accounts.api_keys k ON k.user_id = u.id "
            "WHERE k.key_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')",
            teams.admin_key,
        )
    moved = await teams.call(
        "PUT", f"/api/plan/{plan_id}/user/{admin_id}", teams.admin_key, {"type": "lifetime"}
    )
    assert moved.status == 200, moved.body
    assert (await teams.call("GET", "/api/account", teams.admin_key)).status == 200


async def test_a_new_plan_has_api_on(teams: Teams) -> None:
    got = await teams.call(
        "POST", "/api/plan/add", teams.admin_key, {"name": f"Plain {secrets.token_hex(4)}"}
    )
    assert got.status == 200, got.body
    assert got.body["data"]["limits"]["api"] == {"enabled": "1"}


def test_every_plan_limit_says_what_enforces_it() -> None:
    """Each limit a plan stores is in the table of shared/CONTRACTS.md ("Plan
    limits"): gated somewhere, or said to be informational."""
    contracts = (Path(__file__).parents[2] / "shared" / "CONTRACTS.md").read_text()
    section = contracts.split("## Plan limits: what enforces each", 1)[1]
    documented: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            documented.update(re.findall(r"`(\w+)`", first_cell))
    for name in (*NUMBERS, *FEATURES):
        assert name in documented, f"plan limit '{name}' is not in CONTRACTS.md's 'Plan limits'"
