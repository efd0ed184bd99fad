"""Frame, splash, custom splash, overlay and pixel pages: the destination is
reached, the visit is counted, and nothing a link's owner typed can run as script."""

from __future__ import annotations

import re

from tests.edge.conftest import BROWSER, ClickQueue, Client, MakeLink, WriteSnapshot

UA = {"User-Agent": BROWSER}
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def scripts_in(html: str) -> list[str]:
    return re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.S)


async def page(edge: Client, path: str) -> str:
    resp = await edge.get(path, allow_redirects=False, headers=UA)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    return await resp.text()


async def test_frame_page(edge: Client, make_link: MakeLink, clicks: ClickQueue) -> None:
    link = await make_link("https://example.com/framed?a=1&b=2", type="frame", meta_title=HOSTILE)
    html = await page(edge, link.path)
    assert '<iframe src="https://example.com/framed?a=1&amp;b=2" title="' in html
    assert "<script>alert" not in html
    assert "onerror=alert(2)>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    (event,) = await clicks.wait_for(link.id, 1)
    assert event["payload"]["destination"] == "https://example.com/framed?a=1&b=2"


async def test_frame_of_a_non_web_destination_redirects(edge: Client, make_link: MakeLink) -> None:
    link = await make_link("mailto:sales@example.com", type="frame")
    resp = await edge.get(link.path, allow_redirects=False, headers=UA)
    assert resp.status == 302
    assert resp.headers["Location"] == "mailto:sales@example.com"


async def test_default_splash_counts_down(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link("https://example.com/after-splash", type="splash")
    html = await page(edge, link.path)
    assert '<meta http-equiv="refresh" content="5;url=https://example.com/after-splash">' in html
    assert '<a href="https://example.com/after-splash">Continue now</a>' in html
    assert 'role="status"' in html
    assert len(await clicks.wait_for(link.id, 1)) == 1


async def test_custom_splash_is_escaped(edge: Client, write_snapshot: WriteSnapshot) -> None:
    link = await write_snapshot(
        "https://example.com/dest",
        type="splash-4",
        splash={
            "title": HOSTILE,
            "message": "Hello </script><script>alert(3)</script>",
            "image": "javascript:alert(4)",
            "button_text": "<b>Shop</b>",
            "button_url": "javascript:alert(5)",
            "delay": 3,
        },
    )
    html = await page(edge, link.path)
    assert "<script>alert" not in html
    assert "javascript:" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in html
    assert '<meta http-equiv="refresh" content="3;url=https://example.com/dest">' in html
    assert "<b>Shop</b>" not in html
    for script in scripts_in(html):
        assert "alert" not in script


async def test_custom_splash_shows_its_content(edge: Client, write_snapshot: WriteSnapshot) -> None:
    link = await write_snapshot(
        "https://example.com/dest",
        type="splash-9",
        splash={
            "title": "Spring sale",
            "message": "Everything 20% off",
            "image": "https://cdn.example.com/sale.png",
            "button_text": "Shop now",
            "button_url": "https://shop.example.com/",
            "delay": 8,
        },
    )
    html = await page(edge, link.path)
    assert "<h1>Spring sale</h1>" in html
    assert "<p>Everything 20% off</p>" in html
    assert '<img class="hero" src="https://cdn.example.com/sale.png" alt="">' in html
    assert 'href="https://shop.example.com/" rel="noopener">Shop now</a>' in html
    assert 'content="8;url=https://example.com/dest"' in html


async def test_overlay_page(edge: Client, write_snapshot: WriteSnapshot) -> None:
    link = await write_snapshot(
        "https://example.com/article",
        type="overlay-2",
        overlay={
            "type": "message",
            "name": HOSTILE,
            "text": "Hi <script>alert(6)</script>",
            "button_text": "Go",
            "button_url": "https://example.com/cta",
            "position": "top-left",
            "colors": {"bg": "#fff", "text": "red;background:url(javascript:alert(7))"},
            "group": None,
        },
    )
    html = await page(edge, link.path)
    assert '<iframe src="https://example.com/article"' in html
    assert '<aside class="overlay top-left" style="background:#fff"' in html
    assert "<script>alert" not in html
    assert "javascript:" not in html
    assert "Hi &lt;script&gt;alert(6)&lt;/script&gt;" in html
    assert 'href="https://example.com/cta"' in html


async def test_contact_overlay_has_an_accessible_form(
    edge: Client, write_snapshot: WriteSnapshot
) -> None:
    link = await write_snapshot(
        "https://example.com/article",
        type="overlay-3",
        overlay={"type": "contact", "name": "Talk to us", "text": "Leave your details"},
    )
    html = await page(edge, link.path)
    assert f'<form method="post" action="/{link.alias}/overlay">' in html
    for field in ("name", "surname", "email", "gsm"):
        assert f'<label for="ov-{field}">' in html
        assert f'id="ov-{field}" name="{field}"' in html
    assert re.search(r'name="csrf" value="[^"]+"', html)


async def test_pixels_fire_then_redirect(
    edge: Client, write_snapshot: WriteSnapshot, clicks: ClickQueue
) -> None:
    link = await write_snapshot(
        "https://example.com/after-pixels",
        pixels=[
            {"type": "fbpixel", "tag": "1234567890"},
            {"type": "gtmpixel", "tag": "GTM-ABC123"},
            {"type": "gapixel", "tag": "G-XYZ789"},
            {"type": "twitterpixel", "tag": "o1abc"},
        ],
    )
    html = await page(edge, link.path)
    assert "fbq('init',\"1234567890\")" in html
    assert "'dataLayer',\"GTM-ABC123\")" in html
    assert "gtag/js?id=G-XYZ789" in html
    assert "twq('config',\"o1abc\")" in html
    assert '<meta http-equiv="refresh" content="2;url=https://example.com/after-pixels">' in html
    assert 'location.replace("https://example.com/after-pixels")' in html
    (event,) = await clicks.wait_for(link.id, 1)
    assert event["payload"]["destination"] == "https://example.com/after-pixels"


async def test_pixel_tags_that_are_not_plain_ids_are_refused(
    edge: Client, write_snapshot: WriteSnapshot
) -> None:
    link = await write_snapshot(
        "https://example.com/dest",
        pixels=[
            {"type": "fbpixel", "tag": "123');alert(1);//"},
            {"type": "gapixel", "tag": '"></script><script>alert(2)</script>'},
            {"type": "reddit", "tag": "t2_ok123"},
            {"type": "evilpixel", "tag": "123"},
            42,  # an unresolved pixel id: nothing to fire
        ],
    )
    html = await page(edge, link.path)
    assert "alert" not in html
    assert "fbq(" not in html
    assert "gtag(" not in html
    assert "rdt('init',\"t2_ok123\")" in html


async def test_only_pixels_of_ids_is_a_plain_redirect(
    edge: Client, write_snapshot: WriteSnapshot
) -> None:
    link = await write_snapshot("https://example.com/dest", pixels=[3, 4])
    resp = await edge.get(link.path, allow_redirects=False, headers=UA)
    assert resp.status == 302
    assert resp.headers["Location"] == "https://example.com/dest"


async def test_destination_in_a_script_cannot_close_it(
    edge: Client, write_snapshot: WriteSnapshot
) -> None:
    link = await write_snapshot(
        "https://example.com/x?q=</script><script>alert(1)</script>",
        pixels=[{"type": "bing", "tag": "12345"}],
    )
    html = await page(edge, link.path)
    assert "<script>alert(1)" not in html
    for script in scripts_in(html):
        assert "</script" not in script
