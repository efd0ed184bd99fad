"""The add-contact compatibility API answers the seed's envelope even when the
gateway itself refuses (found by the fuzzer: a 429 came in the /api envelope,
which a client written against the seed cannot read)."""

from __future__ import annotations

from tests.gateway.conftest import StartGateway, body_of, closed_port, unique_ip
from tests.gateway.standin import StandIn

ENVELOPE = {"request": {"authentication": {"key": "k", "hash": "h"}, "contact": {}}}


def seed_status(code: int, message: str) -> dict[str, object]:
    return {"response": {"status": {"code": code, "message": message}}}


async def test_rate_limited_add_contact_answers_the_seed_envelope(
    start_gateway: StartGateway, accounts: StandIn
) -> None:
    gateway = await start_gateway(trusted_proxy_hops=1, rate_limit_capacity=1, rate_limit_window=60)
    headers = {"X-Forwarded-For": unique_ip()}
    first = await gateway.call("POST", "/v1/add-contact/json", json=ENVELOPE, headers=headers)
    assert first.status == 200
    refused = await gateway.call("POST", "/v1/add-contact/json", json=ENVELOPE, headers=headers)
    assert refused.status == 429
    assert await body_of(refused) == seed_status(429, "Too Many Requests. Please retry later.")
    assert int(refused.headers["Retry-After"]) >= 1
    assert len(accounts.hits("/v1/add-contact/json")) == 1


async def test_too_large_add_contact_answers_the_seed_envelope(
    start_gateway: StartGateway, accounts: StandIn
) -> None:
    gateway = await start_gateway(max_body_bytes=64)
    resp = await gateway.call(
        "POST", "/v1/add-contact/json", json={"request": {"padding": "x" * 100}}
    )
    assert resp.status == 413
    body = await body_of(resp)
    assert body["response"]["status"]["code"] == 413
    assert isinstance(body["response"]["status"]["message"], str)
    assert accounts.hits("/v1/add-contact/json") == []


async def test_add_contact_with_accounts_down_answers_the_seed_envelope(
    start_gateway: StartGateway,
) -> None:
    gateway = await start_gateway(accounts_url=f"http://127.0.0.1:{closed_port()}")
    resp = await gateway.call("POST", "/v1/add-contact/json", json=ENVELOPE)
    assert resp.status == 503
    assert await body_of(resp) == seed_status(
        503, "The accounts service is unavailable. Please retry later."
    )
