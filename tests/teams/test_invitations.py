"""Invitations: single-use, expiring, stored hashed; new and existing accounts;
the plan's team.enabled and team.count, exact under concurrency."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from tests.teams.conftest import Teams


async def test_an_invitation_works_once_and_is_stored_hashed(teams: Teams) -> None:
    owner = await teams.owner()
    invited = await teams.invite(owner, permissions=["analytics", "links"])
    assert invited.status == 200, invited.body
    data = invited.body["data"]
    token = data["token"]
    assert data["link"].endswith(f"/api/team/accept?token={token}")
    assert data["permissions"] == ["analytics", "links"]
    async with teams.pg_pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT token_hash FROM accounts.team_invitations WHERE id = $1", data["id"]
        )
    assert stored == hashlib.sha256(token.encode()).hexdigest()

    # accepted through the link's query string, by several at once: exactly one joins
    answers = await asyncio.gather(
        *(
            teams.call("POST", f"/api/team/accept?token={token}", None, {"password": "pw-12345"})
            for _ in range(5)
        )
    )
    assert sorted(a.status for a in answers) == [200, 410, 410, 410, 410], answers
    assert {a.body["message"] for a in answers if a.status == 410} == {
        "This invitation has already been used or has expired."
    }
    joined = next(a for a in answers if a.status == 200).body["data"]
    assert joined["workspace"] == owner.id
    assert joined["apikey"]
    again = await teams.call(
        "POST", "/api/team/accept", None, {"token": token, "password": "pw-12345"}
    )
    assert again.status == 410
    listed = await teams.call("GET", "/api/team", owner.key)
    assert [m["userid"] for m in listed.body["data"]["members"]] == [joined["userid"]]
    assert listed.body["data"]["invitations"] == []
    async with teams.pg_pool.acquire() as conn:
        accounts = await conn.fetchval(
            "SELECT count(*) FROM accounts.users WHERE lower(email) = lower($1)", data["email"]
        )
    assert accounts == 1


async def test_an_expired_invitation_is_refused_and_changes_nothing(teams: Teams) -> None:
    owner = await teams.owner()
    invited = await teams.invite(owner)
    data = invited.body["data"]
    async with teams.pg_pool.acquire() as conn:
        await conn.execute(
            "UPDATE accounts.team_invitations SET expires_at = now() - interval '1 second' "
            "WHERE id = $1",
            data["id"],
        )
    got = await teams.call(
        "POST", "/api/team/accept", None, {"token": data["token"], "password": "pw-12345"}
    )
    assert got.status == 410
    assert got.body == {
        "error": 1,
        "message": "This invitation has already been used or has expired.",
    }
    async with teams.pg_pool.acquire() as conn:
        assert not await conn.fetchval(
            "SELECT count(*) FROM accounts.users WHERE lower(email) = lower($1)", data["email"]
        )
        assert not await conn.fetchval(
            "SELECT count(*) FROM accounts.team_members WHERE owner_id = $1", owner.id
        )
    unknown = await teams.call(
        "POST",
        "/api/team/accept",
        None,
        {"token": secrets.token_urlsafe(32), "password": "pw-12345"},
    )
    assert unknown.status == 404


async def test_an_existing_account_accepts_with_its_key(teams: Teams) -> None:
    owner = await teams.owner()
    someone = await teams.user()
    other = await teams.user()
    invited = await teams.invite(owner, email=someone.email.upper(), permissions=["team"])
    token = invited.body["data"]["token"]
    # no key: that address has an account
    keyless = await teams.call(
        "POST", "/api/team/accept", None, {"token": token, "password": "x" * 8}
    )
    assert keyless.status == 409
    assert "accept the invitation with its API key" in keyless.body["message"]
    # another account's key: not for them
    wrong = await teams.call("POST", "/api/team/accept", other.key, {"token": token})
    assert wrong.status == 403
    assert wrong.body["message"] == "This invitation was sent to another email address."
    got = await teams.call("POST", "/api/team/accept", someone.key, {"token": token})
    assert got.status == 200, got.body
    assert got.body["data"]["userid"] == someone.id
    assert "apikey" not in got.body["data"]
    # a 'team' member manages the owner's team
    team = await teams.call("GET", "/api/team", someone.key, workspace=owner.id)
    assert team.status == 200, team.body
    assert [m["userid"] for m in team.body["data"]["members"]] == [someone.id]


async def test_bad_invitations_are_refused_and_store_nothing(teams: Teams) -> None:
    owner = await teams.owner()
    for body, message in (
        ({"permissions": ["links"]}, "The field 'email' is required."),
        ({"email": "not-an-address", "permissions": ["links"]}, None),
        ({"email": "a@example.com"}, None),
        ({"email": "a@example.com", "permissions": []}, None),
        ({"email": "a@example.com", "permissions": ["root"]}, None),
        ({"email": "a@example.com", "permissions": [1]}, None),
        ({"email": "a@example.com", "role": "owner"}, None),
        ({"email": "a@example.com", "role": "viewer", "permissions": ["links"]}, None),
        ({"email": owner.email, "permissions": ["links"]}, "You cannot invite yourself"),
    ):
        got = await teams.call("POST", "/api/team/invite", owner.key, body)
        assert got.status == 400, (body, got.body)
        if message:
            assert got.body["message"].startswith(message), got.body
    async with teams.pg_pool.acquire() as conn:
        assert not await conn.fetchval(
            "SELECT count(*) FROM accounts.team_invitations WHERE owner_id = $1", owner.id
        )
    for path in ("/api/team/999999999/update", "/api/team/999999999/delete"):
        method = "PUT" if path.endswith("update") else "DELETE"
        got = await teams.call(method, path, owner.key, {"role": "viewer"})
        assert got.status == 404, got.body
    # someone else's member is not found either
    member_owner = await teams.owner()
    _, membership = await teams.join(member_owner, ["links"])
    got = await teams.call("DELETE", f"/api/team/{membership}/delete", owner.key)
    assert got.status == 404


async def test_a_plan_without_teams_refuses_them(teams: Teams) -> None:
    solo = await teams.user(await teams.plan(team={"enabled": "0", "count": "0"}))
    got = await teams.invite(solo)
    assert got.status == 403
    assert got.body["message"] == "Your plan does not include teams (the 'team' feature)."
    assert (await teams.call("GET", "/api/team", solo.key)).status == 403


async def test_team_count_is_exact_under_concurrent_invitations(teams: Teams) -> None:
    owner = await teams.owner(count=3)
    answers = await asyncio.gather(*(teams.invite(owner) for _ in range(12)))
    assert sorted(a.status for a in answers) == [200] * 3 + [403] * 9
    refused = next(a for a in answers if a.status == 403)
    assert refused.body["message"] == (
        "Your plan allows 3 team members (the 'team' limit), open invitations included."
    )
    async with teams.pg_pool.acquire() as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM accounts.team_invitations WHERE owner_id = $1", owner.id
            )
            == 3
        )


async def test_acceptances_never_exceed_a_lowered_count(teams: Teams) -> None:
    """Invitations made while the plan allowed 4; the plan now allows 2: of four
    concurrent acceptances, exactly two join."""
    plan_id = await teams.plan(team={"enabled": "1", "count": "4"})
    owner = await teams.user(plan_id)
    tokens = [(await teams.invite(owner)).body["data"]["token"] for _ in range(4)]
    lowered = await teams.call(
        "PUT", f"/api/plan/{plan_id}/update", teams.admin_key, {"limits": {"team": {"count": 2}}}
    )
    assert lowered.status == 200, lowered.body
    answers = await asyncio.gather(
        *(
            teams.call("POST", "/api/team/accept", None, {"token": t, "password": "pw-12345"})
            for t in tokens
        )
    )
    assert sorted(a.status for a in answers) == [200, 200, 403, 403], [a.body for a in answers]
    assert {a.body["message"] for a in answers if a.status == 403} == {
        "The team is full: its plan allows 2 members."
    }
    async with teams.pg_pool.acquire() as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM accounts.team_members WHERE owner_id = $1", owner.id
            )
            == 2
        )


async def test_a_withdrawn_invitation_frees_its_seat_and_its_link_stops(teams: Teams) -> None:
    owner = await teams.owner(count=1)
    first = await teams.invite(owner)
    assert (await teams.invite(owner)).status == 403  # the one seat is held
    invitation = first.body["data"]
    stranger = await teams.owner()
    path = f"/api/team/invitation/{invitation['id']}/delete"
    assert (await teams.call("DELETE", path, stranger.key)).status == 404
    got = await teams.call("DELETE", path, owner.key)
    assert got.status == 200, got.body
    assert got.body["message"] == "Invitation has been withdrawn."
    accepted = await teams.call(
        "POST", "/api/team/accept", None, {"token": invitation["token"], "password": "pw-12345"}
    )
    assert accepted.status == 404
    assert (await teams.invite(owner)).status == 200
    assert (await teams.call("DELETE", path, owner.key)).status == 404
