"""The caller's own account (API.md §2): read, update, key regeneration, API secret."""

from __future__ import annotations

import hashlib
import re

import asyncpg

from services.accounts.credentials import sha256_hex
from shared.passwords import verify_password
from tests.accounts.conftest import AccountsApi, EventTap, SamplePlans
from tests.support import principals

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


async def test_get_account_has_the_published_shape(api: AccountsApi) -> None:
    user, who = await api.new_principal()
    got = await api.call("GET", "/api/account", who)
    assert got.status == 200
    assert got.body["error"] == 0
    data = got.body["data"]
    published = ["id", "email", "username", "avatar", "status", "expires", "registered"]
    assert list(data) == [*published, "usage"]  # usage: an extension (see test_usage.py)
    digest = hashlib.sha256(user.email.encode()).hexdigest()
    assert data["id"] == user.id
    assert data["email"] == user.email
    assert data["username"] == user.username
    assert data["avatar"] == f"https://www.gravatar.com/avatar/{digest}?d=identicon"
    assert data["status"] == "free"
    assert data["expires"] is None
    assert DATE_RE.match(data["registered"])


async def test_paid_user_is_pro_with_expiry(api: AccountsApi, plans: SamplePlans) -> None:
    _, who = await api.new_principal(planid=plans.business, expiration="2099-01-02 03:04:05")
    data = (await api.call("GET", "/api/account", who)).body["data"]
    assert data["status"] == "pro"
    assert data["expires"] == "2099-01-02 03:04:05"


async def test_account_of_a_deleted_user_is_404(api: AccountsApi) -> None:
    user, who = await api.new_principal()
    assert (
        await api.call("DELETE", f"/api/user/{user.id}/delete", principals.admin())
    ).status == 200
    got = await api.call("GET", "/api/account", who)
    assert got.status == 404
    assert got.body["error"] == 1


async def test_update_email_and_password(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    user, who = await api.new_principal()
    got = await api.call(
        "PUT",
        "/api/account/update",
        who,
        {"email": "  New.Address@Example.com ", "password": "newpassword"},
    )
    assert got.status == 200
    assert got.body == {"error": 0, "message": "Account has been successfully updated."}
    row = await pg_pool.fetchrow(
        "SELECT email, password_hash FROM accounts.users WHERE id = $1", user.id
    )
    assert row is not None
    assert row["email"] == "new.address@example.com"
    assert verify_password("newpassword", row["password_hash"])
    assert not verify_password(user.password, row["password_hash"])
    assert (await api.call("GET", "/api/account", who)).body["data"]["email"] == (
        "new.address@example.com"
    )


async def test_update_to_a_taken_email_is_409(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    other = await api.add_user()
    user, who = await api.new_principal()
    got = await api.call(
        "PUT", "/api/account/update", who, {"email": other.email.upper(), "password": "changed!"}
    )
    assert got.status == 409
    assert got.body == {"error": 1, "message": "This email address is already in use."}
    row = await pg_pool.fetchrow(
        "SELECT email, password_hash FROM accounts.users WHERE id = $1", user.id
    )
    assert row is not None
    assert row["email"] == user.email
    assert verify_password(user.password, row["password_hash"])  # nothing changed


async def test_update_to_own_email_is_fine(api: AccountsApi) -> None:
    user, who = await api.new_principal()
    got = await api.call("PUT", "/api/account/update", who, {"email": user.email})
    assert got.status == 200


async def test_bad_updates_are_400_and_change_nothing(
    api: AccountsApi, pg_pool: asyncpg.Pool
) -> None:
    user, who = await api.new_principal()
    before = await pg_pool.fetchrow("SELECT * FROM accounts.users WHERE id = $1", user.id)
    for body, message in (
        ({"email": "not-an-email"}, "The field 'email' must be a valid email address."),
        ({"password": "1234"}, "The field 'password' must be at least 5 characters."),
        ({"password": ""}, "The field 'password' must be at least 5 characters."),
        ({"password": ["x" * 8]}, "The field 'password' must be a string."),
        ({"email": 42}, "The field 'email' must be a valid email address."),
        ({"email": {"a": 1}}, "The field 'email' must be a string."),
        ({}, "Nothing to update: send 'email' and/or 'password'."),
        (b"{nope", "Malformed JSON body."),
        (b"[1]", "The JSON body must be an object."),
        ({"email": "ok@example.com", "password": "abc"}, None),
    ):
        got = await api.call("PUT", "/api/account/update", who, body)
        assert got.status == 400, body
        assert got.body["error"] == 1
        if message:
            assert got.body["message"] == message
    after = await pg_pool.fetchrow("SELECT * FROM accounts.users WHERE id = $1", user.id)
    assert after == before


async def test_regenerate_revokes_the_old_key_at_once(
    api: AccountsApi, events: EventTap, pg_pool: asyncpg.Pool
) -> None:
    user, who = await api.new_principal()
    got = await api.call("POST", "/api/account/apikey/regenerate", who)
    assert got.status == 200
    assert list(got.body) == ["error", "apikey"]
    new_key = got.body["apikey"]
    assert got.body["error"] == 0
    assert len(new_key) >= 43
    assert new_key != user.apikey
    assert got.headers["X-Principal-Invalidate"] == f"user:{user.id}"
    # the old key resolves no more; the new one does
    assert (await api.resolve(user.apikey)).status == 404
    assert (await api.resolve(new_key)).body["user_id"] == user.id
    event = await events.wait_for("apikey.revoked", user_id=user.id)
    assert event["payload"] == {"user_id": user.id, "key_hash": sha256_hex(user.apikey)}
    # only hashes are stored
    stored = await pg_pool.fetch(
        "SELECT key_hash, prefix, revoked_at FROM accounts.api_keys WHERE user_id = $1", user.id
    )
    assert {r["key_hash"] for r in stored} == {sha256_hex(user.apikey), sha256_hex(new_key)}
    assert all(new_key not in str(dict(r)) for r in stored if r["revoked_at"] is None)
    assert [r["prefix"] for r in stored if r["revoked_at"] is None] == [new_key[:8]]


async def test_regenerate_with_expiry(api: AccountsApi) -> None:
    _, who = await api.new_principal()
    got = await api.call(
        "POST", "/api/account/apikey/regenerate", who, {"expiration": "2099-12-31 23:59:59"}
    )
    assert got.status == 200
    resolved = await api.resolve(got.body["apikey"])
    assert resolved.body["expires_at"] == 4102444799
    for bad in ("2001-01-01 00:00:00", "tomorrow"):
        refused = await api.call("POST", "/api/account/apikey/regenerate", who, {"expiration": bad})
        assert refused.status == 400
    # the key from before the refusals still works
    assert (await api.resolve(got.body["apikey"])).status == 200


async def test_secret_is_the_hmac_key_of_the_user(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    user, who = await api.new_principal()
    got = await api.call("GET", "/api/account/secret", who)
    assert got.status == 200
    assert list(got.body) == ["error", "secret"]
    assert len(got.body["secret"]) == 64
    stored = await pg_pool.fetchval("SELECT api_secret FROM accounts.users WHERE id = $1", user.id)
    assert got.body["secret"] == stored
    _, other_who = await api.new_principal()
    assert (await api.call("GET", "/api/account/secret", other_who)).body["secret"] != stored


async def test_account_endpoints_need_a_user(api: AccountsApi) -> None:
    from shared.identity import ANONYMOUS, SERVICE

    for who in (ANONYMOUS, SERVICE):
        got = await api.call("GET", "/api/account", who)
        assert got.status == 403
    unsigned = await api.client.get("/api/account")
    assert unsigned.status == 403
