"""Imports straight from another shortener's API (``--from URL --source-key``):
Shlink, Kutt and YOURLS answer as their documented APIs do (a stand-in on a real
port, paged as they page), and the links arrive like from their files."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from tests.cli.conftest import MakeUser, Shortener, links_of
from tests.conftest import ServeApp

SHLINK = [
    {"shortCode": f"sh-{i}", "shortUrl": f"https://s.example/sh-{i}", "domain": None,
     "longUrl": f"https://www.example.com/shlink/{i}",
     "dateCreated": f"2022-01-0{1 + i}T10:00:00+02:00",
     "tags": ["imported", f"t{i}"], "title": f"Shlink {i}"}
    for i in range(3)
]  # fmt: skip
KUTT = [
    {"id": f"00000000-0000-4000-8000-00000000000{i}", "address": f"kt-{i}", "banned": False,
     "target": f"https://www.example.com/kutt/{i}", "description": f"Kutt {i}",
     "created_at": "2023-03-03T03:03:03.000Z", "link": f"https://k.example/kt-{i}",
     "password": False, "visit_count": i, "updated_at": "2023-03-03T03:03:03.000Z"}
    for i in range(3)
]  # fmt: skip


def stand_in(seen: list[tuple[str, dict[str, str]]]) -> web.Application:
    async def shlink(request: web.Request) -> web.Response:
        if request.headers.get("X-Api-Key") != "shlink-key":
            return web.json_response({"title": "Invalid API key"}, status=401)
        page = int(request.query["page"])
        seen.append(("shlink", dict(request.query)))
        # two per page, as if itemsPerPage were 2
        return web.json_response(
            {"shortUrls": {"data": SHLINK[(page - 1) * 2 : page * 2],
                           "pagination": {"currentPage": page, "pagesCount": 2}}}
        )  # fmt: skip

    async def kutt(request: web.Request) -> web.Response:
        if request.headers.get("X-API-KEY") != "kutt-key":
            return web.json_response({"error": "Unauthorized"}, status=401)
        skip = int(request.query["skip"])
        seen.append(("kutt", dict(request.query)))
        return web.json_response(
            {"limit": 2, "skip": skip, "total": len(KUTT), "data": KUTT[skip : skip + 2]}
        )

    async def yourls(request: web.Request) -> web.Response:
        if request.query.get("signature") != "yourls-sig":
            return web.json_response({"errorCode": 403, "message": "Please log in"}, status=403)
        seen.append(("yourls", dict(request.query)))
        links: dict[str, Any] = {
            f"link_{i + 1}": {
                "shorturl": f"https://y.example/yo-{i}",
                "url": f"https://www.example.com/yourls/{i}",
                "title": f"Yourls {i}",
                "timestamp": "2019-09-09 09:09:09",
                "ip": "127.0.0.1",
                "clicks": str(i),
            }
            for i in range(2)
        }
        return web.json_response({"links": links, "stats": {"total_links": "2"}})

    app = web.Application()
    app.router.add_get("/rest/v3/short-urls", shlink)
    app.router.add_get("/api/v2/links", kutt)
    app.router.add_get("/yourls-api.php", yourls)
    return app


async def test_shlink_kutt_and_yourls_apis(
    shortener: Shortener,
    make_user: MakeUser,
    pg_pool: asyncpg.Pool,
    serve_app: ServeApp,
    tmp_path: Any,
) -> None:
    seen: list[tuple[str, dict[str, str]]] = []
    server = await serve_app(lambda _: stand_in(seen))
    base = str(server.make_url("")).rstrip("/")
    ana = await make_user("admin")
    common = ("--quiet", "import")
    tail = ("--user", ana.username, "--failures", str(tmp_path / "f.csv"))

    for kind, key, count in (("shlink", "shlink-key", 3), ("kutt", "kutt-key", 3),
                             ("yourls", "yourls-sig", 2)):  # fmt: skip
        ran = await shortener(*common, kind, "--from", base, "--source-key", key, *tail)
        assert ran.code == 0, ran.err
        assert ran.summary["created"] == count, (kind, ran.out)
        again = await shortener(*common, kind, "--from", base, "--source-key", key, *tail)
        assert (again.summary["created"], again.summary["skipped"]) == (0, count)

    rows = await links_of(pg_pool, ana)
    assert [(r["alias"], r["long_url"], r["title"], r["import_source"]) for r in rows] == [
        *[(f"sh-{i}", f"https://www.example.com/shlink/{i}", f"Shlink {i}", f"shlink:/sh-{i}")
          for i in range(3)],
        *[(f"kt-{i}", f"https://www.example.com/kutt/{i}", f"Kutt {i}",
           f"kutt:00000000-0000-4000-8000-00000000000{i}") for i in range(3)],
        *[(f"yo-{i}", f"https://www.example.com/yourls/{i}", f"Yourls {i}", f"yourls:yo-{i}")
          for i in range(2)],
    ]  # fmt: skip
    assert rows[0]["tags"] == ["imported", "t0"]
    assert rows[0]["created_at"].isoformat() == "2022-01-01T08:00:00+00:00"
    assert [q["page"] for kind, q in seen if kind == "shlink"] == ["1", "2"] * 2
    assert [q["skip"] for kind, q in seen if kind == "kutt"] == ["0", "2"] * 2

    wrong = await shortener(*common, "kutt", "--from", base, "--source-key", "nope", *tail)
    assert wrong.code == 1
    assert "answered 401" in wrong.err
    assert "Traceback" not in wrong.err
