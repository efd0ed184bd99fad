"""Claiming a branded domain: address literals, default-port variants and the
service's own hosts are refused, and a domain is served only once its owner has
published its TXT record (checked against a real DNS server in this process)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from services.links.edge.app import create_app as create_edge_app
from shared.identity import Principal
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.links.conftest import LinksApi, StartLinks, owned_rows
from tests.support import principals
from tests.support.dns_server import DnsServer, dns_server
from tests.support.service_client import closed_port

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
Edge = TestClient[web.Request, web.Application]
domain_rows = owned_rows("domain")


@pytest.fixture
async def dns() -> AsyncIterator[DnsServer]:
    async with dns_server() as server:
        yield server


@pytest.fixture
async def verifying(start_links: StartLinks, dns: DnsServer) -> LinksApi:
    """The links service with verification on, asking the test's DNS server (and no
    background round during the test unless it asks for one)."""
    return await start_links(
        domain_verification=True, dns_resolver=dns.address, domain_verify_interval=3600.0
    )


@pytest.fixture
async def edge(serve_app: ServeApp, settings: Settings) -> Edge:
    return await serve_app(create_edge_app, settings)


async def visit(edge: Edge, host: str, path: str) -> tuple[int, str | None]:
    resp = await edge.get(
        path, allow_redirects=False, headers={"Host": host, "User-Agent": BROWSER}
    )
    return resp.status, resp.headers.get("Location")


async def eventually(seconds: float, probe: Any, expected: Any) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while await probe() != expected:
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


# --- what can be claimed -----------------------------------------------------------------


@pytest.mark.parametrize(
    "domain",
    [
        "https://127.0.0.1",
        "https://127.0.0.1:8080",
        "http://203.0.113.5:80",
        "https://[::1]",
        "https://[2001:db8::1]:8443",
    ],
)
async def test_address_literals_cannot_be_claimed(
    links: LinksApi, pg_pool: asyncpg.Pool, domain: str
) -> None:
    alice = principals.user()
    message = await links.refused(alice, "domain", {"domain": domain})
    assert "must" in message, message
    assert await domain_rows(pg_pool, alice) == []


async def test_default_port_and_spelling_variants_are_the_same_domain(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice, mallory = principals.user(), principals.user()
    host = f"brand-{alice.user_id}.example.com"
    await links.create(alice, "domain", domain=f"https://{host}:443")
    for variant in (
        f"https://{host}",
        f"http://{host}:80",
        f"https://{host.upper()}.",
        f"https://{host}.:443/",
    ):
        got = await links.refused(mallory, "domain", {"domain": variant}, 409)
        assert got == "This domain has already been added."
    assert await domain_rows(pg_pool, mallory) == []
    assert [r["host"] for r in await domain_rows(pg_pool, alice)] == [host]
    # Internationalized names are stored as IDNA, whatever the spelling.
    idn = f"bücher-{alice.user_id}.example"
    await links.create(alice, "domain", domain=f"https://{idn.upper()}")
    ascii_host = idn.encode("idna").decode()
    got = await links.refused(mallory, "domain", {"domain": f"https://{ascii_host}:443"}, 409)
    assert got == "This domain has already been added."
    assert ascii_host in [r["host"] for r in await domain_rows(pg_pool, alice)]


async def test_the_services_own_hosts_cannot_be_claimed(
    start_links: StartLinks, pg_pool: asyncpg.Pool
) -> None:
    links = await start_links(public_base_url="https://sho.rt")
    alice = principals.user()
    for domain in ("https://sho.rt", "https://SHO.RT.", "https://sho.rt:8443", "http://sho.rt"):
        message = await links.refused(alice, "domain", {"domain": domain})
        assert message == "That is one of this service's own hosts; add a domain of your own."
    # The API host the caller reached (the gateway passes it on).
    status, body = await links.call(
        "POST",
        "/api/domain/add",
        alice,
        {"domain": "https://api.sho.rt"},
        headers={"Content-Type": "application/json", "X-Forwarded-Host": "API.sho.rt:443"},
    )
    assert (status, body["error"]) == (400, 1)
    assert await domain_rows(pg_pool, alice) == []


# --- proof of ownership ---------------------------------------------------------------------


async def add_domain(links: LinksApi, who: Principal, host: str) -> tuple[int, dict[str, Any]]:
    domain_id = await links.create(
        who,
        "domain",
        domain=f"https://{host}",
        redirectroot="https://captured.example/root",
        redirect404="https://captured.example/404",
    )
    body = await links.fetch(who, f"/api/domain/{domain_id}")
    data: dict[str, Any] = body["data"]
    return domain_id, data


async def test_an_unverified_domain_is_not_served_until_its_record_is_seen(
    verifying: LinksApi, dns: DnsServer, edge: Edge, pg_pool: asyncpg.Pool
) -> None:
    links = verifying
    alice = principals.user()
    host = f"claimed-{alice.user_id}.example.com"
    domain_id, data = await add_domain(links, alice, host)
    token = (await domain_rows(pg_pool, alice))[0]["verify_token"]
    assert data["verified"] is False
    assert data["verification"] == {
        "record": f"_shortener-verify.{host}",
        "value": f"shortener-verify={token}",
    }
    alias = f"v-{alice.user_id}"
    await links.add(alice, url="https://example.com/branded", custom=alias, domain=domain_id)

    # Not served: no link, no root and no not-found redirect of its claimant.
    for path in (f"/{alias}", "/", "/anything"):
        assert await visit(edge, host, path) == (404, None), path

    verify = f"/api/domain/{domain_id}/verify"
    status, body = await links.call("POST", verify, alice)
    assert (status, body["error"], body["verified"]) == (200, 0, False)
    assert f"shortener-verify={token}" in body["message"]
    assert dns.queries[-1] == f"_shortener-verify.{host}"
    dns.set_txt(f"_shortener-verify.{host}", "shortener-verify=someone-elses-token")
    status, body = await links.call("POST", verify, alice)
    assert (status, body["verified"]) == (200, False)
    # Another user cannot even ask.
    status, _ = await links.call("POST", verify, principals.user())
    assert status == 404
    assert await visit(edge, host, f"/{alias}") == (404, None)

    dns.set_txt(f"_shortener-verify.{host}", "v=spf1 -all", f"shortener-verify={token}")
    status, body = await links.call("POST", verify, alice)
    assert (status, body["verified"]) == (200, True)
    assert body["message"] == "Domain has been verified: it is served now."
    assert (await links.fetch(alice, f"/api/domain/{domain_id}"))["data"]["verified"] is True

    async def branded() -> tuple[int, str | None]:
        return await visit(edge, host, f"/{alias}")

    assert await eventually(1.0, branded, (302, "https://example.com/branded"))
    assert await visit(edge, host, "/") == (302, "https://captured.example/root")


async def test_the_background_round_verifies_published_records(
    start_links: StartLinks, dns: DnsServer, pg_pool: asyncpg.Pool
) -> None:
    links = await start_links(
        domain_verification=True, dns_resolver=dns.address, domain_verify_interval=0.2
    )
    alice = principals.user()
    host = f"later-{alice.user_id}.example.com"
    domain_id, data = await add_domain(links, alice, host)
    assert data["verified"] is False
    dns.set_txt(data["verification"]["record"], data["verification"]["value"])

    async def verified() -> bool:
        body = await links.fetch(alice, f"/api/domain/{domain_id}")
        return bool(body["data"]["verified"])

    assert await eventually(5.0, verified, True)


async def test_verify_is_a_503_while_dns_cannot_be_asked(
    start_links: StartLinks, pg_pool: asyncpg.Pool
) -> None:
    links = await start_links(
        domain_verification=True,
        dns_resolver=f"127.0.0.1:{closed_port()}",
        domain_verify_interval=3600.0,
    )
    alice = principals.user()
    domain_id, _ = await add_domain(links, alice, f"nodns-{alice.user_id}.example.com")
    before = await domain_rows(pg_pool, alice)
    status, body = await links.call("POST", f"/api/domain/{domain_id}/verify", alice)
    assert (status, body) == (
        503,
        {"error": 1, "message": "DNS could not be asked right now. Please retry later."},
    )
    assert await domain_rows(pg_pool, alice) == before


async def test_with_verification_off_verify_serves_a_pending_domain_at_once(
    verifying: LinksApi, start_links: StartLinks, dns: DnsServer
) -> None:
    alice = principals.user()
    domain_id, data = await add_domain(verifying, alice, f"pending-{alice.user_id}.example.com")
    assert data["verified"] is False
    relaxed = await start_links(domain_verification=False, dns_resolver=dns.address)
    asked = len(dns.queries)
    status, body = await relaxed.call("POST", f"/api/domain/{domain_id}/verify", alice)
    assert (status, body["verified"]) == (200, True)
    assert len(dns.queries) == asked  # no proof asked for
