"""Branded domains (API.md section 4), served by the shared CRUD shape.

A domain is stored as its lower-case host (with port, if any) — what a
visitor's ``Host`` header carries — plus the scheme its short URLs use. Each
change rewrites its ``domain:<host>`` snapshot; deleting it deletes its links
and their snapshots too."""

from __future__ import annotations

from typing import Any

from yarl import URL

from services.links import queries
from services.links.crud import ParseContext, Resource
from services.links.destinations import normalize_host, validate_url
from services.links.effects import Effects
from services.links.rows import Conn, Row
from shared.dates import utcnow
from shared.envelope import BadRequest
from shared.request_body import Body
from shared.settings import Settings


def parse_domain_url(value: Any, settings: Settings) -> tuple[str, str]:
    """``https://Go.Example.com`` → ``("go.example.com", "https")``."""
    if not isinstance(value, str):
        raise BadRequest("The field 'domain' must be a string.")
    text = value.strip()
    if len(text) > 300:
        raise BadRequest("The field 'domain' must be at most 300 characters.")
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise BadRequest("The field 'domain' must start with http:// or https://.")
    try:
        parsed = URL(f"{scheme.lower()}://{rest}")
    except ValueError as exc:
        raise BadRequest("The field 'domain' is not a valid domain URL.") from exc
    if parsed.user or parsed.password or parsed.query_string or parsed.fragment:
        raise BadRequest("The field 'domain' must be just a scheme and a host name.")
    if parsed.path not in ("", "/"):
        raise BadRequest(
            "The field 'domain' must be just a scheme and a host name, without a path."
        )
    host_port = rest.split("/", 1)[0]
    host = normalize_host(host_port)
    if host is None or "." not in host.split(":", 1)[0]:
        raise BadRequest("The field 'domain' must name a valid host, e.g. https://go.example.com.")
    if host == settings.public_host:
        raise BadRequest("That is the service's own short domain; add a domain of your own.")
    return host, scheme.lower()


async def parse_domain(body: Body, ctx: ParseContext) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if ctx.creating:
        if body.raw("domain") is None:
            raise BadRequest("The field 'domain' is required.")
        values["host"], values["scheme"] = parse_domain_url(body.raw("domain"), ctx.settings)
        values["verified_at"] = utcnow()
    for name, column in (("redirectroot", "redirect_root"), ("redirect404", "redirect_404")):
        if body.has(name):
            raw = body.raw(name)
            values[column] = None if raw in (None, "") else validate_url(raw, name, web_only=True)
    return values


def serialize_domain(row: Row, settings: Settings) -> dict[str, Any]:
    return {
        "id": row["id"],
        "domain": f"{row['scheme']}://{row['host']}",
        "redirectroot": row["redirect_root"],
        "redirect404": row["redirect_404"],
    }


async def domain_saved(conn: Conn, row: Row, settings: Settings) -> Effects:
    await conn.execute(queries.FORGET_DELETED_DOMAIN, row["host"])  # added again
    return Effects(domains=[row["host"]])


async def domain_deleting(conn: Conn, row: Row, settings: Settings) -> Effects:
    """Its links go with it; its host is remembered as deleted, so that the edge
    answers 404 there rather than the default domain's link of the same alias
    (its snapshot is rewritten as not live, which every edge's cache hears)."""
    links = await conn.fetch(queries.DELETE_DOMAIN_LINKS, row["id"])
    await conn.execute(queries.REMEMBER_DELETED_DOMAIN, row["host"])
    return Effects(domains=[row["host"]]).removed_links(links, host=row["host"])


def deleted_links(effects: Effects) -> dict[str, Any]:
    """The delete answer says how many links went with the domain."""
    return {"deletedLinks": sum(1 for suffix in effects.removed if suffix.startswith("link:"))}


DOMAINS = Resource(
    name="domain",
    table="domains",
    columns=("host", "scheme", "redirect_root", "redirect_404", "verified_at"),
    parse=parse_domain,
    serialize=serialize_domain,
    label="branded domains",
    feature="domain",
    quota="domain",
    conflict_message="This domain has already been added.",
    updated_message="Domain has been updated successfully.",
    deleted_message="Domain has been deleted successfully.",
    on_saved=domain_saved,
    on_delete=domain_deleting,
    delete_fields=deleted_links,
)
