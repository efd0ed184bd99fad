"""Branded domains (API.md section 4), served by the shared CRUD shape.

A domain is stored as its lower-case host (IDNA, with its port unless it is
the default one: ``name:443`` is ``name``) — what a visitor's ``Host`` header
carries — plus the scheme its short URLs use. Address literals and the
service's own hosts cannot be claimed, and a domain is served only once its
owner has proven control of it by DNS (``domain_verification.py``). Each change
rewrites its ``domain:<host>`` snapshot; deleting it deletes its links and their
snapshots too, and leaves its host answering 404."""

from __future__ import annotations

import ipaddress
from typing import Any, Final

from aiohttp import web
from yarl import URL

from services.links import queries
from services.links.access import caller
from services.links.crud import ParseContext, Resource
from services.links.destinations import normalize_host, validate_url
from services.links.domain_verification import DnsUnavailable, verification
from services.links.effects import Effects
from services.links.keys import DOMAIN_VERIFIER
from services.links.rows import Conn, Row
from shared.appkeys import PG_POOL
from shared.dates import utcnow
from shared.envelope import ApiError, BadRequest, ok
from shared.request_body import Body, path_id
from shared.settings import Settings

OWN_HOST: Final = "That is one of this service's own hosts; add a domain of your own."


def _name_of(host: str) -> str:
    """The host without its port."""
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if ":" in host else host


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def own_hosts(settings: Settings, request: web.Request | None) -> set[str]:
    """The names this service answers on: its short domain, the API host the caller
    used (the gateway passes it on) and the services' own addresses."""
    urls = [settings.public_base_url, settings.links_url, settings.accounts_url]
    urls.append(settings.analytics_url)
    found = {"localhost"}
    for url in urls:
        host = normalize_host(url.split("://", 1)[-1].split("/", 1)[0])
        if host is not None:
            found.add(_name_of(host))
    if request is not None:
        forwarded = request.headers.get("X-Forwarded-Host", "").split(",")[-1].strip()
        host = normalize_host(forwarded) if forwarded else None
        if host is not None:
            found.add(_name_of(host))
    return found


def parse_domain_url(
    value: Any, settings: Settings, request: web.Request | None = None
) -> tuple[str, str]:
    """``https://Go.Example.com:443`` → ``("go.example.com", "https")``."""
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
    if parsed.host is not None and _is_address(parsed.host):
        raise BadRequest("The field 'domain' must be a domain name, not an IP address.")
    host = normalize_host(host_port)
    if host is None or "." not in _name_of(host):
        raise BadRequest("The field 'domain' must name a valid host, e.g. https://go.example.com.")
    if _name_of(host) in own_hosts(settings, request):
        raise BadRequest(OWN_HOST)
    return host, scheme.lower()


async def parse_domain(body: Body, ctx: ParseContext) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if ctx.creating:
        if body.raw("domain") is None:
            raise BadRequest("The field 'domain' is required.")
        values["host"], values["scheme"] = parse_domain_url(
            body.raw("domain"), ctx.settings, ctx.request
        )
        # Without verification (local runs, tests) a domain is served at once.
        values["verified_at"] = None if ctx.settings.domain_verification else utcnow()
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
        # Served only once verified: the TXT record that proves it is the owner's.
        "verified": row["verified_at"] is not None,
        "verification": verification(row),
    }


async def verify_domain(request: web.Request) -> web.Response:
    """``POST /api/domain/{id}/verify``: look for the domain's TXT record now."""
    who = caller(request)
    domain_id = path_id(request)
    row = await request.app[PG_POOL].fetchrow(DOMAINS.sql.get, domain_id, who.user_id)
    if row is None:
        raise DOMAINS.not_found()
    proof = verification(row)
    if row["verified_at"] is not None:
        verified = True
    else:
        try:
            verified = await request.app[DOMAIN_VERIFIER].check(request.app, row)
        except DnsUnavailable as exc:
            raise ApiError(
                503,
                "DNS could not be asked right now. Please retry later.",
                headers={"Retry-After": "5"},
            ) from exc
    if verified:
        message = "Domain has been verified: it is served now."
    else:
        message = (
            f"No TXT record {proof['value']} at {proof['record']} yet. Add it at your DNS "
            "provider and retry (changes can take a while to be seen)."
        )
    return ok(verified=verified, message=message, verification=proof)


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
    read_columns=("verify_token", "created_at"),
    extra_routes=(web.post("/api/domain/{id}/verify", verify_domain),),
)
