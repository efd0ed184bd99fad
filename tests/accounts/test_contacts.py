"""The address book (API.md §12): contacts, groups, custom fields, their rules,
ownership, and overlay submissions from the edge."""

from __future__ import annotations

from typing import Any

import asyncpg

from shared.identity import ANONYMOUS, SERVICE, Principal
from tests.accounts.conftest import AccountsApi

CONTACT_KEYS = [
    "id",
    "name",
    "surname",
    "email",
    "gsm",
    "groups",
    "custom_fields",
    "date",
    "updated",
]


async def add(api: AccountsApi, who: Principal, path: str, body: dict[str, Any]) -> int:
    got = await api.call("POST", path, who, body)
    assert got.status == 200, got.body
    assert list(got.body) == ["error", "id"]
    new_id: int = got.body["id"]
    return new_id


async def count_contacts(pg_pool: asyncpg.Pool, owner_id: int) -> int:
    count: int = await pg_pool.fetchval(
        "SELECT count(*) FROM accounts.contacts WHERE owner_id = $1", owner_id
    )
    return count


async def test_groups_add_list_delete(api: AccountsApi) -> None:
    _, who = await api.new_principal()
    first = await add(api, who, "/api/contact/group/add", {"name": "Customers"})
    second = await add(api, who, "/api/contact/group/add", {"name": "Friends"})
    await add(api, who, "/api/contact/add", {"name": "Ann", "groups": [first]})
    got = await api.call("GET", "/api/contact/groups?limit=1", who)
    assert got.status == 200
    data = got.body["data"]
    assert {k: data[k] for k in ("result", "perpage", "currentpage", "nextpage", "maxpage")} == {
        "result": 2,
        "perpage": 1,
        "currentpage": 1,
        "nextpage": 2,
        "maxpage": 2,
    }
    assert [(g["id"], g["name"], g["contacts"]) for g in data["groups"]] == [(second, "Friends", 0)]
    page2 = (await api.call("GET", "/api/contact/groups?limit=1&page=2", who)).body["data"]
    assert [(g["id"], g["contacts"]) for g in page2["groups"]] == [(first, 1)]
    assert list(page2["groups"][0]) == ["id", "name", "contacts", "date"]

    dup = await api.call("POST", "/api/contact/group/add", who, {"name": "customers"})
    assert dup.status == 409
    assert dup.body == {"error": 1, "message": "A group with this name already exists."}
    assert (await api.call("POST", "/api/contact/group/add", who, {})).status == 400

    deleted = await api.call("DELETE", f"/api/contact/group/{first}/delete", who)
    assert deleted.body == {"error": 0, "message": "Group has been deleted successfully."}
    # the contact stays, outside the group
    contacts = (await api.call("GET", "/api/contacts", who)).body["data"]["contacts"]
    assert [(c["name"], c["groups"]) for c in contacts] == [("Ann", [])]
    assert (await api.call("DELETE", f"/api/contact/group/{first}/delete", who)).status == 404


async def test_fields_add_list_delete(api: AccountsApi) -> None:
    _, who = await api.new_principal()
    birthday = await add(api, who, "/api/contact/field/add", {"name": "Birthday", "type": "date"})
    got = await api.call("GET", "/api/contact/fields", who)
    assert got.body["data"]["fields"] == [
        {
            "id": birthday,
            "name": "Birthday",
            "type": "date",
            "date": got.body["data"]["fields"][0]["date"],
        }
    ]
    for body, status in (
        ({"name": "X", "type": "color"}, 400),
        ({"name": "X"}, 400),
        ({"type": "text"}, 400),
        ({"name": "birthday", "type": "text"}, 409),
    ):
        assert (await api.call("POST", "/api/contact/field/add", who, body)).status == status, body
    contact = await add(
        api,
        who,
        "/api/contact/add",
        {"name": "Bo", "custom_fields": [{"id": birthday, "value": "2000-01-02"}]},
    )
    deleted = await api.call("DELETE", f"/api/contact/field/{birthday}/delete", who)
    assert deleted.body == {"error": 0, "message": "Custom field has been deleted successfully."}
    assert (await api.call("GET", f"/api/contact/{contact}", who)).body["data"][
        "custom_fields"
    ] == []


async def test_contact_crud(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    _, who = await api.new_principal()
    vip = await add(api, who, "/api/contact/group/add", {"name": "VIP"})
    news = await add(api, who, "/api/contact/group/add", {"name": "News"})
    age = await add(api, who, "/api/contact/field/add", {"name": "Age", "type": "number"})
    city = await add(api, who, "/api/contact/field/add", {"name": "City", "type": "text"})
    contact_id = await add(
        api,
        who,
        "/api/contact/add",
        {
            "name": " Ayşe ",
            "surname": "Yılmaz",
            "email": "Ayse@Example.com",
            "gsm": "+90 505 702 31 00",
            "groups": [vip, news, vip],
            "custom_fields": [{"id": age, "value": 34}, {"id": city, "value": "İzmir"}],
        },
    )
    got = await api.call("GET", f"/api/contact/{contact_id}", who)
    assert got.status == 200
    data = got.body["data"]
    assert list(data) == CONTACT_KEYS
    assert {k: data[k] for k in CONTACT_KEYS[:7]} == {
        "id": contact_id,
        "name": "Ayşe",
        "surname": "Yılmaz",
        "email": "ayse@example.com",
        "gsm": "+90 505 702 31 00",
        "groups": sorted([vip, news]),
        "custom_fields": [{"id": age, "value": "34"}, {"id": city, "value": "İzmir"}],
    }

    updated = await api.call(
        "PUT",
        f"/api/contact/{contact_id}/update",
        who,
        {"surname": None, "groups": [news], "custom_fields": {str(age): None, str(city): "Ankara"}},
    )
    assert updated.status == 200
    assert updated.body == {"error": 0, "message": "Contact has been updated successfully."}
    data = (await api.call("GET", f"/api/contact/{contact_id}", who)).body["data"]
    assert (data["name"], data["surname"], data["groups"]) == ("Ayşe", None, [news])
    assert data["custom_fields"] == [{"id": city, "value": "Ankara"}]

    deleted = await api.call("DELETE", f"/api/contact/{contact_id}/delete", who)
    assert deleted.body == {"error": 0, "message": "Contact has been deleted successfully."}
    assert (await api.call("GET", f"/api/contact/{contact_id}", who)).status == 404
    assert (
        await pg_pool.fetchval(
            "SELECT count(*) FROM accounts.contact_group_members WHERE contact_id = $1", contact_id
        )
        == 0
    )


async def test_list_filters_and_pagination(api: AccountsApi) -> None:
    _, who = await api.new_principal()
    group = await add(api, who, "/api/contact/group/add", {"name": "G"})
    ann = await add(api, who, "/api/contact/add", {"name": "Ann", "groups": [group]})
    bob = await add(api, who, "/api/contact/add", {"surname": "Bobson", "email": "bob@x.org"})
    cem = await add(api, who, "/api/contact/add", {"gsm": "5057023100", "groups": [group]})

    everything = (await api.call("GET", "/api/contacts", who)).body["data"]
    assert [c["id"] for c in everything["contacts"]] == [cem, bob, ann]
    assert (everything["result"], everything["perpage"], everything["nextpage"]) == (3, 15, 1)
    in_group = (await api.call("GET", f"/api/contacts?group={group}", who)).body["data"]
    assert [c["id"] for c in in_group["contacts"]] == [cem, ann]
    assert in_group["result"] == 2
    for q, expected in (("BOB", [bob]), ("x.org", [bob]), ("7023", [cem]), ("an", [ann])):
        found = (await api.call("GET", f"/api/contacts?q={q}", who)).body["data"]
        assert [c["id"] for c in found["contacts"]] == expected, q
    both = (await api.call("GET", f"/api/contacts?group={group}&q=ann", who)).body["data"]
    assert [c["id"] for c in both["contacts"]] == [ann]
    paged = (await api.call("GET", "/api/contacts?limit=2&page=2", who)).body["data"]
    assert ([c["id"] for c in paged["contacts"]], paged["maxpage"], paged["nextpage"]) == (
        [ann],
        2,
        2,
    )
    for query, status in (("group=abc", 400), ("limit=0", 400), ("group=999999999", 404)):
        assert (await api.call("GET", f"/api/contacts?{query}", who)).status == status


async def test_rules_refuse_and_store_nothing(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    _, who = await api.new_principal()
    _, other = await api.new_principal()
    others_group = await add(api, other, "/api/contact/group/add", {"name": "Theirs"})
    others_field = await add(api, other, "/api/contact/field/add", {"name": "F", "type": "text"})
    number = await add(api, who, "/api/contact/field/add", {"name": "N", "type": "number"})
    date = await add(api, who, "/api/contact/field/add", {"name": "D", "type": "date"})
    for body, status, message in (
        ({}, 400, "At least one of 'name', 'surname', 'gsm' or 'email' must be filled in."),
        (
            {"name": "  ", "email": "", "gsm": None},
            400,
            "At least one of 'name', 'surname', 'gsm' or 'email' must be filled in.",
        ),
        ({"name": "A", "groups": [others_group]}, 404, f"Group {others_group} not found."),
        ({"name": "A", "groups": [999999999]}, 404, "Group 999999999 not found."),
        (
            {"name": "A", "custom_fields": [{"id": others_field, "value": "x"}]},
            404,
            f"Custom field {others_field} not found.",
        ),
        (
            {"name": "A", "custom_fields": [{"id": number, "value": "many"}]},
            400,
            f"The value of custom field {number} must be a number.",
        ),
        ({"name": "A", "custom_fields": [{"id": date, "value": "31/02/2024"}]}, 400, None),
        (
            {"name": "A", "email": "not-mail"},
            400,
            "The field 'email' must be a valid email address.",
        ),
        ({"name": "A", "gsm": "call me"}, 400, None),
        ({"name": ["A"]}, 400, "The field 'name' must be a string."),
        ({"name": "A" * 101}, 400, "The field 'name' must be at most 100 characters."),
        ({"name": "A", "groups": "1"}, 400, None),
        ({"name": "A", "groups": ["x"]}, 400, "The field 'groups' must be a list of group ids."),
        ({"name": "A", "custom_fields": [{"value": "x"}]}, 400, None),
        (b"{", 400, "Malformed JSON body."),
    ):
        got = await api.call("POST", "/api/contact/add", who, body)
        assert got.status == status, body
        assert got.body["error"] == 1
        if message:
            assert got.body["message"] == message
    assert await count_contacts(pg_pool, who.user_id) == 0
    # valid typed values pass
    await add(
        api,
        who,
        "/api/contact/add",
        {
            "name": "A",
            "custom_fields": [{"id": number, "value": "3,5"}, {"id": date, "value": "27/09/2024"}],
        },
    )


async def test_update_keeps_the_rules(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    _, who = await api.new_principal()
    _, other = await api.new_principal()
    others_group = await add(api, other, "/api/contact/group/add", {"name": "Theirs"})
    contact = await add(api, who, "/api/contact/add", {"name": "Only name"})
    before = (await api.call("GET", f"/api/contact/{contact}", who)).body
    for body, status in (
        ({"name": None}, 400),
        ({"name": ""}, 400),
        ({"groups": [others_group]}, 404),
        ({"email": "bad"}, 400),
    ):
        got = await api.call("PUT", f"/api/contact/{contact}/update", who, body)
        assert got.status == status, body
    assert (await api.call("GET", f"/api/contact/{contact}", who)).body == before
    # clearing the name is fine once another field is set
    got = await api.call(
        "PUT", f"/api/contact/{contact}/update", who, {"name": None, "gsm": "555 0101"}
    )
    assert got.status == 200


async def test_another_users_contacts_are_404(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    _, owner = await api.new_principal()
    _, intruder = await api.new_principal()
    contact = await add(api, owner, "/api/contact/add", {"name": "Private"})
    group = await add(api, owner, "/api/contact/group/add", {"name": "Mine"})
    field = await add(api, owner, "/api/contact/field/add", {"name": "Mine", "type": "text"})
    for method, path, body in (
        ("GET", f"/api/contact/{contact}", None),
        ("PUT", f"/api/contact/{contact}/update", {"name": "Hacked"}),
        ("DELETE", f"/api/contact/{contact}/delete", None),
        ("DELETE", f"/api/contact/group/{group}/delete", None),
        ("DELETE", f"/api/contact/field/{field}/delete", None),
        ("GET", f"/api/contacts?group={group}", None),
        ("GET", "/api/contact/999999999", None),
    ):
        got = await api.call(method, path, intruder, body)
        assert got.status == 404, path
        assert got.body["error"] == 1
    assert (await api.call("GET", "/api/contacts", intruder)).body["data"]["contacts"] == []
    kept = (await api.call("GET", f"/api/contact/{contact}", owner)).body["data"]
    assert kept["name"] == "Private"
    assert (await api.call("GET", "/api/contact/groups", owner)).body["data"]["result"] == 1
    assert (await api.call("GET", "/api/contact/fields", owner)).body["data"]["result"] == 1


async def test_contacts_need_a_user(api: AccountsApi) -> None:
    for who in (ANONYMOUS, SERVICE):
        assert (await api.call("GET", "/api/contacts", who)).status == 403


async def test_overlay_submission_creates_exactly_one_contact(
    api: AccountsApi, pg_pool: asyncpg.Pool
) -> None:
    owner, who = await api.new_principal()
    group = await add(api, who, "/api/contact/group/add", {"name": "Newsletter"})
    got = await api.call(
        "POST",
        "/internal/contacts/submit",
        SERVICE,
        {
            "owner_id": owner.id,
            "group_id": group,
            "name": "Visitor",
            "surname": None,
            "email": "Visitor@Example.com",
            "gsm": "",
        },
    )
    assert got.status == 200
    assert list(got.body) == ["error", "id"]
    assert await count_contacts(pg_pool, owner.id) == 1
    contact = (await api.call("GET", f"/api/contact/{got.body['id']}", who)).body["data"]
    assert (contact["name"], contact["surname"], contact["email"], contact["gsm"]) == (
        "Visitor",
        None,
        "visitor@example.com",
        None,
    )
    assert contact["groups"] == [group]


async def test_overlay_submission_failures(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    owner, who = await api.new_principal()
    _, other = await api.new_principal()
    others_group = await add(api, other, "/api/contact/group/add", {"name": "Theirs"})
    base = {
        "owner_id": owner.id,
        "group_id": None,
        "name": "V",
        "surname": "",
        "email": "",
        "gsm": "",
    }
    for body, status in (
        ({**base, "name": ""}, 400),
        ({**base, "email": "nope"}, 400),
        ({**base, "group_id": others_group}, 404),
        ({**base, "owner_id": 999999999999}, 404),
        ({**base, "owner_id": "me"}, 400),
        ({k: v for k, v in base.items() if k != "owner_id"}, 400),
    ):
        got = await api.call("POST", "/internal/contacts/submit", SERVICE, body)
        assert got.status == status, body
        assert got.body["error"] == 1
    for caller in (who, ANONYMOUS):
        assert (await api.call("POST", "/internal/contacts/submit", caller, base)).status == 403
    assert await count_contacts(pg_pool, owner.id) == 0
