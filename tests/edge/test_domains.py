"""Branded domains: their own aliases, their root and their not-found page."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from tests.edge.conftest import BROWSER, ClickQueue, Client, MakeDomain, MakeLink, within


async def test_alias_on_a_branded_domain(
    edge: Client, make_domain: MakeDomain, make_link: MakeLink, clicks: ClickQueue
) -> None:
    domain = await make_domain()
    link = await make_link("https://example.com/branded", domain=domain)
    resp = await edge.get(
        link.path, allow_redirects=False, headers={"Host": domain[1], "User-Agent": BROWSER}
    )
    assert resp.status == 302
    assert resp.headers["Location"] == "https://example.com/branded"
    (event,) = await clicks.wait_for(link.id, 1)
    assert event["payload"]["host"] == domain[1]
    # The same alias on the default domain is another link (here: none).
    other = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert other.status == 404


async def test_default_domain_aliases_are_not_served_on_a_branded_one(
    edge: Client, make_domain: MakeDomain, make_link: MakeLink
) -> None:
    domain = await make_domain()
    link = await make_link("https://example.com/default-only")
    resp = await edge.get(
        link.path, allow_redirects=False, headers={"Host": domain[1], "User-Agent": BROWSER}
    )
    assert resp.status == 404
    # Any host that is not a branded domain is the default domain.
    resp = await edge.get(
        link.path,
        allow_redirects=False,
        headers={"Host": "anything.example.net", "User-Agent": BROWSER},
    )
    assert resp.status == 302


async def test_branded_root_and_not_found(edge: Client, make_domain: MakeDomain) -> None:
    _, host = await make_domain(
        root="https://brand.example.com/", notfound="https://brand.example.com/404"
    )
    root = await edge.get("/", allow_redirects=False, headers={"Host": host.upper()})
    assert root.status == 302
    assert root.headers["Location"] == "https://brand.example.com/"
    assert root.headers["Cache-Control"] == "private, no-store"
    missing = await edge.get("/nope", allow_redirects=False, headers={"Host": host})
    assert missing.status == 302
    assert missing.headers["Location"] == "https://brand.example.com/404"


async def test_branded_domain_without_redirects(edge: Client, make_domain: MakeDomain) -> None:
    _, host = await make_domain()
    root = await edge.get("/", allow_redirects=False, headers={"Host": host})
    assert root.status == 200
    missing = await edge.get("/nope", allow_redirects=False, headers={"Host": host})
    assert missing.status == 404
    assert "Link not found" in await missing.text()


async def test_new_branded_domain_is_seen_after_its_announcement(
    edge: Client,
    make_domain: MakeDomain,
    publish_domain: Callable[[str], Awaitable[None]],
) -> None:
    host = f"late-{secrets.token_hex(4)}.example.org"
    # Seen before it exists: cached as "not a branded domain".
    assert (await edge.get("/", allow_redirects=False, headers={"Host": host})).status == 200
    await make_domain(root="https://late.example.org/", host=host)
    await publish_domain(host)

    async def root_location() -> str | None:
        resp = await edge.get("/", allow_redirects=False, headers={"Host": host})
        return resp.headers.get("Location")

    assert await within(1.0, root_location, "https://late.example.org/")
