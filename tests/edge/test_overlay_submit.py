"""Contact and newsletter overlays: the visitor's form becomes a contact of the
link's owner through the accounts service (signed as the service), CSRF-safe
and rate-limited per visitor."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web

from services.links.edge.app import create_app
from shared import identity
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.edge.conftest import BROWSER, Client, Link, WriteSnapshot

UA = {"User-Agent": BROWSER}


class Accounts:
    """Stands in for the accounts service's ``POST /internal/contacts/submit``."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[dict[str, Any]] = []
        self.callers: list[identity.Principal] = []

    def app(self, _settings: Settings) -> web.Application:
        async def submit(request: web.Request) -> web.Response:
            caller = identity.verify(
                request.headers.get(identity.HEADER),
                self.secret,
                "POST",
                request.raw_path,
                await request.read(),
            )
            if caller is None:
                return web.json_response({"error": 1, "message": "unsigned"}, status=403)
            self.callers.append(caller)
            self.received.append(await request.json())
            return web.json_response({"error": 0, "id": len(self.received)})

        app = web.Application()
        app.router.add_post("/internal/contacts/submit", submit)
        return app


@pytest.fixture
async def accounts_and_edge(
    serve_app: ServeApp, edge_settings: Settings
) -> tuple[Accounts, Client]:
    accounts = Accounts(edge_settings.internal_secret)
    stub = await serve_app(accounts.app)
    edge = await serve_app(
        create_app, edge_settings.with_overrides(accounts_url=str(stub.make_url("")).rstrip("/"))
    )
    return accounts, edge


async def overlay_link(write_snapshot: WriteSnapshot, kind: str = "contact") -> Link:
    return await write_snapshot(
        "https://example.com/article",
        type="overlay-5",
        overlay={"type": kind, "name": "Join us", "text": "News weekly", "group": 31},
    )


async def token_for(edge: Client, link: Link) -> str:
    resp = await edge.get(link.path, allow_redirects=False, headers=UA)
    assert resp.status == 200
    match = re.search(r'name="csrf" value="([^"]+)"', await resp.text())
    assert match
    return match.group(1)


async def test_contact_form_reaches_accounts(
    accounts_and_edge: tuple[Accounts, Client], write_snapshot: WriteSnapshot
) -> None:
    accounts, edge = accounts_and_edge
    link = await overlay_link(write_snapshot)
    token = await token_for(edge, link)
    resp = await edge.post(
        f"{link.path}/overlay",
        data={
            "csrf": token,
            "name": "Ada",
            "surname": "Lovelace",
            "email": "ada@example.com",
            "gsm": "+44 20 7946 0000",
        },
        headers=UA,
    )
    assert resp.status == 200
    assert "Thank you" in await resp.text()
    assert accounts.received == [
        {
            "owner_id": link.owner,
            "group_id": 31,
            "name": "Ada",
            "surname": "Lovelace",
            "email": "ada@example.com",
            "gsm": "+44 20 7946 0000",
        }
    ]
    assert [c.role for c in accounts.callers] == ["service"]


async def test_overlay_form_needs_its_token_and_an_email(
    accounts_and_edge: tuple[Accounts, Client], write_snapshot: WriteSnapshot
) -> None:
    accounts, edge = accounts_and_edge
    link = await overlay_link(write_snapshot, "newsletter")
    forged = await edge.post(
        f"{link.path}/overlay", data={"csrf": "nope", "email": "x@example.com"}, headers=UA
    )
    assert forged.status == 403
    token = await token_for(edge, link)
    bad = await edge.post(
        f"{link.path}/overlay", data={"csrf": token, "email": "not-an-email"}, headers=UA
    )
    assert bad.status == 400
    assert "valid email" in await bad.text()
    assert accounts.received == []


async def test_overlay_submissions_are_rate_limited(
    accounts_and_edge: tuple[Accounts, Client], write_snapshot: WriteSnapshot
) -> None:
    accounts, edge = accounts_and_edge
    link = await overlay_link(write_snapshot, "newsletter")
    token = await token_for(edge, link)
    statuses = []
    for i in range(12):
        resp = await edge.post(
            f"{link.path}/overlay",
            data={"csrf": token, "email": f"reader{i}@example.com"},
            headers={**UA, "X-Forwarded-For": f"198.51.100.{i}"},  # not trusted: same visitor
        )
        statuses.append(resp.status)
    assert statuses[:10] == [200] * 10
    assert statuses[10:] == [429, 429]
    assert len(accounts.received) == 10


async def test_overlay_post_for_a_message_overlay_is_404(
    accounts_and_edge: tuple[Accounts, Client], write_snapshot: WriteSnapshot
) -> None:
    accounts, edge = accounts_and_edge
    link = await overlay_link(write_snapshot, "message")
    resp = await edge.post(f"{link.path}/overlay", data={"email": "a@example.com"}, headers=UA)
    assert resp.status == 404
    assert accounts.received == []
