"""Splash pages, overlays and pixels made through the links API, as a visitor of
the edge gets them: the owner's content shown, escaped, and a change visible
within a second."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from services.links.edge.app import create_app as create_edge_app
from shared.identity import Principal
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.links.conftest import LinksApi
from tests.support import principals

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
Edge = TestClient[web.Request, web.Application]


@pytest.fixture
async def edge(serve_app: ServeApp, settings: Settings) -> Edge:
    return await serve_app(create_edge_app, settings.with_overrides(click_flush_interval=0.05))


async def made(links: LinksApi, who: Principal, path: str, body: dict[str, Any]) -> int:
    status, answer = await links.call("POST", path, who, body)
    assert status == 200, answer
    object_id: int = answer["id"]
    return object_id


async def page(edge: Edge, alias: str) -> str:
    resp = await edge.get(f"/{alias}", allow_redirects=False, headers={"User-Agent": BROWSER})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    return await resp.text()


def no_injected_markup(html: str) -> None:
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "onerror=alert(2)>" not in html


async def within_a_second(edge: Edge, alias: str, text: str) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 1.0
    while True:
        if text in await page(edge, alias):
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.02)


async def test_custom_splash_page_is_shown_escaped_and_follows_updates(
    links: LinksApi, edge: Edge
) -> None:
    alice = principals.user()
    splash_id = await made(
        links,
        alice,
        "/api/splash/add",
        {
            "name": "Promo",
            "title": HOSTILE,
            "message": f"Sale {HOSTILE}",
            "image": "https://cdn.example.com/promo.png",
            "button_text": HOSTILE,
            "button_url": "https://shop.example.com/?a=1&b=2",
            "delay": 7,
        },
    )
    alias = f"spe-{alice.user_id}"
    await links.add(alice, url="https://example.com/dest", custom=alias, type=f"splash-{splash_id}")
    html = await page(edge, alias)
    no_injected_markup(html)
    assert "Sale &quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'src="https://cdn.example.com/promo.png"' in html
    assert 'href="https://shop.example.com/?a=1&amp;b=2"' in html
    assert 'content="7;url=https://example.com/dest"' in html

    status, _ = await links.call(
        "PUT", f"/api/splash/{splash_id}/update", alice, {"message": "Now 50% off", "delay": 2}
    )
    assert status == 200
    assert await within_a_second(edge, alias, "Now 50% off")
    assert 'content="2;url=https://example.com/dest"' in await page(edge, alias)


async def test_overlay_is_shown_escaped_over_the_framed_destination(
    links: LinksApi, edge: Edge
) -> None:
    alice = principals.user()
    overlay_id = await made(
        links,
        alice,
        "/api/overlay/add",
        {
            "type": "contact",
            "name": HOSTILE,
            "text": f"Hi {HOSTILE}",
            "button_text": "Send",
            "position": "top-left",
            "colors": {"bg": "#112233", "button": "#FF0000"},
        },
    )
    alias = f"ove-{alice.user_id}"
    await links.add(
        alice, url="https://example.com/article", custom=alias, type=f"overlay-{overlay_id}"
    )
    html = await page(edge, alias)
    no_injected_markup(html)
    assert "Hi &quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<iframe src="https://example.com/article"' in html
    assert 'class="overlay top-left"' in html
    assert "#112233" in html
    assert f'<form method="post" action="/{alias}/overlay">' in html
    assert re.search(r'name="csrf" value="[^"]+"', html)

    status, _ = await links.call(
        "PUT",
        f"/api/overlay/{overlay_id}/update",
        alice,
        {"type": "message", "text": "Read our guide", "button_url": "https://example.com/guide"},
    )
    assert status == 200
    assert await within_a_second(edge, alias, "Read our guide")
    html = await page(edge, alias)
    assert "<form" not in html
    assert 'href="https://example.com/guide"' in html


async def test_pixels_fire_with_their_tags_and_follow_updates(links: LinksApi, edge: Edge) -> None:
    alice = principals.user()
    fb = await made(
        links, alice, "/api/pixel/add", {"type": "fbpixel", "name": "fb", "tag": "1234567890"}
    )
    gtm = await made(
        links, alice, "/api/pixel/add", {"type": "gtmpixel", "name": "gtm", "tag": "GTM-ABC123"}
    )
    alias = f"pxe-{alice.user_id}"
    await links.add(alice, url="https://example.com/after", custom=alias, pixels=[fb, gtm])
    html = await page(edge, alias)
    assert "fbq('init',\"1234567890\")" in html
    assert "'dataLayer',\"GTM-ABC123\")" in html
    status, _ = await links.call("PUT", f"/api/pixel/{fb}/update", alice, {"tag": "555555555"})
    assert status == 200
    assert await within_a_second(edge, alias, "fbq('init',\"555555555\")")
