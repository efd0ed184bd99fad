"""``POST /internal/principal``: what the gateway learns about a bearer key."""

from __future__ import annotations

import asyncpg

from services.accounts.credentials import sha256_hex
from shared.identity import ANONYMOUS, SERVICE
from tests.accounts.conftest import AccountsApi, SamplePlans
from tests.support import principals
from tests.support.principals import BUSINESS_LIMITS, UNLIMITED_LIMITS


async def test_valid_key_resolves_to_the_contract_shape(
    api: AccountsApi, plans: SamplePlans
) -> None:
    user = await api.add_user(planid=plans.business)
    got = await api.resolve(user.apikey)
    assert got.status == 200
    assert got.body == {
        "user_id": user.id,
        "username": user.username,
        "role": "user",
        "plan_id": plans.business,
        "limits": BUSINESS_LIMITS,
        "expires_at": None,
        "rate": {"capacity": 30, "window": 60},
    }


async def test_new_user_gets_the_default_plan_with_every_feature(api: AccountsApi) -> None:
    user = await api.add_user()
    got = await api.resolve(user.apikey)
    assert (got.body["plan_id"], got.body["limits"]) == (1, UNLIMITED_LIMITS)


async def test_unknown_regenerated_expired_and_deleted_keys_are_404(
    api: AccountsApi, pg_pool: asyncpg.Pool
) -> None:
    assert (await api.resolve("no-such-key")).status == 404

    user, who = await api.new_principal()
    regenerated = await api.call("POST", "/api/account/apikey/regenerate", who)
    assert (await api.resolve(user.apikey)).status == 404
    new_key = regenerated.body["apikey"]
    assert (await api.resolve(new_key)).status == 200

    await pg_pool.execute(
        "UPDATE accounts.api_keys SET expires_at = now() - interval '1 second' WHERE key_hash = $1",
        sha256_hex(new_key),
    )
    expired = await api.resolve(new_key)
    assert expired.status == 404
    assert expired.body == {"error": 1, "message": "Unknown API key."}

    doomed = await api.add_user()
    assert (await api.resolve(doomed.apikey)).status == 200
    await api.call("DELETE", f"/api/user/{doomed.id}/delete", principals.admin())
    assert (await api.resolve(doomed.apikey)).status == 404


async def test_only_services_may_ask(api: AccountsApi) -> None:
    user, who = await api.new_principal()
    body = {"key_hash": sha256_hex(user.apikey)}
    for caller in (who, ANONYMOUS, principals.admin()):
        got = await api.call("POST", "/internal/principal", caller, body)
        assert got.status == 403
    unsigned = await api.client.post("/internal/principal", json=body)
    assert unsigned.status == 403


async def test_malformed_lookups_are_400(api: AccountsApi) -> None:
    for body in ({}, {"key_hash": "abc"}, {"key_hash": 5}, b"nope"):
        got = await api.call("POST", "/internal/principal", SERVICE, body)
        assert got.status == 400, body
        assert got.body["error"] == 1
