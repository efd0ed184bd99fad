"""Users (API.md §11, admin only): list and filter, get, add, delete."""

from __future__ import annotations

import secrets

import asyncpg

from services.accounts.credentials import sha256_hex
from shared.passwords import verify_password
from tests.accounts.conftest import AccountsApi, EventTap, SamplePlans
from tests.support import principals
from tests.support.principals import UNLIMITED_LIMITS

USER_KEYS = [
    "id",
    "email",
    "username",
    "avatar",
    "status",
    "planid",
    "expires",
    "registered",
    "apikey",
    "usage",  # an extension (see test_usage.py)
]


async def test_add_user_answers_the_key_once_and_stores_its_hash(
    api: AccountsApi, pg_pool: asyncpg.Pool, events: EventTap
) -> None:
    tag = secrets.token_hex(4)
    got = await api.call(
        "POST",
        "/api/user/add",
        principals.admin(),
        {"username": f"user{tag}", "password": "1234567891011", "email": f"Demo{tag}@Example.com"},
    )
    assert got.status == 200
    assert got.body["error"] == 0
    assert got.body["message"] == "User has been registered."
    data = got.body["data"]
    assert list(data) == ["id", "email", "username", "apikey"]
    assert data["email"] == f"demo{tag}@example.com"
    assert data["username"] == f"user{tag}"
    key = data["apikey"]
    assert len(key) >= 43
    row = await pg_pool.fetchrow("SELECT * FROM accounts.users WHERE id = $1", data["id"])
    assert row is not None
    assert row["role"] == "user"
    assert row["plan_id"] == 1
    assert verify_password("1234567891011", row["password_hash"])
    assert "1234567891011" not in row["password_hash"]
    keys = await pg_pool.fetch("SELECT * FROM accounts.api_keys WHERE user_id = $1", data["id"])
    assert [(k["key_hash"], k["prefix"]) for k in keys] == [(sha256_hex(key), key[:8])]
    # the admin's listing shows only the prefix
    listed = await api.call("GET", f"/api/user/{data['id']}", principals.admin())
    assert listed.body["data"]["apikey"] == key[:8]
    # no planid: the install's default plan, every feature on and no quota
    assert (await api.resolve(key)).body["limits"] == UNLIMITED_LIMITS
    # analytics learns the new user's plan
    event = await events.wait_for("plan.changed", user_id=data["id"])
    assert event["payload"] == {
        "plan_id": 1,
        "user_id": data["id"],
        "limits": UNLIMITED_LIMITS,
        "role": "user",
    }


async def test_add_user_with_a_paid_plan(api: AccountsApi, plans: SamplePlans) -> None:
    user = await api.add_user(planid=plans.business, expiration="2099-11-20 11:00:00")
    data = (await api.call("GET", f"/api/user/{user.id}", principals.admin())).body["data"]
    assert data["status"] == "pro"
    assert data["planid"] == plans.business
    assert data["expires"] == "2099-11-20 11:00:00"


async def test_add_user_failures_store_nothing(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    existing = await api.add_user()
    tag = secrets.token_hex(4)
    good = {"username": f"n{tag}", "email": f"n{tag}@example.com", "password": "secret"}
    for body, status, message in (
        ({**good, "username": existing.username.upper()}, 409, "This username is already taken."),
        ({**good, "email": existing.email}, 409, "This email address is already in use."),
        ({**good, "email": "nope"}, 400, "The field 'email' must be a valid email address."),
        ({**good, "password": "1234"}, 400, "The field 'password' must be at least 5 characters."),
        ({**good, "username": "a b"}, 400, None),
        ({**good, "username": "ab"}, 400, None),
        ({**good, "username": ["x"]}, 400, "The field 'username' must be a string."),
        ({**good, "planid": "two"}, 400, "The field 'planid' must be an integer."),
        ({**good, "planid": 999999}, 404, "Plan not found."),
        ({**good, "expiration": "later"}, 400, None),
        (
            {k: v for k, v in good.items() if k != "password"},
            400,
            "The field 'password' is required.",
        ),
        ({k: v for k, v in good.items() if k != "email"}, 400, "The field 'email' is required."),
        (
            {k: v for k, v in good.items() if k != "username"},
            400,
            "The field 'username' is required.",
        ),
        (b'{"username": ', 400, "Malformed JSON body."),
    ):
        got = await api.call("POST", "/api/user/add", principals.admin(), body)
        assert got.status == status, body
        assert got.body["error"] == 1
        if message:
            assert got.body["message"] == message
    assert (
        await pg_pool.fetchval(
            "SELECT count(*) FROM accounts.users WHERE username = $1 OR email = $2",
            good["username"],
            good["email"],
        )
        == 0
    )


async def test_list_users_with_filters(api: AccountsApi, plans: SamplePlans) -> None:
    admin = principals.admin()
    tag = secrets.token_hex(4)
    free = await api.add_user(email=f"free-{tag}@example.com")
    pro = await api.add_user(email=f"pro-{tag}@example.com", planid=plans.business)
    got = await api.call("GET", f"/api/users?email={tag}", admin)
    assert got.status == 200
    assert got.body["error"] == 0
    listed = got.body["data"]
    assert [u["id"] for u in listed] == [pro.id, free.id]  # newest first
    assert all(list(u) == USER_KEYS for u in listed)
    assert listed[0]["status"] == "pro"
    assert listed[0]["planid"] == plans.business
    assert listed[1]["status"] == "free"
    assert listed[1]["apikey"] == free.apikey[:8]
    only_free = (await api.call("GET", f"/api/users?filter=free&email={tag}", admin)).body["data"]
    assert [u["id"] for u in only_free] == [free.id]
    only_pro = (await api.call("GET", f"/api/users?filter=pro&email={tag.upper()}", admin)).body
    assert [u["id"] for u in only_pro["data"]] == [pro.id]
    no_admins = (await api.call("GET", f"/api/users?filter=admin&email={tag}", admin)).body
    assert no_admins["data"] == []
    paged = (await api.call("GET", f"/api/users?email={tag}&limit=1&page=2", admin)).body
    assert [u["id"] for u in paged["data"]] == [free.id]


async def test_list_users_admin_filter(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    user = await api.add_user()
    await pg_pool.execute("UPDATE accounts.users SET role = 'admin' WHERE id = $1", user.id)
    admins = await api.call(
        "GET", f"/api/users?filter=admin&email={user.email}", principals.admin()
    )
    assert [u["id"] for u in admins.body["data"]] == [user.id]
    resolved = (await api.resolve(user.apikey)).body
    assert resolved["role"] == "admin"


async def test_list_users_bad_parameters(api: AccountsApi) -> None:
    admin = principals.admin()
    for query, message in (
        ("filter=vip", "The parameter 'filter' must be one of: admin, free, pro."),
        ("limit=0", "The parameter 'limit' must be a positive integer."),
        ("page=x", "The parameter 'page' must be a positive integer."),
    ):
        got = await api.call("GET", f"/api/users?{query}", admin)
        assert got.status == 400
        assert got.body == {"error": 1, "message": message}


async def test_get_unknown_user_is_404(api: AccountsApi) -> None:
    for path in ("/api/user/999999999999", "/api/user/0", "/api/user/abc"):
        got = await api.call("GET", path, principals.admin())
        assert got.status == 404
        assert got.body["error"] == 1


async def test_user_endpoints_are_admin_only(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    victim = await api.add_user()
    _, who = await api.new_principal()
    for method, path, body in (
        ("GET", "/api/users", None),
        ("GET", f"/api/user/{victim.id}", None),
        (
            "POST",
            "/api/user/add",
            {"username": "sneaky", "email": "s@example.com", "password": "12345"},
        ),
        ("DELETE", f"/api/user/{victim.id}/delete", None),
        ("GET", f"/api/user/login/{victim.id}", None),
    ):
        got = await api.call(method, path, who, body)
        assert got.status == 403, path
        assert got.body["error"] == 1
    assert (
        await pg_pool.fetchval("SELECT count(*) FROM accounts.users WHERE id = $1", victim.id) == 1
    )
    assert (
        await pg_pool.fetchval("SELECT count(*) FROM accounts.users WHERE username = 'sneaky'") == 0
    )


async def test_delete_user_removes_everything(
    api: AccountsApi, pg_pool: asyncpg.Pool, events: EventTap
) -> None:
    user, who = await api.new_principal()
    group = (await api.call("POST", "/api/contact/group/add", who, {"name": "G"})).body["id"]
    await api.call("POST", "/api/contact/add", who, {"name": "Ann", "groups": [group]})
    assert (await api.call("GET", f"/api/user/login/{user.id}", principals.admin())).status == 200
    got = await api.call("DELETE", f"/api/user/{user.id}/delete", principals.admin())
    assert got.status == 200
    assert got.body == {"error": 0, "message": "User has been deleted."}
    assert got.headers["X-Principal-Invalidate"] == f"user:{user.id}"
    assert (await api.resolve(user.apikey)).status == 404
    event = await events.wait_for("user.deleted", user_id=user.id)
    assert event["payload"] == {"user_id": user.id}
    for table in ("users", "api_keys", "sso_tokens", "contacts", "contact_groups"):
        column = "id" if table == "users" else "owner_id" if "contact" in table else "user_id"
        count = await pg_pool.fetchval(
            f"SELECT count(*) FROM accounts.{table} WHERE {column} = $1", user.id
        )
        assert count == 0, table
    again = await api.call("DELETE", f"/api/user/{user.id}/delete", principals.admin())
    assert again.status == 404
    assert (await api.call("GET", f"/api/user/{user.id}", principals.admin())).status == 404


async def test_admin_cannot_delete_themselves(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    user = await api.add_user()
    await pg_pool.execute("UPDATE accounts.users SET role = 'admin' WHERE id = $1", user.id)
    who = await api.principal(user.apikey)
    got = await api.call("DELETE", f"/api/user/{user.id}/delete", who)
    assert got.status == 400
    assert got.body == {"error": 1, "message": "You cannot delete your own account."}
    assert await pg_pool.fetchval("SELECT count(*) FROM accounts.users WHERE id = $1", user.id) == 1
