"""The token bucket per user: 30 per 60 s unless the plan says otherwise."""

from __future__ import annotations

import asyncio
import time

from tests.gateway.conftest import Gateway, StartGateway, body_of, unique_ip
from tests.gateway.standin import StandIn

TOO_MANY = {"error": 1, "message": "Too Many Requests. Please retry later."}


async def test_thirty_pass_and_the_thirty_first_is_429(gateway: Gateway, accounts: StandIn) -> None:
    key, _ = accounts.issue()
    started = time.time()
    remaining = []
    for _ in range(30):
        resp = await gateway.get("/api/account", key)
        assert resp.status == 200
        assert resp.headers["X-RateLimit-Limit"] == "30"
        remaining.append(int(resp.headers["X-RateLimit-Remaining"]))
        # the bucket refills at one token per 2 s: full again 2 s per token taken
        reset = int(resp.headers["X-RateLimit-Reset"])
        taken = 30 - remaining[-1]
        assert started + 2 * taken - 2 <= reset <= time.time() + 2 * taken + 1
    assert remaining == list(range(29, -1, -1))

    resp = await gateway.get("/api/account", key)
    assert resp.status == 429
    assert await body_of(resp) == TOO_MANY
    assert resp.headers["X-RateLimit-Limit"] == "30"
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(resp.headers["Retry-After"]) <= 2
    assert int(resp.headers["X-RateLimit-Reset"]) >= int(started) + 58
    assert len(accounts.hits()) == 30  # the refused request never reached the service


async def test_hundred_concurrent_requests_let_exactly_thirty_through(
    gateway: Gateway, accounts: StandIn
) -> None:
    # a window so long that no token comes back while the burst is answered
    key, _ = accounts.issue(rate={"capacity": 30, "window": 3600})
    responses = await asyncio.gather(*(gateway.get("/api/account", key) for _ in range(100)))
    statuses = [r.status for r in responses]
    assert statuses.count(200) == 30
    assert statuses.count(429) == 70
    assert len(accounts.hits()) == 30
    assert accounts.lookups == 1  # one lookup for the whole burst


async def test_bucket_refills(gateway: Gateway, accounts: StandIn) -> None:
    key, _ = accounts.issue(rate={"capacity": 3, "window": 2})
    for _ in range(3):
        assert (await gateway.get("/api/account", key)).status == 200
    refused = await gateway.get("/api/account", key)
    assert refused.status == 429
    await asyncio.sleep(int(refused.headers["Retry-After"]))
    resp = await gateway.get("/api/account", key)
    assert resp.status == 200
    assert resp.headers["X-RateLimit-Limit"] == "3"
    # full again after the whole window: three in a row once more
    await asyncio.sleep(2.1)
    statuses = [(await gateway.get("/api/account", key)).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


async def test_plan_sets_its_own_rate(gateway: Gateway, accounts: StandIn) -> None:
    key, _ = accounts.issue(rate={"capacity": 5, "window": 60})
    statuses = []
    for _ in range(6):
        resp = await gateway.get("/api/account", key)
        assert resp.headers["X-RateLimit-Limit"] == "5"
        statuses.append(resp.status)
    assert statuses == [200] * 5 + [429]


async def test_buckets_are_per_user(gateway: Gateway, accounts: StandIn) -> None:
    first, uid = accounts.issue(rate={"capacity": 1, "window": 60})
    second, _ = accounts.issue(rate={"capacity": 1, "window": 60})
    same_user, _ = accounts.issue(rate={"capacity": 1, "window": 60}, user_id=uid)
    assert (await gateway.get("/api/account", first)).status == 200
    assert (await gateway.get("/api/account", first)).status == 429
    assert (await gateway.get("/api/account", same_user)).status == 429  # the user's bucket
    assert (await gateway.get("/api/account", second)).status == 200  # another user's


async def test_regenerated_key_gets_no_fresh_bucket(gateway: Gateway, accounts: StandIn) -> None:
    key, _ = accounts.issue()
    for _ in range(29):
        assert (await gateway.get("/api/account", key)).status == 200
    resp = await gateway.call("POST", "/api/account/apikey/regenerate", key)  # the 30th
    assert resp.status == 200
    new = (await body_of(resp))["apikey"]
    resp = await gateway.get("/api/account", new)
    assert resp.status == 429
    assert await body_of(resp) == TOO_MANY
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert len(accounts.hits("/api/account")) == 30


async def test_errors_carry_the_rate_headers_too(gateway: Gateway, accounts: StandIn) -> None:
    key, _ = accounts.issue()
    resp = await gateway.get("/api/no-such-thing", key)
    assert resp.status == 404
    assert await body_of(resp) == {"error": 1, "message": "No such endpoint."}
    assert resp.headers["X-RateLimit-Limit"] == "30"
    assert resp.headers["X-RateLimit-Remaining"] == "29"
    assert "X-RateLimit-Reset" in resp.headers


async def test_add_contact_is_limited_per_address_without_a_key(
    start_gateway: StartGateway, accounts: StandIn
) -> None:
    gateway = await start_gateway(trusted_proxy_hops=1, rate_limit_capacity=2, rate_limit_window=60)
    ip = unique_ip()
    envelope = {"request": {"authentication": {"key": "k", "hash": "h"}, "contact": {}}}
    statuses = []
    for _ in range(3):
        resp = await gateway.call(
            "POST", "/v1/add-contact/json", json=envelope, headers={"X-Forwarded-For": ip}
        )
        statuses.append(resp.status)
        assert resp.headers["X-RateLimit-Limit"] == "2"
    assert statuses == [200, 200, 429]
    seen = accounts.hits("/v1/add-contact/json")
    assert len(seen) == 2
    assert seen[0].principal["role"] == "anonymous"
    assert seen[0].body == b'{"request":{"authentication":{"key":"k","hash":"h"},"contact":{}}}'
    # another address has its own bucket
    resp = await gateway.call(
        "POST", "/v1/add-contact/json", json=envelope, headers={"X-Forwarded-For": unique_ip()}
    )
    assert resp.status == 200


async def test_a_bulk_request_costs_a_token_per_hundred_links(
    gateway: Gateway, accounts: StandIn, links: StandIn
) -> None:
    key, _ = accounts.issue()
    urls = [{"url": f"https://example.com/{i}"} for i in range(1000)]
    resp = await gateway.call("POST", "/api/urls/bulk", key, json={"urls": urls})
    assert resp.status == 200
    assert resp.headers["X-RateLimit-Remaining"] == "20"  # 30 - 10
    resp = await gateway.call("POST", "/api/urls/bulk", key, json={"urls": urls[:250]})
    assert resp.headers["X-RateLimit-Remaining"] == "17"  # 3 more
    assert len(links.hits("/api/urls/bulk")) == 2
    # Not enough tokens left for 2,000 links: refused before the service sees it.
    resp = await gateway.call("POST", "/api/urls/bulk", key, json={"urls": urls * 2})
    assert resp.status == 429
    assert await body_of(resp) == TOO_MANY
    assert 1 <= int(resp.headers["Retry-After"]) <= 8
    assert len(links.hits("/api/urls/bulk")) == 2
    resp = await gateway.call("POST", "/api/urls/bulk", key, json={"urls": urls[:100]})
    assert (resp.status, resp.headers["X-RateLimit-Remaining"]) == (200, "15")
