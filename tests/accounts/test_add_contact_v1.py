"""``POST /v1/add-contact/json``: the seed's envelopes, and each of its codes for
the input that causes it. The gateway forwards it signed as ``anonymous``."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.accounts.credentials import contact_hash
from shared.identity import ANONYMOUS
from tests.accounts.conftest import AccountsApi, Answer, NewUser

MESSAGES = {
    200: "İşlem başarılı",
    400: "İstek çözümlenemedi",
    401: "Üyelik bilgileri hatalı",
    404: "API istek yapılan yönteme sahip değil",
    463: "Böyle bir grup bulunamadı.",
    472: "Ad, soyad, cep telefonu, email alanlarından en az biri dolu olmalıdır.",
    473: "Özel alan bulunamadı.",
}


async def secret_of(api: AccountsApi, user: NewUser) -> str:
    who = await api.principal(user.apikey)
    secret: str = (await api.call("GET", "/api/account/secret", who)).body["secret"]
    return secret


def envelope(key: str, hash_: str, contact: dict[str, Any]) -> dict[str, Any]:
    return {"request": {"authentication": {"key": key, "hash": hash_}, "contact": contact}}


async def post(api: AccountsApi, body: Any, path: str = "/v1/add-contact/json") -> Answer:
    return await api.call("POST", path, ANONYMOUS, body)


def assert_refused(got: Answer, code: int) -> None:
    assert got.status == code
    assert got.body == {"response": {"status": {"code": code, "message": MESSAGES[code]}}}


async def count_contacts(pg_pool: asyncpg.Pool, owner_id: int) -> int:
    count: int = await pg_pool.fetchval(
        "SELECT count(*) FROM accounts.contacts WHERE owner_id = $1", owner_id
    )
    return count


async def test_200_adds_the_contact_in_the_seed_shape(
    api: AccountsApi, pg_pool: asyncpg.Pool
) -> None:
    user = await api.add_user()
    who = await api.principal(user.apikey)
    group = (await api.call("POST", "/api/contact/group/add", who, {"name": "G"})).body["id"]
    field = (
        await api.call("POST", "/api/contact/field/add", who, {"name": "D", "type": "date"})
    ).body["id"]
    secret = await secret_of(api, user)
    got = await post(
        api,
        envelope(
            user.apikey,
            contact_hash(user.apikey, secret).upper(),  # hex in either case
            {
                "name": "Ayşe",
                "surname": "Yılmaz",
                "email": "ayse@example.com",
                "gsm": "5057023100",
                "custom_fields": {"custom_field": [{"id": str(field), "value": "27/09/2024"}]},
                "groups": {"group": {"id": str(group)}},
            },
        ),
    )
    assert got.status == 200
    assert got.headers["Content-Type"] == "application/json; charset=utf-8"
    contact = got.body["response"]["contact"]
    assert got.body == {
        "response": {
            "status": {"code": 200, "message": "İşlem başarılı"},
            "contact": {
                "id": contact["id"],
                "name": "Ayşe",
                "surname": "Yılmaz",
                "gsm": "5057023100",
                "email": "ayse@example.com",
                "custom_fields": [{"id": field, "value": "27/09/2024"}],
                "groups": [group],
            },
        }
    }
    assert list(contact) == ["id", "name", "surname", "gsm", "email", "custom_fields", "groups"]
    stored = (await api.call("GET", f"/api/contact/{contact['id']}", who)).body["data"]
    assert (stored["name"], stored["groups"]) == ("Ayşe", [group])


async def test_the_seed_template_with_empty_ids_works(api: AccountsApi) -> None:
    user = await api.add_user()
    secret = await secret_of(api, user)
    got = await post(
        api,
        envelope(
            user.apikey,
            contact_hash(user.apikey, secret),
            {
                "name": "",
                "surname": "",
                "email": "",
                "gsm": "5057023100",
                "custom_fields": {"custom_field": [{"id": "", "value": ""}]},
                "groups": {"group": {"id": ""}},
            },
        ),
    )
    assert got.status == 200
    contact = got.body["response"]["contact"]
    assert (contact["name"], contact["gsm"], contact["groups"], contact["custom_fields"]) == (
        "",
        "5057023100",
        [],
        [],
    )


async def test_400_unparseable_json(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    user = await api.add_user()
    for body in (b"{not json", b"[1, 2]", b'"text"', b'{"request": 5}', b'{"no": "request"}', b""):
        assert_refused(await post(api, body), 400)
    secret = await secret_of(api, user)
    good_hash = contact_hash(user.apikey, secret)
    for contact in ({"name": ["A"]}, {"name": "A", "email": "not-mail"}):
        assert_refused(await post(api, envelope(user.apikey, good_hash, contact)), 400)
    assert await count_contacts(pg_pool, user.id) == 0


async def test_401_bad_key_or_hash(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    user = await api.add_user()
    other = await api.add_user()
    secret = await secret_of(api, user)
    others_secret = await secret_of(api, other)
    contact = {"name": "A"}
    for key, hash_ in (
        (user.apikey, "0" * 64),
        (user.apikey, contact_hash(user.apikey, others_secret)),  # someone else's secret
        ("unknown-key", contact_hash("unknown-key", secret)),
        (other.apikey, contact_hash(user.apikey, secret)),  # hash of another key
        ("", ""),
    ):
        assert_refused(await post(api, envelope(key, hash_, contact)), 401)
    assert_refused(await post(api, {"request": {"contact": contact}}), 401)
    # a revoked key no longer authenticates
    who = await api.principal(user.apikey)
    await api.call("POST", "/api/account/apikey/regenerate", who)
    assert_refused(
        await post(api, envelope(user.apikey, contact_hash(user.apikey, secret), contact)), 401
    )
    assert await count_contacts(pg_pool, user.id) == 0


async def test_404_unknown_method(api: AccountsApi) -> None:
    assert_refused(await post(api, {"request": {}}, "/v1/send-sms/json"), 404)
    assert_refused(await post(api, {"request": {}}, "/v1/add-contact/xml"), 404)
    got = await api.call("GET", "/v1/add-contact/json", ANONYMOUS)
    assert_refused(got, 404)


async def test_472_no_name_surname_gsm_or_email(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    user = await api.add_user()
    secret = await secret_of(api, user)
    good_hash = contact_hash(user.apikey, secret)
    for contact in ({}, {"name": "", "surname": " ", "email": "", "gsm": ""}):
        assert_refused(await post(api, envelope(user.apikey, good_hash, contact)), 472)
    assert_refused(
        await post(api, {"request": {"authentication": {"key": user.apikey, "hash": good_hash}}}),
        472,
    )
    assert await count_contacts(pg_pool, user.id) == 0


async def test_463_group_not_found(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    user = await api.add_user()
    other = await api.add_user()
    others_who = await api.principal(other.apikey)
    others_group = (
        await api.call("POST", "/api/contact/group/add", others_who, {"name": "Theirs"})
    ).body["id"]
    good_hash = contact_hash(user.apikey, await secret_of(api, user))
    for groups in (
        {"group": {"id": str(others_group)}},
        {"group": [{"id": 999999999}]},
        {"group": {"id": "abc"}},
    ):
        body = envelope(user.apikey, good_hash, {"name": "A", "groups": groups})
        assert_refused(await post(api, body), 463)
    assert await count_contacts(pg_pool, user.id) == 0


async def test_473_custom_field_not_found(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    user = await api.add_user()
    other = await api.add_user()
    others_who = await api.principal(other.apikey)
    others_field = (
        await api.call("POST", "/api/contact/field/add", others_who, {"name": "F", "type": "text"})
    ).body["id"]
    good_hash = contact_hash(user.apikey, await secret_of(api, user))
    for fields in (
        {"custom_field": [{"id": str(others_field), "value": "x"}]},
        {"custom_field": {"id": 999999999, "value": "x"}},
    ):
        body = envelope(user.apikey, good_hash, {"name": "A", "custom_fields": fields})
        assert_refused(await post(api, body), 473)
    assert await count_contacts(pg_pool, user.id) == 0
