"""Exports: every link as CSV or JSON lines (streamed, parsable back, only the
caller's, memory flat at 100k links), and raw clicks per link and per account."""

from __future__ import annotations

import csv
import io
import resource
from typing import Any

import asyncpg
import orjson
import pytest

from shared.settings import Settings
from tests.conftest import ServeApp
from tests.links.conftest import LinksApi, StartLinks
from tests.support import principals
from tests.support.analytics_service import send_clicks, serve_analytics, visit
from tests.support.waiting import eventually


@pytest.fixture
async def links_and_analytics(
    serve_app: ServeApp, settings: Settings, start_links: StartLinks
) -> LinksApi:
    return await start_links(analytics_url=await serve_analytics(serve_app, settings))


async def download(links: LinksApi, who: Any, path: str) -> tuple[int, str, bytes]:
    resp = await links.signed.get(path, who)
    body = await resp.read()
    return resp.status, resp.headers.get("Content-Type", ""), body


def parsed_csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


async def test_csv_and_jsonl_hold_every_option_and_only_the_callers_links(
    links: LinksApi,
) -> None:
    alice, bob = principals.user(), principals.user()
    first = await links.add(
        alice,
        url="https://example.com/a?x=1",
        custom="alice-a",
        title="=SUM(A1) title",
        description='Quotes " and, commas\nand lines',
        tags=["spring", "email"],
        password="secret",
        expiry="2030-01-02 03:04:05",
        clicklimit=5,
        geotarget=[{"location": "CA", "link": "https://example.ca"}],
        parameters=[{"name": "utm_source", "value": "news"}],
    )
    second = await links.add(alice, url="https://example.com/b")
    await links.add(bob, url="https://example.com/bobs")

    status, content_type, body = await download(links, alice, "/api/urls/export")
    assert status == 200
    assert content_type.startswith("text/csv")
    rows = parsed_csv(body)
    assert [int(r["id"]) for r in rows] == [first["id"], second["id"]]
    row = rows[0]
    assert row["url"] == "https://example.com/a?x=1"
    assert row["alias"] == "alice-a"
    assert row["shorturl"] == first["shorturl"]
    assert row["title"] == "'=SUM(A1) title"  # a spreadsheet shows it, never runs it
    assert row["description"] == 'Quotes " and, commas\nand lines'
    assert row["tags"] == "spring,email"
    assert (row["password"], row["expiry"], row["clicklimit"]) == ("1", "2030-01-02 03:04:05", "5")
    assert orjson.loads(row["geotarget"]) == [{"location": "CA", "link": "https://example.ca"}]
    assert orjson.loads(row["parameters"]) == [{"name": "utm_source", "value": "news"}]
    assert row["clicks"] == ""  # analytics is down here: unknown, not zero
    assert row["created"]

    status, content_type, body = await download(links, alice, "/api/urls/export?format=jsonl")
    assert status == 200
    assert content_type.startswith("application/x-ndjson")
    records = [orjson.loads(line) for line in body.splitlines()]
    assert [r["id"] for r in records] == [first["id"], second["id"]]
    assert records[0]["tags"] == ["spring", "email"]
    assert records[0]["title"] == "=SUM(A1) title"
    assert records[0]["geotarget"] == [{"location": "CA", "link": "https://example.ca"}]
    assert records[1]["password"] is False

    status, answer = await links.call("GET", "/api/urls/export?format=xml", alice)
    assert (status, answer["message"]) == (400, "The parameter 'format' must be 'csv' or 'jsonl'.")
    empty = await download(links, principals.user(), "/api/urls/export")
    assert empty[2].decode().splitlines()[0].startswith("url,alias,title,tags,created,id")
    assert len(empty[2].decode().splitlines()) == 1


async def test_a_hundred_thousand_links_stream_in_bounded_memory(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice = principals.user()
    await pg_pool.execute(
        """INSERT INTO links.links (owner_id, alias, long_url, title, tags)
           SELECT $1::bigint, 'bulk' || $1::text || '-' || n, 'https://example.com/page/' || n,
                  'A title long enough to weigh something in memory, number ' || n,
                  ARRAY['tag' || (n % 7)]
             FROM generate_series(1, 100000) AS n""",
        alice.user_id,
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    resp = await links.signed.get("/api/urls/export", alice)
    assert resp.status == 200
    assert resp.headers.get("Transfer-Encoding") == "chunked"
    seen = 0
    pending = ""
    async for chunk in resp.content.iter_chunked(1 << 16):
        pending += chunk.decode()
        lines, _, pending = pending.rpartition("\r\n")
        for row in csv.reader(io.StringIO(lines)):
            if seen and row:
                assert row[0].startswith("https://example.com/page/")
            seen += 1
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert seen == 100_001  # the header and every link
    # The whole export is ~17 MB of CSV and ~100k row objects: loading it at
    # once would grow the process by far more than this.
    assert grown_mb < 40, grown_mb


async def test_raw_clicks_per_link_and_per_account(
    links_and_analytics: LinksApi, settings: Settings
) -> None:
    links = links_and_analytics
    alice = principals.user()
    a = (await links.add(alice, url="https://example.com/a"))["id"]
    b = (await links.add(alice, url="https://example.com/b"))["id"]
    clicks = [
        visit(n, link_id, alice.user_id, alias="x", destination="https://example.com",
              referrer="https://news.example.org/", accept_language="fr-CA")
        for n, link_id in enumerate([a, b, b])
    ]  # fmt: skip
    await send_clicks(settings, clicks)

    async def counted() -> bool:
        _, _, body = await download(links, alice, "/api/urls/clicks/export")
        return len(parsed_csv(body)) == 3

    await eventually(counted, within=15, every=0.2)

    status, content_type, body = await download(links, alice, f"/api/url/{b}/clicks/export")
    assert (status, content_type.split(";")[0]) == (200, "text/csv")
    rows = parsed_csv(body)
    assert [int(r["link"]) for r in rows] == [b, b]
    assert {r["ip"] for r in rows} == {"203.0.113.0/24"}  # as stored: a prefix
    assert {r["country"] for r in rows} == {"CA"}
    assert {r["referrer"] for r in rows} == {"news.example.org"}
    assert {r["bot"] for r in rows} == {"0"}

    status, _, body = await download(
        links, alice, "/api/urls/clicks/export?from=2001-01-01&to=2001-02-01"
    )
    assert (status, len(parsed_csv(body))) == (200, 0)

    # Another user's link is a 404; a plan without `export` is a 403.
    bob = principals.user()
    status, answer = await links.call("GET", f"/api/url/{b}/clicks/export", bob)
    assert status == 404
    starter = principals.user(principals.STARTER_LIMITS)
    status, answer = await links.call("GET", "/api/urls/clicks/export", starter)
    assert (status, answer["error"]) == (403, 1)
    status, answer = await links.call("GET", "/api/urls/clicks/export?from=yesterday", alice)
    assert (status, answer["error"]) == (400, 1)
