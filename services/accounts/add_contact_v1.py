"""``POST /v1/add-contact/json``: the seed's "add contact" API, envelopes, codes
and messages as published (seed 002), for clients written against it.

The gateway forwards it without bearer auth (signed as ``anonymous``); the
body authenticates itself: ``key`` is the user's API key and ``hash`` the hex
HMAC-SHA256 of the key under the user's API secret. Every answer is
``{"response": {"status": {"code", "message"}, ...}}`` with ``code`` as the
HTTP status too; any other ``/v1/*`` path is the seed's 404."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson
from aiohttp import web

from services.accounts import queries
from services.accounts.contact_rules import (
    MAX_ITEMS,
    TEXT_FIELDS,
    ContactError,
    ContactInput,
    clean_text,
    create_contact,
    field_value,
    invalid,
)
from services.accounts.credentials import hash_matches, sha256_hex
from services.accounts.rows import Row
from shared.appkeys import PG_POOL
from shared.envelope import JSON_CONTENT_TYPE, dumps
from shared.request_body import positive_id

OK: Final = 200
MESSAGES: Final[dict[int, str]] = {
    200: "İşlem başarılı",
    400: "İstek çözümlenemedi",
    401: "Üyelik bilgileri hatalı",
    404: "API istek yapılan yönteme sahip değil",
    463: "Böyle bir grup bulunamadı.",
    472: "Ad, soyad, cep telefonu, email alanlarından en az biri dolu olmalıdır.",
    473: "Özel alan bulunamadı.",
}
_REASONS: Final = {463: "Group Not Found", 472: "Contact Empty", 473: "Custom Field Not Found"}
_CODES: Final = {"invalid": 400, "identity": 472, "group": 463, "field": 473}
MAX_KEY_LENGTH: Final = 256


class Refused(Exception):
    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(MESSAGES[code])


def answer(code: int, contact: Mapping[str, Any] | None = None) -> web.Response:
    response: dict[str, Any] = {"status": {"code": code, "message": MESSAGES[code]}}
    if contact is not None:
        response["contact"] = dict(contact)
    return web.Response(
        body=dumps({"response": response}),
        status=code,
        reason=_REASONS.get(code),
        content_type=JSON_CONTENT_TYPE,
        charset="utf-8",  # the messages are Turkish: say so for clients that guess
    )


def _object(value: Any, *, missing_ok: bool = True) -> Mapping[str, Any]:
    if value is None and missing_ok:
        return {}
    if not isinstance(value, Mapping):
        raise Refused(400)
    return value


def _items(raw: Any, wrapper: str) -> list[Any]:
    """The seed wraps repeated tags as ``{"group": {...}}`` or ``{"group": [{...}, ...]}``;
    accept those and plain lists."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, Mapping):
        if wrapper in raw:
            return _items(raw[wrapper], wrapper)
        return [raw] if raw else []
    if isinstance(raw, list):
        if len(raw) > MAX_ITEMS:
            raise invalid("Too many items.")
        return raw
    raise invalid(f"'{wrapper}' must be an object or a list.")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _groups(raw: Any) -> list[int]:
    ids: list[int] = []
    for item in _items(raw, "group"):
        value = item.get("id") if isinstance(item, Mapping) else item
        if _blank(value):
            continue  # the seed's template sends {"id": ""}
        group_id = positive_id(value)
        if group_id is None:
            raise ContactError("group", "Group not found.")
        ids.append(group_id)
    return list(dict.fromkeys(ids))


def _fields(raw: Any) -> dict[int, str | None]:
    values: dict[int, str | None] = {}
    for item in _items(raw, "custom_field"):
        if not isinstance(item, Mapping):
            raise invalid("A custom field must be an object.")
        if _blank(item.get("id")) and _blank(item.get("value")):
            continue
        field_id = positive_id(item.get("id"))
        if field_id is None:
            raise ContactError("field", "Custom field not found.")
        value = field_value(item.get("value"))
        if value is not None:
            values[field_id] = value
    return values


def contact_json(row: Row) -> dict[str, Any]:
    """The seed's ``contact`` of the answer (empty strings for empty fields)."""
    return {
        "id": row["id"],
        "name": row["name"] or "",
        "surname": row["surname"] or "",
        "gsm": row["gsm"] or "",
        "email": row["email"] or "",
        "custom_fields": list(row["field_values"]),
        "groups": list(row["group_ids"]),
    }


async def add_contact(request: web.Request) -> web.Response:
    try:
        try:
            data = orjson.loads(await request.read())
        except orjson.JSONDecodeError as exc:
            raise Refused(400) from exc
        envelope = _object(data, missing_ok=False)
        body = _object(envelope.get("request"), missing_ok=False)
        auth = _object(body.get("authentication"))
        contact_raw = _object(body.get("contact"))
        key, given_hash = auth.get("key"), auth.get("hash")
        if not (isinstance(key, str) and isinstance(given_hash, str) and key and given_hash):
            raise Refused(401)
        if len(key) > MAX_KEY_LENGTH or len(given_hash) > MAX_KEY_LENGTH:
            raise Refused(401)
        async with request.app[PG_POOL].acquire() as conn:
            owner = await conn.fetchrow(queries.RESOLVE_KEY_OWNER, sha256_hex(key))
            if owner is None or not hash_matches(key, owner["api_secret"], given_hash):
                raise Refused(401)
            contact = ContactInput(
                texts={name: clean_text(name, contact_raw.get(name)) for name in TEXT_FIELDS},
                groups=_groups(contact_raw.get("groups")),
                fields=_fields(contact_raw.get("custom_fields")),
            )
            async with conn.transaction():
                contact_id = await create_contact(conn, owner["id"], contact)
                row = await conn.fetchrow(queries.GET_CONTACT, contact_id, owner["id"])
    except Refused as exc:
        return answer(exc.code)
    except ContactError as exc:
        return answer(_CODES[exc.kind])
    assert row is not None
    return answer(OK, contact_json(row))


async def unknown_method(request: web.Request) -> web.Response:
    return answer(404)


def routes() -> list[web.RouteDef]:
    return [
        web.post("/v1/add-contact/json", add_contact),
        # after the one known method: any other path or verb under /v1 is the seed's 404
        web.route("*", "/v1/{tail:.*}", unknown_method),
    ]
