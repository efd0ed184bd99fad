"""Contacts of the caller's address book (API.md §12): list (paged, by group,
by text), get, add, update, delete; and ``POST /internal/contacts/submit``, by
which the edge files a visitor's overlay form as a contact of the link's owner."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from aiohttp import web

from services.accounts import queries
from services.accounts.access import caller, service
from services.accounts.contact_rules import (
    MAX_ITEMS,
    TEXT_FIELDS,
    ContactError,
    ContactInput,
    clean_text,
    contact_json,
    create_contact,
    field_value,
    invalid,
    update_contact,
)
from shared.appkeys import PG_POOL
from shared.envelope import BadRequest, NotFound, ok
from shared.pagination import Page
from shared.request_body import Body, path_id, positive_id, read_body
from shared.request_query import query_id, query_text


def raise_api_error(exc: ContactError) -> NoReturn:
    if exc.kind in ("group", "field"):
        raise NotFound(exc.message) from exc
    raise BadRequest(exc.message) from exc


def _groups(raw: Any) -> list[int]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_ITEMS:
        raise invalid(f"The field 'groups' must be a list of at most {MAX_ITEMS} group ids.")
    ids = [positive_id(item) for item in raw]
    if any(i is None for i in ids):
        raise invalid("The field 'groups' must be a list of group ids.")
    return list(dict.fromkeys(i for i in ids if i is not None))


def _custom_fields(raw: Any) -> dict[int, str | None]:
    """``[{"id": 1, "value": "x"}, ...]`` or ``{"1": "x", ...}``."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        if not all(isinstance(item, Mapping) for item in raw):
            raise invalid('The field \'custom_fields\' must be a list of {"id", "value"}.')
        pairs = [(item.get("id"), item.get("value")) for item in raw]
    else:
        raise invalid('The field \'custom_fields\' must be a list of {"id", "value"}.')
    if len(pairs) > MAX_ITEMS:
        raise invalid(f"The field 'custom_fields' may hold at most {MAX_ITEMS} values.")
    values: dict[int, str | None] = {}
    for key, value in pairs:
        field_id = positive_id(key)
        if field_id is None:
            raise invalid("Each custom field needs a numeric 'id'.")
        values[field_id] = field_value(value)
    return values


def contact_input(body: Body) -> ContactInput:
    contact = ContactInput()
    for name in TEXT_FIELDS:
        if body.has(name):
            contact.texts[name] = clean_text(name, body.raw(name))
    if body.has("groups"):
        contact.groups = _groups(body.raw("groups"))
    if body.has("custom_fields"):
        contact.fields = _custom_fields(body.raw("custom_fields"))
    return contact


def _not_found() -> NotFound:
    return NotFound("Contact not found.")


async def list_contacts(request: web.Request) -> web.Response:
    who = caller(request)
    page = Page.from_query(request.query)
    group = query_id(request.query, "group", what="a group id")
    q = query_text(request.query, "q", max_length=100)
    async with request.app[PG_POOL].acquire() as conn:
        if group is not None and not await conn.fetch(
            queries.OWNED_GROUP_IDS, who.user_id, [group]
        ):
            raise NotFound("Group not found.")
        total = await conn.fetchval(queries.COUNT_CONTACTS, who.user_id, group, q)
        rows = await conn.fetch(
            queries.LIST_CONTACTS, who.user_id, group, q, page.limit, page.offset
        )
    return ok(data=page.body("contacts", [contact_json(r) for r in rows], total))


async def get_contact(request: web.Request) -> web.Response:
    who = caller(request)
    contact_id = path_id(request)
    async with request.app[PG_POOL].acquire() as conn:
        row = await conn.fetchrow(queries.GET_CONTACT, contact_id, who.user_id)
    if row is None:
        raise _not_found()
    return ok(data=contact_json(row))


async def add_contact(request: web.Request) -> web.Response:
    who = caller(request)
    body = await read_body(request)
    try:
        contact = contact_input(body)
        async with request.app[PG_POOL].acquire() as conn, conn.transaction():
            contact_id = await create_contact(conn, who.user_id, contact)
    except ContactError as exc:
        raise_api_error(exc)
    return ok(id=contact_id)


async def update_contact_handler(request: web.Request) -> web.Response:
    who = caller(request)
    contact_id = path_id(request)
    body = await read_body(request)
    try:
        contact = contact_input(body)
        async with request.app[PG_POOL].acquire() as conn, conn.transaction():
            found = await update_contact(conn, who.user_id, contact_id, contact)
    except ContactError as exc:
        raise_api_error(exc)
    if not found:
        raise _not_found()
    return ok(message="Contact has been updated successfully.")


async def delete_contact(request: web.Request) -> web.Response:
    who = caller(request)
    contact_id = path_id(request)
    async with request.app[PG_POOL].acquire() as conn:
        status = await conn.execute(queries.DELETE_CONTACT, contact_id, who.user_id)
    if status.endswith(" 0"):
        raise _not_found()
    return ok(message="Contact has been deleted successfully.")


async def submit(request: web.Request) -> web.Response:
    """A visitor's overlay form: exactly one contact of ``owner_id`` per call."""
    service(request)
    body = await read_body(request, allow_empty=False)
    owner_id = body.integer("owner_id", required=True, min_value=1)
    group_id = body.integer("group_id", min_value=1)
    assert owner_id is not None
    try:
        contact = ContactInput(
            texts={name: clean_text(name, body.raw(name)) for name in TEXT_FIELDS},
            groups=[group_id] if group_id is not None else None,
        )
        async with request.app[PG_POOL].acquire() as conn, conn.transaction():
            if not await conn.fetchval(queries.USER_EXISTS, owner_id):
                raise NotFound("User not found.")
            contact_id = await create_contact(conn, owner_id, contact)
    except ContactError as exc:
        raise_api_error(exc)
    return ok(id=contact_id)


async def owned_group(request: web.Request) -> web.Response:
    """``GET /internal/users/{owner}/groups/{id}``: 200 when the contact group is that
    user's, else 404 as for a missing one. How the links service checks the group
    an overlay names, so a visitor's form is never filed for someone else's group."""
    service(request)
    owner_id = path_id(request, "owner")
    group_id = path_id(request)
    if not await request.app[PG_POOL].fetch(queries.OWNED_GROUP_IDS, owner_id, [group_id]):
        raise NotFound("Group not found.")
    return ok(id=group_id)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/contacts", list_contacts),
        web.post("/api/contact/add", add_contact),
        web.get(r"/api/contact/{id:\d+}", get_contact),
        web.put(r"/api/contact/{id:\d+}/update", update_contact_handler),
        web.delete(r"/api/contact/{id:\d+}/delete", delete_contact),
        web.post("/internal/contacts/submit", submit),
        web.get(r"/internal/users/{owner:\d+}/groups/{id:\d+}", owned_group),
    ]
