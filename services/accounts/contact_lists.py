"""The caller's contact groups and custom fields (API.md §12): two named lists
with the same shape, declared once.

    GET    /api/contact/<plural>            paged list, items key <plural>
    POST   /api/contact/<singular>/add      {"error": 0, "id": n}
    DELETE /api/contact/<singular>/:id/delete

Deleting a group keeps its contacts (they leave the group); deleting a custom
field removes its values from every contact."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web

from services.accounts import queries
from services.accounts.access import caller
from services.accounts.contact_rules import FIELD_TYPES
from services.accounts.rows import Row
from shared.appkeys import PG_POOL
from shared.dates import format_datetime
from shared.envelope import Conflict, NotFound, ok
from shared.pagination import Page
from shared.request_body import Body, path_id, read_body


@dataclass(frozen=True)
class NamedList:
    singular: str
    plural: str
    label: str
    list_sql: str
    count_sql: str
    insert_sql: str
    delete_sql: str
    parse: Callable[[Body], list[Any]]  # the INSERT values after owner_id
    serialize: Callable[[Row], dict[str, Any]]

    async def list_handler(self, request: web.Request) -> web.Response:
        who = caller(request)
        page = Page.from_query(request.query)
        async with request.app[PG_POOL].acquire() as conn:
            total = await conn.fetchval(self.count_sql, who.user_id)
            rows = await conn.fetch(self.list_sql, who.user_id, page.limit, page.offset)
        return ok(data=page.body(self.plural, [self.serialize(r) for r in rows], total))

    async def add_handler(self, request: web.Request) -> web.Response:
        who = caller(request)
        values = self.parse(await read_body(request))
        async with request.app[PG_POOL].acquire() as conn:
            try:
                new_id = await conn.fetchval(self.insert_sql, who.user_id, *values)
            except asyncpg.UniqueViolationError as exc:
                raise Conflict(f"A {self.label.lower()} with this name already exists.") from exc
        return ok(id=new_id)

    async def delete_handler(self, request: web.Request) -> web.Response:
        who = caller(request)
        item_id = path_id(request)
        async with request.app[PG_POOL].acquire() as conn:
            status = await conn.execute(self.delete_sql, item_id, who.user_id)
        if status.endswith(" 0"):
            raise NotFound(f"{self.label} not found.")
        return ok(message=f"{self.label} has been deleted successfully.")

    def routes(self) -> list[web.RouteDef]:
        base = f"/api/contact/{self.singular}"
        return [
            web.get(f"/api/contact/{self.plural}", self.list_handler),
            web.post(f"{base}/add", self.add_handler),
            web.delete(base + r"/{id:\d+}/delete", self.delete_handler),
        ]


def _name(body: Body) -> str:
    name = body.text("name", required=True, max_length=100)
    assert name is not None
    return name


GROUPS = NamedList(
    singular="group",
    plural="groups",
    label="Group",
    list_sql=queries.LIST_GROUPS,
    count_sql=queries.COUNT_GROUPS,
    insert_sql=queries.INSERT_GROUP,
    delete_sql=queries.DELETE_GROUP,
    parse=lambda body: [_name(body)],
    serialize=lambda row: {
        "id": row["id"],
        "name": row["name"],
        "contacts": row["contacts"],
        "date": format_datetime(row["created_at"]),
    },
)

FIELDS = NamedList(
    singular="field",
    plural="fields",
    label="Custom field",
    list_sql=queries.LIST_FIELDS,
    count_sql=queries.COUNT_FIELDS,
    insert_sql=queries.INSERT_FIELD,
    delete_sql=queries.DELETE_FIELD,
    parse=lambda body: [_name(body), body.choice("type", FIELD_TYPES, required=True)],
    serialize=lambda row: {
        "id": row["id"],
        "name": row["name"],
        "type": row["type"],
        "date": format_datetime(row["created_at"]),
    },
)


def routes() -> list[web.RouteDef]:
    return GROUPS.routes() + FIELDS.routes()
