"""Reading and writing links. Functions take a connection: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import asyncpg

from services.links import queries
from services.links.aliases import generate_alias
from services.links.link_fields import DomainRef
from services.links.rows import Conn, Row
from shared.envelope import ApiError, Conflict, NotFound

ALIAS_TAKEN: Final = "That alias is taken. Please choose another one."
GENERATE_ATTEMPTS: Final = 10


async def resolve_domain(conn: Conn, owner_id: int, ref: DomainRef | None) -> asyncpg.Record | None:
    """The caller's branded domain a ``domain`` parameter names; ``None`` for the default one."""
    if ref is None or ref.is_default:
        return None
    if ref.id is not None:
        row = await conn.fetchrow(queries.OWNER_DOMAIN_BY_ID, ref.id, owner_id)
    else:
        row = await conn.fetchrow(queries.OWNER_DOMAIN_BY_HOST, ref.host, owner_id)
    if row is None:
        raise NotFound("Domain not found. Add it first with /api/domain/add.")
    return row


def _params(values: Mapping[str, Any]) -> list[Any]:
    return [values[column] for column in queries.LINK_WRITABLE]


async def insert_link(
    conn: Conn,
    owner_id: int,
    values: dict[str, Any],
    custom_alias: str | None,
    *,
    created_by: int | None = None,
) -> tuple[int, str]:
    """Insert a link; returns ``(id, alias)``. A taken custom alias is a 409; a
    generated one that collides is drawn again (the unique index decides, so
    concurrent adds are safe). ``created_by``: the team member who added it in
    the owner's workspace (None: the owner)."""
    attempts = 1 if custom_alias else GENERATE_ATTEMPTS
    for _ in range(attempts):
        values["alias"] = custom_alias or generate_alias()
        try:
            link_id = await conn.fetchval(
                queries.INSERT_LINK, owner_id, *_params(values), created_by
            )
        except asyncpg.ForeignKeyViolationError as exc:  # the domain was deleted meanwhile
            raise NotFound("Domain not found. Add it first with /api/domain/add.") from exc
        if link_id is not None:
            return link_id, values["alias"]
    if custom_alias:
        raise Conflict(ALIAS_TAKEN)
    raise ApiError(503, "Could not find a free alias. Please retry.")


async def update_link(conn: Conn, link_id: int, owner_id: int, values: Mapping[str, Any]) -> None:
    try:
        await conn.execute(queries.UPDATE_LINK, link_id, owner_id, *_params(values))
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(ALIAS_TAKEN) from exc


def short_url(public_base_url: str, row: Row) -> str:
    """``https://<domain>/<alias>`` for a row with ``alias``, ``domain_host``, ``domain_scheme``."""
    if row["domain_host"]:
        return f"{row['domain_scheme']}://{row['domain_host']}/{row['alias']}"
    return f"{public_base_url}/{row['alias']}"


def host_of(row: Row) -> str:
    """The snapshot host of a link row: its branded domain, or ``_``."""
    host: str | None = row["domain_host"]
    return host or "_"
