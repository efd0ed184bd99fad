"""Hostile input on the accounts API (issue 9 item 13): NUL characters and
numbers no column can hold are a 400 (or the 404 of an object that cannot
exist) with a clear message, never a 5xx, and nothing is stored."""

from __future__ import annotations

import json
import secrets

import asyncpg

from shared.identity import SERVICE
from tests.accounts.conftest import AccountsApi
from tests.accounts.test_contacts import add, count_contacts
from tests.support import principals


async def test_nul_in_a_search_is_a_400(api: AccountsApi) -> None:
    _, who = await api.new_principal()
    admin = principals.admin()
    for path, caller, name in (
        ("/api/contacts?q=%00", who, "q"),
        ("/api/contacts?q=ann%00", who, "q"),
        ("/api/contacts?group=1%00", who, "group"),
        ("/api/users?email=%00", admin, "email"),
        ("/api/users?filter=admin%00", admin, "filter"),
        ("/api/contact/groups?page=%00", who, "page"),
    ):
        got = await api.call("GET", path, caller)
        assert got.status == 400, path
        assert got.body == {
            "error": 1,
            "message": f"The parameter '{name}' contains a NUL character.",
        }


async def test_digits_python_reads_but_int_refuses_are_a_400(api: AccountsApi) -> None:
    _, who = await api.new_principal()
    for path, caller, message in (
        ("/api/contacts?page=²", who, "The parameter 'page' must be a positive integer."),
        ("/api/contacts?group=²", who, "The parameter 'group' must be a group id."),
        (
            "/api/users?limit=²",
            principals.admin(),
            "The parameter 'limit' must be a positive integer.",
        ),
    ):
        got = await api.call("GET", path, caller)
        assert (got.status, got.body) == (400, {"error": 1, "message": message}), path


async def test_plan_ids_beyond_the_column_are_a_400_and_store_nothing(
    api: AccountsApi, pg_pool: asyncpg.Pool
) -> None:
    tag = secrets.token_hex(4)
    email = f"huge{tag}@example.com"
    for planid, message in (
        (1e30, "The field 'planid' must be at most 2147483647."),
        (2**31, "The field 'planid' must be at most 2147483647."),
        (2**70, "The field 'planid' must be at most 2147483647."),
        ("99999999999999999999", "The field 'planid' must be an integer."),
    ):
        got = await api.call(
            "POST",
            "/api/user/add",
            principals.admin(),
            # stdlib json: orjson refuses to write integers past 64 bits
            json.dumps(
                {"username": f"huge{tag}", "email": email, "password": "secret", "planid": planid}
            ).encode(),
        )
        assert (got.status, got.body) == (400, {"error": 1, "message": message}), planid
    assert (
        await pg_pool.fetchval("SELECT count(*) FROM accounts.users WHERE email = $1", email) == 0
    )


async def test_plan_paths_beyond_the_column_are_404(api: AccountsApi) -> None:
    user = await api.add_user()
    admin = principals.admin()
    for method, path, body in (
        ("GET", "/api/plan/2147483648", None),
        ("PUT", "/api/plan/99999999999/update", {"name": "X"}),
        ("PUT", f"/api/plan/99999999999/user/{user.id}", {"type": "monthly"}),
        ("GET", "/api/user/9223372036854775808", None),
    ):
        got = await api.call(method, path, admin, body)
        assert got.status == 404, path
        assert got.body["error"] == 1


async def test_contact_ids_beyond_bigint_store_nothing(
    api: AccountsApi, pg_pool: asyncpg.Pool
) -> None:
    owner, who = await api.new_principal()
    for body, message in (
        ({"name": "A", "groups": ["²"]}, "The field 'groups' must be a list of group ids."),
        ({"name": "A", "groups": [2**63]}, "The field 'groups' must be a list of group ids."),
        ({"name": "A\u0000"}, "The field 'name' contains a NUL character."),
        (
            {"name": "A", "custom_fields": [{"id": 1, "value": "\u0000"}]},
            "The field 'custom_fields[0].value' contains a NUL character.",
        ),
    ):
        got = await api.call("POST", "/api/contact/add", who, body)
        assert (got.status, got.body) == (400, {"error": 1, "message": message}), body
    # the edge's overlay submissions, with ids no bigint holds
    for fields in ({"owner_id": 1e30}, {"owner_id": owner.id, "group_id": 2**64}):
        got = await api.call(
            "POST",
            "/internal/contacts/submit",
            SERVICE,
            json.dumps({"name": "V", **fields}).encode(),
        )
        assert got.status == 400, fields
        assert got.body["error"] == 1
        assert "must be at most 9223372036854775807" in got.body["message"]
    assert await count_contacts(pg_pool, owner.id) == 0
    # and what is fine still works
    await add(api, who, "/api/contact/add", {"name": "A"})
