"""A member works in the owner's workspace through the gateway: what they make
belongs to the owner and records them, their permissions hold (403 with the
permission it needs), and a removal or a lowered role applies at once."""

from __future__ import annotations

import asyncio
import secrets
import time

import aiohttp

from shared import identity
from shared.identity import Principal
from tests.teams.conftest import Teams


async def test_a_links_member_creates_a_link_for_the_owner_and_nothing_else(teams: Teams) -> None:
    owner = await teams.owner(count=3)
    member, membership = await teams.join(owner, ["links"])

    added = await teams.call(
        "POST", "/api/url/add", member.key, {"url": "https://example.com/team"}, workspace=owner.id
    )
    assert added.status == 200, added.body
    link_id = added.body["id"]
    # the owner's link, made by the member
    seen = await teams.call("GET", f"/api/url/{link_id}", owner.key)
    assert seen.status == 200, seen.body
    assert seen.body["details"]["createdby"] == member.id
    listed = await teams.call("GET", "/api/urls", owner.key)
    assert [u["id"] for u in listed.body["data"]["urls"]] == [link_id]
    # not the member's own
    assert (await teams.call("GET", f"/api/url/{link_id}", member.key)).status == 404
    mine = await teams.call("GET", "/api/urls", member.key)
    assert mine.body["data"]["urls"] == []
    # the owner's own links record the owner
    own = await teams.call("POST", "/api/url/add", owner.key, {"url": "https://example.com/own"})
    own_seen = await teams.call("GET", f"/api/url/{own.body['id']}", owner.key)
    assert own_seen.body["details"]["createdby"] == owner.id

    # domains need 'assets': refused by the gateway, nothing reaches the links service
    for method, path, body in (
        ("GET", "/api/domains", None),
        ("POST", "/api/domain/add", {"domain": "https://go.team-example.com"}),
    ):
        refused = await teams.call(method, path, member.key, body, workspace=owner.id)
        assert refused.status == 403, refused.body
        assert refused.body == {
            "error": 1,
            "message": "Your role in this workspace does not allow this: it needs the "
            "'assets' (manage domains, pixels and pages) permission.",
        }
    domains = await teams.call("GET", "/api/domains", owner.key)
    assert domains.body["data"]["domains"] == []
    # nor the owner's account, key or team
    for method, path in (("GET", "/api/account"), ("POST", "/api/account/apikey/regenerate")):
        refused = await teams.call(method, path, member.key, workspace=owner.id)
        assert refused.status == 403
        assert "not available in a team workspace" in refused.body["message"]
    assert (await teams.call("GET", "/api/team", member.key, workspace=owner.id)).status == 403

    # removed: the next request in the workspace is refused
    removed = await teams.call("DELETE", f"/api/team/{membership}/delete", owner.key)
    assert removed.status == 200, removed.body
    after = await teams.call(
        "POST", "/api/url/add", member.key, {"url": "https://example.com/late"}, workspace=owner.id
    )
    assert after.status == 403
    assert after.body["message"] == (
        f"You are not a member of workspace {owner.id}: check the X-Workspace header."
    )
    # their own account still works
    assert (await teams.call("GET", "/api/account", member.key)).status == 200


async def test_lowering_a_role_applies_at_once(teams: Teams) -> None:
    owner = await teams.owner()
    member, membership = await teams.join(owner, ["analytics", "links"])
    made = await teams.call(
        "POST", "/api/url/add", member.key, {"url": "https://example.com/a"}, workspace=owner.id
    )
    assert made.status == 200, made.body
    lowered = await teams.call(
        "PUT", f"/api/team/{membership}/update", owner.key, {"role": "viewer"}
    )
    assert lowered.status == 200, lowered.body
    assert lowered.body["data"]["permissions"] == ["analytics"]
    refused = await teams.call(
        "POST", "/api/url/add", member.key, {"url": "https://example.com/b"}, workspace=owner.id
    )
    assert refused.status == 403
    assert "'links'" in refused.body["message"]
    # a viewer still reads the workspace's links
    listed = await teams.call("GET", "/api/urls", member.key, workspace=owner.id)
    assert listed.status == 200
    assert [u["id"] for u in listed.body["data"]["urls"]] == [made.body["id"]]


async def test_a_removal_made_elsewhere_reaches_the_gateway_within_a_second(
    teams: Teams,
) -> None:
    """Not through the gateway (another replica, an operator): the team.changed
    event, published by the accounts outbox, evicts the cached principal."""
    owner = await teams.owner()
    member, membership = await teams.join(owner, ["links"])
    assert (await teams.call("GET", "/api/urls", member.key, workspace=owner.id)).status == 200
    # the accounts service called directly as the owner, signed as the gateway would
    settings = teams.gateway.settings
    path = f"/api/team/{membership}/delete"
    who = Principal(user_id=owner.id, role="user", limits={"team": {"enabled": "1"}})
    headers = identity.signed_headers(who, settings.internal_secret, "DELETE", path)
    async with (
        aiohttp.ClientSession() as http,
        http.delete(settings.accounts_url + path, headers=headers) as resp,
    ):
        assert resp.status == 200, await resp.text()
        assert resp.headers["X-Principal-Invalidate"] == f"user:{member.id}"
    started = time.monotonic()
    while True:
        got = await teams.call("GET", "/api/urls", member.key, workspace=owner.id)
        if got.status == 403:
            break
        assert time.monotonic() - started < 1.0, "still allowed a second after the removal"
        await asyncio.sleep(0.02)


async def test_a_workspace_header_that_is_not_an_id_or_not_yours(teams: Teams) -> None:
    owner = await teams.owner()
    stranger = await teams.user()
    for value in ("abc", "-1", "0", "1.5", "١٢"):
        got = await teams.call("GET", "/api/urls", stranger.key, workspace=value)
        assert got.status == 400, (value, got.body)
        assert "X-Workspace" in got.body["message"]
    got = await teams.call("GET", "/api/urls", stranger.key, workspace=owner.id)
    assert got.status == 403
    assert got.body["message"].startswith(f"You are not a member of workspace {owner.id}")
    # one's own id is one's own workspace
    assert (await teams.call("GET", "/api/urls", owner.key, workspace=owner.id)).status == 200


async def test_the_owners_plan_applies_in_the_workspace(teams: Teams) -> None:
    """Quotas and features are the owner's: a member of a 1-link workspace gets
    the owner's quota message, whatever their own plan."""
    owner = await teams.user(await teams.plan(links=1, team={"enabled": "1", "count": "0"}))
    member, _ = await teams.join(owner, ["links"])
    first = await teams.call(
        "POST", "/api/url/add", member.key, {"url": "https://example.com/1"}, workspace=owner.id
    )
    assert first.status == 200, first.body
    second = await teams.call(
        "POST", "/api/url/add", member.key, {"url": "https://example.com/2"}, workspace=owner.id
    )
    assert second.status == 403
    assert "'links' limit" in second.body["message"]
    # their own workspace is on their own plan
    own = await teams.call("POST", "/api/url/add", member.key, {"url": "https://example.com/3"})
    assert own.status == 200, own.body


async def test_links_added_in_bulk_record_the_member(teams: Teams) -> None:
    owner = await teams.owner()
    member, _ = await teams.join(owner, ["links"])
    got = await teams.call(
        "POST",
        "/api/urls/bulk",
        member.key,
        {"urls": [{"url": f"https://example.com/bulk/{i}"} for i in range(3)]},
        workspace=owner.id,
    )
    assert got.status == 200, got.body
    ids = [result["id"] for result in got.body["results"]]
    assert len(ids) == 3
    for link_id in ids:
        seen = await teams.call("GET", f"/api/url/{link_id}", owner.key)
        assert seen.body["details"]["createdby"] == member.id


async def test_guessing_workspaces_costs_tokens(teams: Teams) -> None:
    """A refusal for a workspace one is not a member of takes a token like any
    request: the bucket runs dry and the guesses stop at 429."""
    got = await teams.call(
        "POST",
        "/api/plan/add",
        teams.admin_key,
        {"name": f"Slow {secrets.token_hex(4)}", "free": True, "rate": {"capacity": 3}},
    )
    assert got.status == 200, got.body
    guesser = await teams.user(got.body["id"])
    owner = await teams.owner()
    statuses = [
        (await teams.call("GET", "/api/urls", guesser.key, workspace=owner.id + i)).status
        for i in range(4)
    ]
    assert statuses == [403, 403, 403, 429]


async def test_a_member_lists_their_workspaces(teams: Teams) -> None:
    first, second = await teams.owner(), await teams.owner()
    member, _ = await teams.join(first, ["links"])
    invited = await teams.invite(second, email=member.email, permissions=["analytics"])
    joined = await teams.call(
        "POST", "/api/team/accept", member.key, {"token": invited.body["data"]["token"]}
    )
    assert joined.status == 200, joined.body
    got = await teams.call("GET", "/api/team/workspaces", member.key)
    assert got.status == 200, got.body
    listed = [
        (w["workspace"], w["owner"], w["permissions"]) for w in got.body["data"]["workspaces"]
    ]
    assert listed == [
        (second.id, second.username, ["analytics"]),
        (first.id, first.username, ["links"]),
    ]
    assert got.body["data"]["nextpage"] == 1
    inside = await teams.call("GET", "/api/team/workspaces", member.key, workspace=first.id)
    assert inside.status == 403
