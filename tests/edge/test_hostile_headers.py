"""Header bytes that are not UTF-8 (a Latin-1 referrer, a mangled user agent or
cookie): the visitor is redirected and counted like any other, and one such
click never takes the other clicks of its batch down with it. Sent over raw
sockets, since HTTP clients refuse to send such bytes."""

from __future__ import annotations

import asyncio

from services.links.edge.app import create_app
from services.links.edge.keys import CLICKS, EDGE, STATS
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.edge.conftest import BROWSER, ClickQueue, Client, MakeLink

BAD = b"caf\xe9-\xff\xfe"  # Latin-1 / plain garbage, never valid UTF-8


async def raw_get(client: Client, path: str, headers: list[tuple[bytes, bytes]]) -> bytes:
    """The status line and headers the edge answers to a GET sent byte for byte."""
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    try:
        lines = [b"GET " + path.encode() + b" HTTP/1.1", b"Host: " + client.server.host.encode()]
        lines += [name + b": " + value for name, value in headers]
        writer.write(b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n")
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
    finally:
        writer.close()
        await writer.wait_closed()
    return head


def status_of(head: bytes) -> int:
    return int(head.split(b" ", 2)[1])


async def test_one_bad_referrer_does_not_empty_the_batch(
    serve_app: ServeApp, edge_settings: Settings, make_link: MakeLink, clicks: ClickQueue
) -> None:
    # A long window so that every click below lands in one batch.
    edge = await serve_app(
        create_app, edge_settings.with_overrides(click_flush_interval=1.0, click_batch_size=500)
    )
    link = await make_link("https://example.com/batch")
    ua = (b"User-Agent", BROWSER.encode())
    good = [
        raw_get(edge, link.path, [ua, (b"Referer", b"https://ok.example.org/")]) for _ in range(20)
    ]
    hostile = [
        raw_get(edge, link.path, [ua, (b"Referer", b"https://x.example.org/" + BAD)]),
        raw_get(edge, link.path, [ua, (b"Accept-Language", b"fr-" + BAD)]),
    ]
    heads = await asyncio.gather(*good[:10], *hostile, *good[10:])
    assert [status_of(h) for h in heads] == [302] * 22
    events = await clicks.wait_for(link.id, 22)
    await clicks.settle(link.id)
    assert len(clicks.of(link.id)) == 22
    referrers = [e["payload"]["referrer"] for e in events]
    assert referrers.count("https://ok.example.org/") == 20
    # The hostile values are kept, their undecodable bytes replaced.
    assert "https://x.example.org/caf\ufffd-\ufffd\ufffd" in referrers
    languages = [e["payload"]["accept_language"] for e in events]
    assert "fr-caf\ufffd-\ufffd\ufffd" in languages


async def test_bad_user_agent_and_cookie_bytes_redirect_and_count(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link("https://example.com/ua")
    head = await raw_get(edge, link.path, [(b"User-Agent", b"Mozilla/5.0 " + BAD)])
    assert status_of(head) == 302, head
    assert b"Location: https://example.com/ua" in head
    head = await raw_get(
        edge, link.path, [(b"User-Agent", BROWSER.encode()), (b"Cookie", b"a=" + BAD)]
    )
    assert status_of(head) == 302, head
    events = await clicks.wait_for(link.id, 2)
    assert len(events) == 2
    assert "Mozilla/5.0 caf\ufffd-\ufffd\ufffd" in [e["payload"]["user_agent"] for e in events]


async def test_password_and_form_cookies_with_bad_bytes_get_the_form(
    edge: Client, make_link: MakeLink
) -> None:
    link = await make_link("https://example.com/secret", password_hash="not-a-real-hash")
    ua = (b"User-Agent", BROWSER.encode())
    forged = b"edge_pw_%d=9999999999." % link.id + BAD * 4
    for cookie in (forged, b"edge_csrf=" + BAD * 4):
        head = await raw_get(edge, link.path, [ua, (b"Cookie", cookie)])
        assert status_of(head) == 200, (cookie, head)


async def test_an_event_that_cannot_be_encoded_is_dropped_alone(
    serve_app: ServeApp, edge_settings: Settings, make_link: MakeLink, clicks: ClickQueue
) -> None:
    edge = await serve_app(create_app, edge_settings.with_overrides(click_flush_interval=0.5))
    link = await make_link("https://example.com/alone")
    resp = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert resp.status == 302
    # A click no cleaning can save (a destination that is not text), among good ones.
    app = edge.app
    assert app is not None
    entry = await app[EDGE].store.link(f"link:_:{link.alias}")
    assert entry is not None
    app[CLICKS].add(entry, "https://example.com/\udcff", "127.0.0.1", b'""', None, None, None)
    for _ in range(4):
        resp = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
        assert resp.status == 302
    events = await clicks.wait_for(link.id, 5)
    await clicks.settle(link.id)
    assert len(clicks.of(link.id)) == 5
    assert {e["payload"]["destination"] for e in events} == {"https://example.com/alone"}
    assert app[STATS].clicks_unencodable == 1
