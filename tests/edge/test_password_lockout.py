"""Behind the proxy the deployments put in front (TRUSTED_PROXY_HOPS), wrong link
passwords lock out the visitor guessing, never the link for everyone."""

from __future__ import annotations

import secrets

import pytest
from aiohttp import ClientResponse
from multidict import CIMultiDict

from services.links.edge.app import create_app
from shared.passwords import hash_password
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.edge.conftest import BROWSER, Client, Link, MakeLink
from tests.edge.test_password import csrf_of
from tests.support.deployed import DEPLOYMENTS, deployed_env


def new_ip() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


async def attempt(edge: Client, link: Link, password: str, *forwarded_for: str) -> ClientResponse:
    """A form submission as the proxy relays it: each X-Forwarded-For line as given
    (the visitor's own claims first, the address the proxy saw last)."""
    page = await edge.get(link.path, headers={"User-Agent": BROWSER})
    headers = CIMultiDict([("User-Agent", BROWSER)])
    for line in forwarded_for:
        headers.add("X-Forwarded-For", line)
    return await edge.post(
        link.path,
        data={"password": password, "csrf": csrf_of(await page.text())},
        headers=headers,
        allow_redirects=False,
    )


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
async def test_a_guessing_visitor_locks_out_only_itself(
    serve_app: ServeApp, edge_settings: Settings, make_link: MakeLink, deployment: str
) -> None:
    hops = Settings.from_env(deployed_env(deployment, "edge")).trusted_proxy_hops
    edge = await serve_app(create_app, edge_settings.with_overrides(trusted_proxy_hops=hops))
    link = await make_link("https://example.com/vault", password_hash=hash_password("sesame"))
    guesser, visitor = new_ip(), new_ip()
    statuses = []
    for n in range(7):  # the test client's address (127.0.0.1) is the proxy's
        resp = await attempt(edge, link, f"guess-{n}", f"{new_ip()}, {guesser}")
        statuses.append(resp.status)
    assert statuses == [403] * 5 + [429] * 2
    locked = await attempt(edge, link, "sesame", guesser)
    assert locked.status == 429  # even with the right password, for a while

    # Another visitor of the same link, behind the same proxy, gets in.
    resp = await attempt(edge, link, "sesame", visitor)
    assert resp.status == 303
    assert resp.headers["Location"] == "https://example.com/vault"


async def test_a_visitor_cannot_escape_by_claiming_addresses(
    serve_app: ServeApp, edge_settings: Settings, make_link: MakeLink
) -> None:
    edge = await serve_app(create_app, edge_settings.with_overrides(trusted_proxy_hops=1))
    link = await make_link("https://example.com/vault", password_hash=hash_password("sesame"))
    guesser = new_ip()
    statuses = []
    for n in range(7):
        # a made-up header line of its own, then the line the proxy added
        resp = await attempt(edge, link, f"guess-{n}", new_ip(), guesser)
        statuses.append(resp.status)
    assert statuses == [403] * 5 + [429] * 2
