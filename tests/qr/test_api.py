"""The QR codes API (API.md section 10) on the links service: shapes, ownership,
the hidden backing link of dynamic codes, and what changes for the edge."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from shared.identity import Principal
from shared.settings import Settings
from tests.links.conftest import EventTap, LinksApi, StartLinks, snapshot
from tests.qr.conftest import BAD_LOGOS, LogoServer
from tests.support import principals
from tests.support.analytics_service import ZERO_STATS

PUBLISHED_ITEM = {"id", "link", "scans", "name", "date"}
DATE_RE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")

STATIC_CODES: list[tuple[str, Any]] = [
    ("text", "Grüße aus Köln — 你好"),
    ("phone", "+1 (555) 010-9999"),
    ("email", {"email": "sales@example.com", "subject": "Hi", "body": "Line 1\nLine 2"}),
    ("sms", {"phone": "+15550109999", "message": "STOP; now: yes"}),
    ("wifi", {"ssid": "Café;Net", "password": 'p"a:ss', "encryption": "WPA", "hidden": True}),
    ("vcard", {"name": "Ada Lovelace", "email": "ada@example.com", "company": "Engines, Ltd"}),
]


async def details(api: LinksApi, who: Principal, qr_id: int) -> dict[str, Any]:
    status, body = await api.call("GET", f"/api/qr/{qr_id}", who)
    assert status == 200, body
    result: dict[str, Any] = body
    return result


async def stored(pg_pool: asyncpg.Pool, who: Principal) -> tuple[int, int]:
    """(QR codes, links of any kind) the user has in the database."""
    codes = await pg_pool.fetchval(
        "SELECT count(*) FROM links.qr_codes WHERE owner_id = $1", who.user_id
    )
    links = await pg_pool.fetchval(
        "SELECT count(*) FROM links.links WHERE owner_id = $1", who.user_id
    )
    return codes, links


async def backing_link(pg_pool: asyncpg.Pool, qr_id: int) -> asyncpg.Record | None:
    return await pg_pool.fetchrow(
        "SELECT l.id, l.alias, l.long_url, l.qr_id FROM links.links l "
        "JOIN links.qr_codes q ON q.link_id = l.id WHERE q.id = $1",
        qr_id,
    )


def alias_of(api: LinksApi, link: str) -> str:
    prefix = f"{api.settings.public_base_url}/qr/"
    assert link.startswith(prefix)
    alias = link[len(prefix) :]
    assert re.fullmatch(r"[A-Za-z0-9]{7}", alias)
    return alias


async def add_dynamic(
    api: LinksApi, pg_pool: asyncpg.Pool, who: Principal, url: str
) -> tuple[dict[str, Any], str, asyncpg.Record]:
    """A dynamic code for ``url``: the add answer, the code's alias and its backing link."""
    added = await api.added(who, "qr", type="link", data=url)
    link = await backing_link(pg_pool, added["id"])
    assert link is not None
    return added, alias_of(api, added["link"]), link


# --- shapes ------------------------------------------------------------------------------


async def test_add_answers_the_id_and_the_image_link(qr_api: LinksApi) -> None:
    alice = principals.user()
    status, body = await qr_api.call(
        "POST",
        "/api/qr/add",
        alice,
        {
            "type": "link",
            "data": "https://google.com",
            "background": "rgb(255,255,255)",
            "foreground": "rgb(0,0,0)",
            "name": "Google",
        },
    )
    assert status == 200
    assert set(body) == {"error", "id", "link"}
    assert body["error"] == 0
    assert isinstance(body["id"], int)
    alias_of(qr_api, body["link"])


async def test_list_is_paged_newest_first_with_the_published_items(qr_api: LinksApi) -> None:
    alice = principals.user()
    ids = [
        (await qr_api.added(alice, "qr", type="text", data=f"note {n}", name=f"Note {n}"))["id"]
        for n in range(3)
    ]
    status, body = await qr_api.call("GET", "/api/qr?limit=2&page=1", alice)
    assert status == 200
    data = body["data"]
    assert {k: data[k] for k in ("result", "perpage", "currentpage", "nextpage", "maxpage")} == {
        "result": 3,
        "perpage": 2,
        "currentpage": 1,
        "nextpage": 2,
        "maxpage": 2,
    }
    assert [item["id"] for item in data["qrs"]] == [ids[2], ids[1]]
    item = data["qrs"][0]
    assert set(item) == PUBLISHED_ITEM
    assert item["name"] == "Note 2"
    assert item["scans"] == 0
    assert DATE_RE.fullmatch(item["date"])
    alias_of(qr_api, item["link"])

    status, body = await qr_api.call("GET", "/api/qr?limit=2&page=2", alice)
    assert status == 200
    assert [item["id"] for item in body["data"]["qrs"]] == [ids[0]]
    assert body["data"]["nextpage"] == 2  # the last page names itself, as the seeds show

    status, body = await qr_api.call("GET", "/api/qr", principals.user())
    assert status == 200
    assert body["data"]["result"] == 0
    assert body["data"]["qrs"] == []


async def test_details_of_a_dynamic_code_without_analytics_have_null_data(
    qr_api: LinksApi,
) -> None:
    alice = principals.user()
    added = await qr_api.added(alice, "qr", type="link", data="https://example.com/x", name="X")
    body = await details(qr_api, alice, added["id"])
    assert set(body) == {"error", "details", "data"}
    assert body["data"] is None  # analytics is down here: the details still come
    info = body["details"]
    assert set(info) >= PUBLISHED_ITEM
    assert info["id"] == added["id"]
    assert info["link"] == added["link"]
    assert info["scans"] is None  # not 0: analytics cannot say
    assert info["name"] == "X"
    assert info["type"] == "link"
    assert info["data"] == "https://example.com/x"
    alias = alias_of(qr_api, added["link"])
    assert info["shorturl"] == f"{qr_api.settings.public_base_url}/{alias}"
    assert info["foreground"] == "rgb(0,0,0)"
    assert info["background"] == "rgb(255,255,255)"
    assert info["logo"] is False
    body = await qr_api.fetch(alice, "/api/qr")
    assert [(item["id"], item["scans"]) for item in body["data"]["qrs"]] == [(added["id"], None)]


@pytest.mark.parametrize(("qr_type", "data"), STATIC_CODES)
async def test_a_static_code_is_stored_as_given_and_shows_zero_stats(
    qr_api: LinksApi, pg_pool: asyncpg.Pool, qr_type: str, data: Any
) -> None:
    alice = principals.user()
    added = await qr_api.added(alice, "qr", type=qr_type, data=data, foreground="#1E90FF")
    body = await details(qr_api, alice, added["id"])
    assert body["data"] == ZERO_STATS  # not tracked: zero, not "unknown"
    assert body["details"]["type"] == qr_type
    assert body["details"]["data"] == data
    assert body["details"]["shorturl"] is None
    assert body["details"]["foreground"] == "rgb(30,144,255)"
    assert await stored(pg_pool, alice) == (1, 0)  # no backing link


async def test_type_is_case_insensitive_and_name_optional(qr_api: LinksApi) -> None:
    alice = principals.user()
    added = await qr_api.added(alice, "qr", type="TEXT", data="hello")
    info = (await details(qr_api, alice, added["id"]))["details"]
    assert info["type"] == "text"
    assert info["name"] is None


# --- bad input: 400 and nothing stored -------------------------------------------------

INVALID_ADDS: list[tuple[Any, str]] = [
    ({"data": "https://example.com"}, "The field 'type' is required."),
    ({"type": "barcode", "data": "x"}, "The field 'type' must be one of"),
    ({"type": "link"}, "The field 'data' is required."),
    ({"type": "text", "data": ""}, "The field 'data' is required."),
    ({"type": "link", "data": "javascript:alert(1)"}, "data"),
    ({"type": "link", "data": "ftp://example.com/file"}, "data"),
    ({"type": "link", "data": {"url": "https://example.com"}}, "data"),
    ({"type": "email", "data": "sales@example.com"}, "must be an object"),
    ({"type": "email", "data": {"subject": "no address"}}, "data.email"),
    ({"type": "wifi", "data": {"ssid": "x", "encryption": "WPA3"}}, "data.encryption"),
    ({"type": "sms", "data": {"phone": "call me", "message": "x"}}, "data.phone"),
    ({"type": "vcard", "data": {"name": "A", "fax": "1"}}, "data.fax"),
    ({"type": "text", "data": "x", "foreground": "blue"}, "'foreground' must be a colour"),
    ({"type": "text", "data": "x", "background": "#12345"}, "'background' must be a colour"),
    ({"type": "text", "data": "x", "foreground": "rgb(300,0,0)"}, "above 255"),
    ({"type": "text", "data": "x", "foreground": 7}, "'foreground' must be a colour"),
    (
        {"type": "text", "data": "x", "foreground": "#777777", "background": "#888888"},
        "too similar",
    ),
    ({"type": "text", "data": "x", "foreground": "rgb(255,255,0)"}, "too similar"),
    (
        {"type": "text", "data": "x", "foreground": "#ffffff", "background": "#000000"},
        "darker than the background",
    ),
    ({"type": "text", "data": "x", "name": "n" * 256}, "'name' must be at most 255"),
    ({"type": "text", "data": "x", "name": ["a"]}, "'name' must be a string"),
    ({"type": "text", "data": "x", "logo": "file:///etc/passwd"}, "'logo' must be an http"),
    ({"type": "text", "data": "x", "logo": "logos/a.png"}, "not enabled on this server"),
    ({"type": "text", "data": "é" * 2000}, "too long to fit in a QR code"),
]


@pytest.mark.parametrize(("body", "message"), INVALID_ADDS)
async def test_invalid_add_is_a_400_and_stores_nothing(
    qr_api: LinksApi, pg_pool: asyncpg.Pool, body: Any, message: str
) -> None:
    alice = principals.user()
    status, answer = await qr_api.call("POST", "/api/qr/add", alice, body)
    assert status == 400, answer
    assert answer["error"] == 1
    assert message in answer["message"]
    assert await stored(pg_pool, alice) == (0, 0)


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"'])
async def test_a_body_that_is_not_a_json_object_is_a_400(
    qr_api: LinksApi, pg_pool: asyncpg.Pool, raw: bytes
) -> None:
    alice = principals.user()
    status, answer = await qr_api.call("POST", "/api/qr/add", alice, raw)
    assert status == 400
    assert answer["error"] == 1
    assert await stored(pg_pool, alice) == (0, 0)


async def test_data_that_fits_alone_but_not_with_a_logo_is_a_400(
    qr_api: LinksApi, pg_pool: asyncpg.Pool, logo_server: LogoServer
) -> None:
    alice = principals.user()
    text = "x" * 2000  # fits at level M, not at level H (needed under a logo)
    status, answer = await qr_api.call(
        "POST",
        "/api/qr/add",
        alice,
        {"type": "text", "data": text, "logo": logo_server.url("/logo.png")},
    )
    assert status == 400
    assert "too long for a QR code with a logo" in answer["message"]
    assert await stored(pg_pool, alice) == (0, 0)
    await qr_api.added(alice, "qr", type="text", data=text)
    assert await stored(pg_pool, alice) == (1, 0)


# --- logos -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/logo.png", "/logo.jpg"])
async def test_a_logo_is_fetched_once_and_kept_with_the_code(
    qr_api: LinksApi, pg_pool: asyncpg.Pool, logo_server: LogoServer, path: str
) -> None:
    alice = principals.user()
    added = await qr_api.added(
        alice, "qr", type="link", data="https://example.com", logo=logo_server.url(path)
    )
    assert logo_server.hits == [path]
    assert (await details(qr_api, alice, added["id"]))["details"]["logo"] is True
    logo = await pg_pool.fetchval("SELECT logo FROM links.qr_codes WHERE id = $1", added["id"])
    assert logo.startswith(b"\x89PNG")  # normalized: always a PNG


@pytest.mark.parametrize(("path", "message"), BAD_LOGOS)
async def test_a_bad_logo_is_a_400_and_stores_nothing(
    qr_api: LinksApi, pg_pool: asyncpg.Pool, logo_server: LogoServer, path: str, message: str
) -> None:
    alice = principals.user()
    status, answer = await qr_api.call(
        "POST",
        "/api/qr/add",
        alice,
        {"type": "link", "data": "https://example.com", "logo": logo_server.url(path)},
    )
    assert status == 400, answer
    assert message in answer["message"]
    assert await stored(pg_pool, alice) == (0, 0)


async def test_a_logo_on_a_private_address_is_refused_without_a_request(
    start_qr_api: StartLinks, pg_pool: asyncpg.Pool, logo_server: LogoServer
) -> None:
    api = await start_qr_api(allow_private_fetch=False)
    alice = principals.user()
    for url in (logo_server.url("/logo.png"), "http://10.0.0.1/logo.png", "http://[::1]/a.png"):
        status, answer = await api.call(
            "POST", "/api/qr/add", alice, {"type": "text", "data": "hi", "logo": url}
        )
        assert status == 400, answer
        assert "could not be fetched" in answer["message"]
    assert logo_server.hits == []
    assert await stored(pg_pool, alice) == (0, 0)


async def test_a_bad_logo_on_update_changes_nothing(
    qr_api: LinksApi, pg_pool: asyncpg.Pool, logo_server: LogoServer
) -> None:
    alice = principals.user()
    added = await qr_api.added(
        alice, "qr", type="text", data="before", logo=logo_server.url("/logo.png")
    )
    row_before = await pg_pool.fetchrow("SELECT * FROM links.qr_codes WHERE id = $1", added["id"])
    status, answer = await qr_api.call(
        "PUT",
        f"/api/qr/{added['id']}/update",
        alice,
        {"data": "after", "logo": logo_server.url("/big.png")},
    )
    assert status == 400
    assert "at most 2 MB" in answer["message"]
    row_after = await pg_pool.fetchrow("SELECT * FROM links.qr_codes WHERE id = $1", added["id"])
    assert row_after == row_before

    # null removes the logo
    status, _ = await qr_api.call(
        "PUT", f"/api/qr/{added['id']}/update", alice, {"data": "after", "logo": None}
    )
    assert status == 200
    assert (await details(qr_api, alice, added["id"]))["details"]["logo"] is False


# --- update and delete ---------------------------------------------------------------------


async def test_update_changes_what_was_sent(qr_api: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    added = await qr_api.added(
        alice, "qr", type="wifi", data={"ssid": "Home", "password": "secret1"}, name="Home"
    )
    new_data = {"ssid": "Home", "password": "secret2", "encryption": "WPA"}
    status, body = await qr_api.call(
        "PUT",
        f"/api/qr/{added['id']}/update",
        alice,
        {"type": "wifi", "data": new_data, "foreground": "#003366"},
    )
    assert status == 200
    assert body == {"error": 0, "message": "QR has been updated successfully."}
    info = (await details(qr_api, alice, added["id"]))["details"]
    assert info["data"] == new_data
    assert info["name"] == "Home"  # not sent: kept
    assert info["foreground"] == "rgb(0,51,102)"
    assert info["background"] == "rgb(255,255,255)"
    assert info["link"] == added["link"]  # the image stays where it was printed

    # The stored background counts in the contrast check of a new foreground.
    status, _ = await qr_api.call(
        "PUT", f"/api/qr/{added['id']}/update", alice, {"data": new_data, "background": "#000000"}
    )
    assert status == 400
    status, _ = await qr_api.call(
        "PUT", f"/api/qr/{added['id']}/update", alice, {"data": new_data, "name": None}
    )
    assert status == 200
    assert (await details(qr_api, alice, added["id"]))["details"]["name"] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "The field 'data' is required."),
        ({"name": "x"}, "The field 'data' is required."),
        ({"type": "link", "data": "https://example.com"}, "type of a QR code cannot be changed"),
        ({"type": "nope", "data": "x"}, "The field 'type' must be one of"),
        ({"data": {"text": "x"}}, "data"),
        ({"data": "x", "foreground": "#eeeeee"}, "too similar"),
    ],
)
async def test_invalid_update_is_a_400_and_changes_nothing(
    qr_api: LinksApi, pg_pool: asyncpg.Pool, body: Any, message: str
) -> None:
    alice = principals.user()
    added = await qr_api.added(alice, "qr", type="text", data="kept", name="Kept")
    before = await pg_pool.fetchrow("SELECT * FROM links.qr_codes WHERE id = $1", added["id"])
    status, answer = await qr_api.call("PUT", f"/api/qr/{added['id']}/update", alice, body)
    assert status == 400, answer
    assert message in answer["message"]
    after = await pg_pool.fetchrow("SELECT * FROM links.qr_codes WHERE id = $1", added["id"])
    assert after == before


async def test_delete_answers_and_the_code_is_gone(qr_api: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    added = await qr_api.added(alice, "qr", type="phone", data="+15550100")
    status, body = await qr_api.call("DELETE", f"/api/qr/{added['id']}/delete", alice)
    assert status == 200
    assert body == {"error": 0, "message": "QR Code has been deleted successfully."}
    assert await stored(pg_pool, alice) == (0, 0)
    for method, path in (
        ("GET", f"/api/qr/{added['id']}"),
        ("PUT", f"/api/qr/{added['id']}/update"),
        ("DELETE", f"/api/qr/{added['id']}/delete"),
    ):
        status, body = await qr_api.call(method, path, alice, {"data": "+15550100"})
        assert status == 404
        assert body == {"error": 1, "message": "QR code not found."}


async def test_another_users_code_is_not_found(qr_api: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice, mallory = principals.user(), principals.user()
    added = await qr_api.added(
        alice, "qr", type="link", data="https://example.com/mine", name="Mine"
    )
    before = await pg_pool.fetchrow("SELECT * FROM links.qr_codes WHERE id = $1", added["id"])
    for method, path, body in (
        ("GET", f"/api/qr/{added['id']}", None),
        ("PUT", f"/api/qr/{added['id']}/update", {"data": "https://evil.example"}),
        ("DELETE", f"/api/qr/{added['id']}/delete", None),
    ):
        status, answer = await qr_api.call(method, path, mallory, body)
        assert status == 404, (method, answer)
        assert answer == {"error": 1, "message": "QR code not found."}
    status, listing = await qr_api.call("GET", "/api/qr", mallory)
    assert listing["data"]["qrs"] == []
    after = await pg_pool.fetchrow("SELECT * FROM links.qr_codes WHERE id = $1", added["id"])
    assert after == before
    link = await backing_link(pg_pool, added["id"])
    assert link is not None
    assert link["long_url"] == "https://example.com/mine"


@pytest.mark.parametrize("path", ["/api/qr/0", "/api/qr/abc", "/api/qr/99999999999"])
async def test_unknown_ids_are_not_found(qr_api: LinksApi, path: str) -> None:
    status, body = await qr_api.call("GET", path, principals.user())
    assert status == 404
    assert body["error"] == 1


# --- the backing link of a dynamic code -------------------------------------------------------


async def test_a_dynamic_code_gets_a_hidden_backing_link_and_a_snapshot(
    qr_api: LinksApi, pg_pool: asyncpg.Pool, redis_client: aioredis.Redis, settings: Settings
) -> None:
    alice = principals.user()
    added, alias, link = await add_dynamic(qr_api, pg_pool, alice, " https://example.com/spring ")
    assert link["alias"] == alias
    assert link["qr_id"] == added["id"]
    assert link["long_url"] == "https://example.com/spring"
    snap = await snapshot(redis_client, settings, f"link:_:{alias}")
    assert snap is not None
    assert snap["url"] == "https://example.com/spring"
    assert snap["qr"] == added["id"]
    assert snap["id"] == link["id"]
    assert snap["owner"] == alice.user_id


async def test_the_backing_link_is_invisible_to_the_links_api(
    qr_api: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    limits = {**principals.UNLIMITED_LIMITS, "links": 2}
    alice = principals.user(limits)
    added, _, link = await add_dynamic(qr_api, pg_pool, alice, "https://example.com/qr")

    status, body = await qr_api.call("GET", "/api/urls", alice)
    assert status == 200
    assert body["data"]["result"] == 0
    assert body["data"]["urls"] == []
    status, body = await qr_api.call("GET", f"/api/urls?short={link['alias']}", alice)
    assert body["data"]["urls"] == []
    status, body = await qr_api.call("GET", "/api/urls?q=example.com/qr", alice)
    assert body["data"]["urls"] == []
    for method, path, payload in (
        ("GET", f"/api/url/{link['id']}", None),
        ("PUT", f"/api/url/{link['id']}/update", {"url": "https://evil.example"}),
        ("DELETE", f"/api/url/{link['id']}/delete", None),
        ("GET", f"/api/url/{link['id']}/stats", None),
    ):
        status, _ = await qr_api.call(method, path, alice, payload)
        assert status == 404, (method, path)
    after = await backing_link(pg_pool, added["id"])
    assert after == link

    # The code takes one of the plan's two links (a redirector like any other).
    await qr_api.add(alice, url="https://example.com/one")
    status, body = await qr_api.call(
        "POST", "/api/url/add", alice, {"url": "https://example.com/2"}
    )
    assert status == 403
    status, body = await qr_api.call("GET", "/api/urls", alice)
    assert body["data"]["result"] == 1


LINK_QUOTA_REFUSAL = "You have reached your plan's limit of 3 links (the 'links' limit)."


async def qr_and_link_counts(pg_pool: asyncpg.Pool, who: Principal) -> tuple[int, int]:
    row = await pg_pool.fetchrow(
        "SELECT (SELECT count(*) FROM links.qr_codes WHERE owner_id = $1) AS qrs, "
        "(SELECT count(*) FROM links.links WHERE owner_id = $1) AS links",
        who.user_id,
    )
    assert row is not None
    return row["qrs"], row["links"]


async def test_dynamic_codes_count_against_the_link_quota(
    qr_api: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice = principals.user({**principals.UNLIMITED_LIMITS, "links": 3})
    await add_dynamic(qr_api, pg_pool, alice, "https://example.com/a")
    await add_dynamic(qr_api, pg_pool, alice, "https://example.com/b")
    await qr_api.add(alice, url="https://example.com/c")
    # The plan's three links are taken: by two codes and a link.
    message = await qr_api.refused(alice, "url", {"url": "https://example.com/d"}, 403)
    assert message == LINK_QUOTA_REFUSAL
    body = {"type": "link", "data": "https://example.com/e"}
    assert await qr_api.refused(alice, "qr", body, 403) == LINK_QUOTA_REFUSAL
    assert await qr_and_link_counts(pg_pool, alice) == (2, 3)
    # A static code redirects nobody: it takes no link.
    await qr_api.added(alice, "qr", type="text", data="just text")
    assert await qr_and_link_counts(pg_pool, alice) == (3, 3)


async def test_the_link_quota_holds_under_concurrent_codes_and_links(
    start_qr_api: StartLinks, pg_pool: asyncpg.Pool
) -> None:
    replicas = [await start_qr_api(), await start_qr_api()]
    alice = principals.user({**principals.UNLIMITED_LIMITS, "links": 3})
    adds = [
        ("qr", {"type": "link", "data": f"https://example.com/q{i}"})
        if i % 2
        else ("url", {"url": f"https://example.com/l{i}"})
        for i in range(12)
    ]
    results = await asyncio.gather(
        *(
            replicas[i % 2].call("POST", f"/api/{kind}/add", alice, body)
            for i, (kind, body) in enumerate(adds)
        )
    )
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 3 + [403] * 9
    assert all(body["message"] == LINK_QUOTA_REFUSAL for status, body in results if status == 403)
    qrs, links = await qr_and_link_counts(pg_pool, alice)
    assert links == 3
    assert qrs == sum(
        1
        for (kind, _), (status, _) in zip(adds, results, strict=True)
        if kind == "qr" and status == 200
    )


async def test_the_alias_of_a_code_cannot_be_taken_by_a_link(
    qr_api: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice = principals.user()
    added = await qr_api.added(alice, "qr", type="text", data="static")
    alias = alias_of(qr_api, added["link"])
    dynamic = await qr_api.added(alice, "qr", type="link", data="https://example.com")
    taken = alias_of(qr_api, dynamic["link"])
    status, _ = await qr_api.call(
        "POST", "/api/url/add", alice, {"url": "https://example.com", "custom": taken}
    )
    assert status == 409
    # A static code has no short link: its alias is only its image's.
    assert await pg_pool.fetchval("SELECT count(*) FROM links.links WHERE alias = $1", alias) == 0


async def test_updating_data_moves_the_backing_link_and_its_snapshot(
    qr_api: LinksApi, pg_pool: asyncpg.Pool, redis_client: aioredis.Redis, settings: Settings
) -> None:
    alice = principals.user()
    added, alias, link_before = await add_dynamic(qr_api, pg_pool, alice, "https://example.com/old")

    status, _ = await qr_api.call(
        "PUT", f"/api/qr/{added['id']}/update", alice, {"data": "https://example.com/new"}
    )
    assert status == 200
    link = await backing_link(pg_pool, added["id"])
    assert link is not None
    assert link["id"] == link_before["id"]
    assert link["alias"] == alias
    assert link["long_url"] == "https://example.com/new"
    snap = await snapshot(redis_client, settings, f"link:_:{alias}")
    assert snap is not None
    assert snap["url"] == "https://example.com/new"
    assert snap["qr"] == added["id"]
    info = (await details(qr_api, alice, added["id"]))["details"]
    assert info["data"] == "https://example.com/new"


async def test_deleting_a_dynamic_code_deletes_its_link_and_snapshot(
    qr_api: LinksApi,
    pg_pool: asyncpg.Pool,
    redis_client: aioredis.Redis,
    settings: Settings,
    link_deleted_tap: EventTap,
) -> None:
    alice = principals.user()
    added, alias, link = await add_dynamic(qr_api, pg_pool, alice, "https://example.com/bye")
    status, _ = await qr_api.call("DELETE", f"/api/qr/{added['id']}/delete", alice)
    assert status == 200
    assert await stored(pg_pool, alice) == (0, 0)
    assert await snapshot(redis_client, settings, f"link:_:{alias}") is None
    events = await link_deleted_tap.events(1)
    assert [e["payload"] for e in events] == [{"link_id": link["id"], "owner_id": alice.user_id}]
