"""The list / get / add / update / delete shape shared by the user-owned
resources of the links service (branded domains now; pixels, splash pages,
overlays, channels and campaigns next).

A resource is declared once as a :class:`Resource` — its table, writable
columns, a parser that turns a request body into column values, a serializer,
its plan gate and messages, and hooks that say what a change means for the
edge — and :func:`add_routes` serves it:

    GET    /api/<plural>               list, paged          {"data": {..., "<items>": [...]}}
    GET    /api/<name>/{id}            one (optional)       {"data": {...}} or get_response(row)
    POST   /api/<name>/add             create               add_response(row)
    PUT    /api/<name>/{id}/update     partial update       update_response(row)
    DELETE /api/<name>/{id}/delete     delete               {"message": delete_message}

Every query is scoped to the caller (another user's id is a 404, exactly as a
missing one), a unique violation is a 409 with ``conflict_message``, a count
quota is checked under a per-owner lock, and :class:`Effects` from the hooks
are applied after commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiohttp import web

from services.links.access import caller, check_quota, require_feature
from services.links.effects import Effects, apply_effects
from services.links.queries import CrudSql, crud_sql
from services.links.rows import Conn, Row
from shared.appkeys import PG_POOL, SETTINGS
from shared.envelope import BadRequest, Conflict, NotFound, ok
from shared.identity import Principal
from shared.pagination import Page
from shared.request_body import Body, path_id, read_body
from shared.settings import Settings


@dataclass(frozen=True, slots=True)
class ParseContext:
    request: web.Request
    caller: Principal
    settings: Settings
    current: Row | None  # the stored row on update; None on add

    @property
    def creating(self) -> bool:
        return self.current is None


# Returns column → value for the fields that were sent (all required ones on add).
Parser = Callable[[Body, ParseContext], Awaitable[dict[str, Any]]]
Serializer = Callable[[Row, Settings], dict[str, Any]]
# Called inside the transaction; what it returns is applied after commit.
Hook = Callable[[Conn, Row, Settings], Awaitable[Effects]]
# Items of one list page, for resources whose items need more than their rows
# (e.g. counts from another service): (request, caller, rows) -> items.
Presenter = Callable[[web.Request, Principal, Sequence[Row]], Awaitable[list[dict[str, Any]]]]
# The body of GET /api/<name>/{id} besides "error": (request, caller, row) -> body.
Responder = Callable[[web.Request, Principal, Row], Awaitable[dict[str, Any]]]
# Called on update with the row before and after it (same transaction), for
# effects that depend on what changed (e.g. a snapshot key that moved).
UpdateHook = Callable[[Conn, Row, Row, Settings], Awaitable[Effects]]


def _message(text: str) -> Callable[[Row, Settings], dict[str, Any]]:
    return lambda row, settings: {"message": text}


def _id_only(row: Row, settings: Settings) -> dict[str, Any]:
    return {"id": row["id"]}


@dataclass(frozen=True)
class Resource:
    name: str  # singular, as in /api/domain/add
    table: str
    columns: tuple[str, ...]  # writable columns
    parse: Parser
    serialize: Serializer
    label: str  # plural noun for messages: "branded domains"
    conflict_message: str
    deleted_message: str
    updated_message: str = ""
    list_path: str = ""  # default /api/<name>s
    items_key: str = ""  # default <name>s
    feature: str | None = None  # plan flag needed to add one
    quota: str | None = None  # plan count limiting how many one may have
    # What counts against that quota when it is not this table (e.g. QR codes count
    # their backing links, under the ``links`` quota), and which new objects count
    # (default: all): a (count SQL of owner $1, label) pair and a test of the values.
    quota_count: tuple[str, str] | None = None
    counts_toward_quota: Callable[[Mapping[str, Any]], bool] | None = None
    read_columns: tuple[str, ...] = ("created_at",)  # selected besides id, owner_id, columns
    unlisted: tuple[str, ...] = ()  # large columns the list does not read
    present: Presenter | None = None  # list items; default: serialize each row
    get_response: Responder | None = None  # default: {"data": serialize(row)}
    missing_message: str = ""  # the 404's; default "<Name> not found."
    add_response: Callable[[Row, Settings], dict[str, Any]] = _id_only
    update_response: Callable[[Row, Settings], dict[str, Any]] | None = None
    on_saved: Hook | None = None
    on_delete: Hook | None = None  # before the row is deleted (same transaction)
    # Fields the delete answer carries besides the message, from what on_delete did.
    delete_fields: Callable[[Effects], dict[str, Any]] | None = None
    on_updated: UpdateHook | None = None  # on update, after on_saved
    # A unique violation's 409 message by constraint (index) name; default conflict_message.
    conflict_messages: Mapping[str, str] = field(default_factory=dict)
    extra_routes: tuple[web.RouteDef, ...] = ()  # the resource's own endpoints besides these
    with_get: bool = True
    order_by: str = "id DESC"
    sql: CrudSql = field(init=False, repr=False)

    def __post_init__(self) -> None:
        sql = crud_sql(
            self.table, self.columns, self.read_columns, self.order_by, unlisted=self.unlisted
        )
        object.__setattr__(self, "sql", sql)

    @property
    def path_list(self) -> str:
        return self.list_path or f"/api/{self.name}s"

    @property
    def key(self) -> str:
        return self.items_key or f"{self.name}s"

    def routes(self) -> list[web.RouteDef]:
        base = f"/api/{self.name}"
        defs = [
            web.get(self.path_list, self.list_handler),
            web.post(f"{base}/add", self.add_handler),
            web.put(base + "/{id}/update", self.update_handler),
            web.delete(base + "/{id}/delete", self.delete_handler),
        ]
        if self.with_get:
            defs.insert(1, web.get(base + "/{id}", self.get_handler))
        return defs + list(self.extra_routes)

    # --- handlers ---------------------------------------------------------

    async def list_handler(self, request: web.Request) -> web.Response:
        who = caller(request)
        page = Page.from_query(request.query)
        settings = request.app[SETTINGS]
        async with request.app[PG_POOL].acquire() as conn:
            total = await conn.fetchval(self.sql.count, who.user_id)
            rows = await conn.fetch(self.sql.list, who.user_id, page.limit, page.offset)
        if self.present is not None:
            items = await self.present(request, who, rows)
        else:
            items = [self.serialize(row, settings) for row in rows]
        return ok(data=page.body(self.key, items, total))

    async def get_handler(self, request: web.Request) -> web.Response:
        who = caller(request)
        object_id = path_id(request)
        row = await request.app[PG_POOL].fetchrow(self.sql.get, object_id, who.user_id)
        if row is None:
            raise self.not_found()
        if self.get_response is not None:
            return ok(**await self.get_response(request, who, row))
        return ok(data=self.serialize(row, request.app[SETTINGS]))

    async def add_handler(self, request: web.Request) -> web.Response:
        who = caller(request)
        settings = request.app[SETTINGS]
        body = await read_body(request)
        if self.feature is not None:
            require_feature(who, self.feature, self.label)
        values = await self.parse(body, ParseContext(request, who, settings, None))
        effects = Effects()
        async with request.app[PG_POOL].acquire() as conn, conn.transaction():
            if self.quota is not None and (
                self.counts_toward_quota is None or self.counts_toward_quota(values)
            ):
                count_sql, label = self.quota_count or (self.sql.count, self.label)
                await check_quota(conn, who, self.quota, count_sql, label)
            try:
                row = await conn.fetchrow(
                    self.sql.insert, who.user_id, *(values.get(c) for c in self.columns)
                )
            except asyncpg.UniqueViolationError as exc:
                raise self.conflict(exc) from exc
            assert row is not None
            if self.on_saved is not None:
                effects = await self.on_saved(conn, row, settings)
        await apply_effects(request.app, effects)
        return ok(**self.add_response(row, settings))

    async def update_handler(self, request: web.Request) -> web.Response:
        who = caller(request)
        object_id = path_id(request)
        settings = request.app[SETTINGS]
        body = await read_body(request)
        pool = request.app[PG_POOL]
        current = await pool.fetchrow(self.sql.get, object_id, who.user_id)
        if current is None:
            raise self.not_found()
        changes = await self.parse(body, ParseContext(request, who, settings, current))
        unknown = set(changes) - set(self.columns)
        if unknown:
            raise BadRequest(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
        effects = Effects()
        async with pool.acquire() as conn, conn.transaction():
            locked = await conn.fetchrow(self.sql.lock, object_id, who.user_id)
            if locked is None:
                raise self.not_found()
            merged = {c: changes.get(c, locked[c]) for c in self.columns}
            try:
                row = await conn.fetchrow(self.sql.update, object_id, who.user_id, *merged.values())
            except asyncpg.UniqueViolationError as exc:
                raise self.conflict(exc) from exc
            assert row is not None
            if self.on_saved is not None:
                effects = await self.on_saved(conn, row, settings)
            if self.on_updated is not None:
                effects.merge(await self.on_updated(conn, locked, row, settings))
        await apply_effects(request.app, effects)
        respond = self.update_response or _message(self.updated_message)
        return ok(**respond(row, settings))

    async def delete_handler(self, request: web.Request) -> web.Response:
        who = caller(request)
        object_id = path_id(request)
        settings = request.app[SETTINGS]
        effects = Effects()
        async with request.app[PG_POOL].acquire() as conn, conn.transaction():
            row = await conn.fetchrow(self.sql.lock, object_id, who.user_id)
            if row is None:
                raise self.not_found()
            if self.on_delete is not None:
                effects = await self.on_delete(conn, row, settings)
            await conn.execute(self.sql.delete, object_id, who.user_id)
            await effects.stage(conn)
        await apply_effects(request.app, effects)
        extra = self.delete_fields(effects) if self.delete_fields is not None else {}
        return ok(message=self.deleted_message, **extra)

    # --- for other code paths -------------------------------------------------

    async def purge_owner(self, conn: Conn, owner_id: int, settings: Settings) -> Effects:
        """Delete every object of one owner (a deleted user), inside the caller's transaction."""
        effects = Effects()
        if self.on_delete is not None:
            for row in await conn.fetch(self.sql.owned, owner_id):
                effects.merge(await self.on_delete(conn, row, settings))
        await conn.execute(self.sql.purge, owner_id)
        return effects

    def conflict(self, exc: asyncpg.UniqueViolationError) -> Conflict:
        name = getattr(exc, "constraint_name", None) or ""
        return Conflict(self.conflict_messages.get(name, self.conflict_message))

    def not_found(self) -> NotFound:
        return NotFound(self.missing_message or f"{self.name.capitalize()} not found.")


def add_routes(app: web.Application, *resources: Resource) -> None:
    for resource in resources:
        app.router.add_routes(resource.routes())
