"""Branded domains: their own aliases, their root and their not-found page."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from tests.edge.conftest import BROWSER, ClickQueue, Client, MakeDomain, MakeLink, within
from tests.links.conftest import LinksApi
from tests.support import principals

UA = {"User-Agent": BROWSER}


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


async def test_a_deleted_domains_host_answers_404_never_a_default_link(
    edge: Client, qr_api: LinksApi
) -> None:
    """Its links go with it, and its aliases do not fall through to the default
    domain's links of the same name, also while every cache is warm."""
    alice = principals.user()
    host = f"gone-{alice.user_id}.example.com"
    domain_id = await qr_api.create(
        alice, "domain", domain=f"https://{host}", redirect404="https://brand.example.com/404"
    )
    alias = f"same-{alice.user_id}"
    await qr_api.add(alice, url="https://example.com/branded", custom=alias, domain=domain_id)
    await qr_api.add(alice, url="https://example.com/default", custom=alias)

    async def status_at(path: str) -> tuple[int, str | None]:
        resp = await edge.get(path, allow_redirects=False, headers={"Host": host, **UA})
        return resp.status, resp.headers.get("Location")

    assert await status_at(f"/{alias}") == (302, "https://example.com/branded")  # caches warm
    assert await status_at("/nope") == (302, "https://brand.example.com/404")
    status, body = await qr_api.call("DELETE", f"/api/domain/{domain_id}/delete", alice)
    assert (status, body["deletedLinks"]) == (200, 1)

    assert await within(1.0, lambda: status_at(f"/{alias}"), (404, None))
    for path in ("/", "/nope", f"/{alias}"):
        assert await status_at(path) == (404, None), path
    # The default domain's link is still there, on the default domain.
    resp = await edge.get(f"/{alias}", allow_redirects=False, headers=UA)
    assert (resp.status, resp.headers["Location"]) == (302, "https://example.com/default")

    # Added again (by anyone), the host is a branded domain again.
    bob = principals.user()
    again = await qr_api.create(bob, "domain", domain=f"https://{host}")
    await qr_api.add(bob, url="https://example.com/bob", custom=alias, domain=again)
    assert await within(1.0, lambda: status_at(f"/{alias}"), (302, "https://example.com/bob"))
