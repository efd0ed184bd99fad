"""Operator actions (admin only): set a user's password, revoke a user's keys."""

from __future__ import annotations

import asyncpg

from services.accounts.credentials import sha256_hex
from shared.passwords import verify_password
from tests.accounts.conftest import AccountsApi, EventTap
from tests.support import principals


async def test_reset_password_changes_only_that_users_password(
    api: AccountsApi, pg_pool: asyncpg.Pool
) -> None:
    ana, bob = await api.add_user(), await api.add_user()
    got = await api.call(
        "PUT", f"/api/user/{ana.id}/password", principals.admin(), {"password": "n3w-pass"}
    )
    assert (got.status, got.body) == (
        200,
        {"error": 0, "message": "The password has been changed."},
    )
    rows = {
        r["id"]: r["password_hash"]
        for r in await pg_pool.fetch(
            "SELECT id, password_hash FROM accounts.users WHERE id = any($1::bigint[])",
            [ana.id, bob.id],
        )
    }
    assert verify_password("n3w-pass", rows[ana.id])
    assert verify_password(bob.password, rows[bob.id])

    short = await api.call(
        "PUT", f"/api/user/{ana.id}/password", principals.admin(), {"password": "abc"}
    )
    assert (short.status, short.body["error"]) == (400, 1)
    missing = await api.call(
        "PUT", "/api/user/999999999/password", principals.admin(), {"password": "n3w-pass"}
    )
    assert (missing.status, missing.body["message"]) == (404, "User not found.")
    _, ana_principal = await api.new_principal()
    refused = await api.call(
        "PUT", f"/api/user/{bob.id}/password", ana_principal, {"password": "n3w-pass"}
    )
    assert refused.status == 403


async def test_revoke_keys_stops_the_key_and_announces_it(
    api: AccountsApi, events: EventTap
) -> None:
    ana = await api.add_user()
    assert (await api.resolve(ana.apikey)).status == 200
    got = await api.call("POST", f"/api/user/{ana.id}/apikey/revoke", principals.admin())
    assert (got.status, got.body) == (
        200,
        {"error": 0, "message": "API keys revoked.", "revoked": 1},
    )
    assert got.headers["X-Principal-Invalidate"] == f"user:{ana.id}"
    assert (await api.resolve(ana.apikey)).status == 404
    await events.wait_for("apikey.revoked", user_id=ana.id, key_hash=sha256_hex(ana.apikey))
    again = await api.call("POST", f"/api/user/{ana.id}/apikey/revoke", principals.admin())
    assert again.body["revoked"] == 0
