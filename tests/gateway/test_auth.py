"""Bearer keys: who gets in, who gets a JSON 401, and who gets slowed down."""

from __future__ import annotations

import asyncio
import time

from tests.gateway.conftest import Gateway, StartGateway, body_of, closed_port, unique_ip
from tests.gateway.standin import StandIn

MISSING = "Missing API key: send it as 'Authorization: Bearer <API key>'."
INVALID = "Invalid API key: it is unknown, revoked or expired."


async def test_valid_key_reaches_the_service_as_its_user(
    gateway: Gateway, accounts: StandIn
) -> None:
    key, uid = accounts.issue()
    resp = await gateway.get("/api/account", key)
    assert resp.status == 200
    body = await body_of(resp)
    assert body["service"] == "accounts"
    assert body["uid"] == uid
    assert body["role"] == "user"


async def test_missing_or_malformed_authorization_is_401(
    gateway: Gateway, accounts: StandIn
) -> None:
    for headers in (
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer    "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Token abc"},
    ):
        resp = await gateway.get("/api/account", headers=headers)
        assert resp.status == 401, headers
        assert await body_of(resp) == {"error": 1, "message": MISSING}
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            assert name in resp.headers
    assert accounts.lookups == 0  # nothing to look up
    assert accounts.hits() == []  # and nothing reached the service


async def test_unknown_key_is_401_and_never_forwarded(gateway: Gateway, accounts: StandIn) -> None:
    resp = await gateway.get("/api/account", "not-a-key-anyone-has")
    assert resp.status == 401
    assert await body_of(resp) == {"error": 1, "message": INVALID}
    assert accounts.hits() == []


async def test_unknown_key_is_remembered_briefly(gateway: Gateway, accounts: StandIn) -> None:
    for _ in range(3):
        resp = await gateway.get("/api/account", "another-unknown-key")
        assert resp.status == 401
    assert accounts.lookups == 1


async def test_expired_key_is_401(gateway: Gateway, accounts: StandIn) -> None:
    key, _ = accounts.issue(expires_at=int(time.time()) - 10)
    resp = await gateway.get("/api/account", key)
    assert resp.status == 401
    assert await body_of(resp) == {"error": 1, "message": INVALID}
    assert accounts.hits() == []


async def test_key_expiring_while_cached_stops_working(gateway: Gateway, accounts: StandIn) -> None:
    key, _ = accounts.issue(expires_at=int(time.time()) + 2)
    assert (await gateway.get("/api/account", key)).status == 200
    await asyncio.sleep(2.5)
    resp = await gateway.get("/api/account", key)
    assert resp.status == 401
    assert len(accounts.hits()) == 1


async def test_repeated_failures_from_one_address_get_429(
    start_gateway: StartGateway, accounts: StandIn
) -> None:
    gateway = await start_gateway(auth_failure_limit=3, trusted_proxy_hops=1)
    attacker, neighbour = unique_ip(), unique_ip()
    good_key, _ = accounts.issue()
    cached_key, _ = accounts.issue()
    resp = await gateway.get("/api/account", cached_key, headers={"X-Forwarded-For": unique_ip()})
    assert resp.status == 200  # now cached

    remaining = []
    for attempt in range(3):
        resp = await gateway.get(
            "/api/account", f"guess-{attempt}", headers={"X-Forwarded-For": attacker}
        )
        assert resp.status == 401
        assert resp.headers["X-RateLimit-Limit"] == "3"
        remaining.append(int(resp.headers["X-RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]

    resp = await gateway.get("/api/account", "guess-4", headers={"X-Forwarded-For": attacker})
    assert resp.status == 429
    assert await body_of(resp) == {"error": 1, "message": "Too Many Requests. Please retry later."}
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    lookups = accounts.lookups

    # A blocked address cannot make the accounts service look up more keys...
    resp = await gateway.get("/api/account", good_key, headers={"X-Forwarded-For": attacker})
    assert resp.status == 429
    assert accounts.lookups == lookups
    # ...but a key already known good keeps working, and other addresses are unaffected.
    resp = await gateway.get("/api/account", cached_key, headers={"X-Forwarded-For": attacker})
    assert resp.status == 200
    resp = await gateway.get("/api/account", "guess-5", headers={"X-Forwarded-For": neighbour})
    assert resp.status == 401
    resp = await gateway.get("/api/account", good_key, headers={"X-Forwarded-For": neighbour})
    assert resp.status == 200


async def test_client_cannot_pick_its_address_without_a_trusted_proxy(
    start_gateway: StartGateway,
) -> None:
    gateway = await start_gateway(auth_failure_limit=2)
    statuses = []
    for attempt in range(3):
        # A fresh X-Forwarded-For each time does not reset the count: the peer is the client.
        resp = await gateway.get(
            "/api/account", f"x-{attempt}", headers={"X-Forwarded-For": unique_ip()}
        )
        statuses.append(resp.status)
    # The failures of other tests from 127.0.0.1 may already count: never more than two 401s.
    assert statuses.count(401) <= 2
    assert statuses[-1] == 429


async def test_accounts_down_is_json_503(start_gateway: StartGateway) -> None:
    gateway = await start_gateway(accounts_url=f"http://127.0.0.1:{closed_port()}")
    resp = await gateway.get("/api/account", "some-key-never-cached")
    assert resp.status == 503
    body = await body_of(resp)
    assert body["error"] == 1
    assert "retry" in body["message"].lower()


async def test_redis_down_is_json_503(start_gateway: StartGateway, accounts: StandIn) -> None:
    gateway = await start_gateway(redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    key, _ = accounts.issue()
    resp = await gateway.get("/api/account", key)
    assert resp.status == 503
    assert await body_of(resp) == {
        "error": 1,
        "message": "Service unavailable. Please retry later.",
    }
    assert accounts.hits() == []
