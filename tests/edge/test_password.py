"""Password-protected links: an accessible form, CSRF-safe, limited wrong answers
per visitor, and a per-link cookie that a password change voids."""

from __future__ import annotations

import re

import asyncpg
from aiohttp import ClientResponse

from shared.passwords import hash_password
from tests.edge.conftest import BROWSER, ClickQueue, Client, Link, MakeLink, Publish

UA = {"User-Agent": BROWSER}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def form(edge: Client, link: Link) -> str:
    resp = await edge.get(link.path, allow_redirects=False, headers=UA)
    assert resp.status == 200
    return csrf_of(await resp.text())


async def submit(edge: Client, link: Link, password: str, token: str) -> ClientResponse:
    return await edge.post(
        link.path,
        data={"password": password, "csrf": token},
        allow_redirects=False,
        headers=UA,
    )


async def test_form_is_shown_and_not_counted(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link("https://example.com/secret", password_hash=hash_password("open sesame"))
    resp = await edge.get(link.path, allow_redirects=False, headers=UA)
    assert resp.status == 200
    assert "Location" not in resp.headers
    assert resp.headers["Cache-Control"] == "private, no-store"
    html = await resp.text()
    assert '<label for="pw">Password</label>' in html
    assert f'<form method="post" action="{link.path}">' in html
    assert "<script" not in html  # works without JavaScript
    assert "https://example.com/secret" not in html
    head = await edge.head(link.path, allow_redirects=False, headers=UA)
    assert head.status == 200
    assert await clicks.settle(link.id) == []


async def test_wrong_then_right_then_cookie(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link("https://example.com/secret", password_hash=hash_password("open sesame"))
    token = await form(edge, link)
    wrong = await submit(edge, link, "guess", token)
    assert wrong.status == 403
    assert "Wrong password" in await wrong.text()
    assert not any(c.key.startswith("edge_pw_") for c in edge.session.cookie_jar)

    right = await submit(edge, link, "open sesame", token)
    assert right.status == 303
    assert right.headers["Location"] == "https://example.com/secret"
    cookie = right.cookies[f"edge_pw_{link.id}"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == "86400"

    # The cookie lets the visitor straight through next time.
    again = await edge.get(link.path, allow_redirects=False, headers=UA)
    assert again.status == 302
    assert again.headers["Location"] == "https://example.com/secret"
    events = await clicks.wait_for(link.id, 2)
    assert len(events) == 2
    assert len(await clicks.settle(link.id)) == 2


async def test_form_without_its_token_is_refused(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link("https://example.com/secret", password_hash=hash_password("pw12345"))
    await form(edge, link)  # the visitor has a CSRF cookie, but the forger has no token
    forged = await submit(edge, link, "pw12345", "forged-token")
    assert forged.status == 403
    assert "expired" in await forged.text()
    assert "Location" not in forged.headers
    missing = await edge.post(
        link.path, data={"password": "pw12345"}, allow_redirects=False, headers=UA
    )
    assert missing.status == 403
    assert await clicks.settle(link.id) == []


async def test_wrong_answers_are_limited_per_visitor(edge: Client, make_link: MakeLink) -> None:
    link = await make_link("https://example.com/secret", password_hash=hash_password("right-one"))
    token = await form(edge, link)
    for attempt in range(5):
        resp = await submit(edge, link, f"wrong-{attempt}", token)
        assert resp.status == 403
    blocked = await submit(edge, link, "right-one", token)
    assert blocked.status == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many attempts" in await blocked.text()
    assert "Location" not in blocked.headers


async def test_changing_the_password_voids_the_cookie(
    edge: Client, make_link: MakeLink, pg_pool: asyncpg.Pool, publish_link: Publish
) -> None:
    link = await make_link("https://example.com/secret", password_hash=hash_password("first"))
    token = await form(edge, link)
    assert (await submit(edge, link, "first", token)).status == 303
    assert (await edge.get(link.path, allow_redirects=False, headers=UA)).status == 302

    await pg_pool.execute(
        "UPDATE links.links SET password_hash = $2, updated_at = now() WHERE id = $1",
        link.id,
        hash_password("second"),
    )
    await publish_link(link)
    resp = await edge.get(link.path, allow_redirects=False, headers=UA)
    assert resp.status == 200  # the form again
    token = csrf_of(await resp.text())
    assert (await submit(edge, link, "first", token)).status == 403
    assert (await submit(edge, link, "second", token)).status == 303


async def test_a_cookie_of_another_link_does_not_open_this_one(
    edge: Client, make_link: MakeLink
) -> None:
    same = hash_password("shared")
    one = await make_link("https://example.com/one", password_hash=same)
    two = await make_link("https://example.com/two", password_hash=same)
    token = await form(edge, one)
    right = await submit(edge, one, "shared", token)
    value = right.cookies[f"edge_pw_{one.id}"].value
    resp = await edge.get(
        two.path,
        allow_redirects=False,
        headers={**UA, "Cookie": f"edge_pw_{two.id}={value}"},
    )
    assert resp.status == 200
    assert "Password required" in await resp.text()


async def test_post_to_a_link_without_password_is_refused(
    edge: Client, make_link: MakeLink
) -> None:
    link = await make_link("https://example.com/open")
    resp = await edge.post(link.path, data={"password": "x"}, allow_redirects=False, headers=UA)
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD"
