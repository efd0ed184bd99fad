"""The links endpoints of API.md section 3: shapes, options, updates, deletes."""

from __future__ import annotations

import asyncpg
import pytest

from tests.links.conftest import LinksApi
from tests.support import principals

GTM = {"type": "gtmpixel", "name": "Tag manager", "tag": "GTM-ABCDE"}
BING = {"type": "bing", "name": "Bing", "tag": "12345678"}
SPLASH = {
    "name": "Promo",
    "title": "Spring sale",
    "message": "Thirty percent off.",
    "image": "https://cdn.example.com/promo.png",
    "button_text": "Shop now",
    "button_url": "https://shop.example.com/sale",
    "delay": 5,
}


async def stored(pg_pool: asyncpg.Pool, link_id: int) -> asyncpg.Record | None:
    return await pg_pool.fetchrow("SELECT * FROM links.links WHERE id = $1", link_id)


async def test_add_minimal_link_answers_id_and_short_url(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice = principals.user()
    status, body = await links.call(
        "POST", "/api/url/add", alice, {"url": "https://example.com/page?x=1"}
    )
    assert status == 200
    assert set(body) == {"error", "id", "shorturl"}
    assert body["error"] == 0
    row = await stored(pg_pool, body["id"])
    assert row is not None
    assert row["owner_id"] == alice.user_id
    assert row["long_url"] == "https://example.com/page?x=1"
    assert body["shorturl"] == f"{links.settings.public_base_url}/{row['alias']}"
    assert row["status"] == "public"
    assert row["type"] == "direct"


async def test_generated_alias_is_short_random_and_not_sequential(links: LinksApi) -> None:
    alice = principals.user()
    aliases = [
        (await links.add(alice, url=f"https://example.com/{i}"))["shorturl"].rsplit("/", 1)[1]
        for i in range(5)
    ]
    assert all(len(a) == 7 and a.isalnum() for a in aliases)
    assert len(set(aliases)) == 5


async def test_add_with_every_parameter_is_stored_and_shown(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice = principals.user()
    pixel_ids = [await links.create(alice, "pixel", **pixel) for pixel in (GTM, BING)]
    splash_id = await links.create(alice, "splash", **SPLASH)
    channel_id = await links.create(alice, "channel", name="Newsletter")
    campaign_id = await links.create(alice, "campaign", name="Launch")
    body = {
        "url": "https://example.com/landing",
        "custom": "every-option",
        "status": "private",
        "type": f"splash-{splash_id}",
        "password": "s3cret pass",
        "expiry": "2031-05-01 10:00:00",
        "clicklimit": 100,
        "expirationredirect": "https://example.com/expired",
        "title": "My title",
        "description": "My note",
        "metatitle": "Meta title",
        "metadescription": "Meta description",
        "metaimage": "https://cdn.example.com/preview.PNG",
        "pixels": [*pixel_ids, pixel_ids[0]],
        "channel": channel_id,
        "campaign": campaign_id,
        "deeplink": {
            "auto": True,
            "apple": "https://apps.apple.com/app/id1",
            "google": "market://details?id=x",
        },
        "geotarget": [
            {"location": "Canada", "link": "https://example.ca"},
            {"location": "de", "link": "https://example.de"},
        ],
        "devicetarget": [{"device": "iphone", "link": "https://example.com/ios"}],
        "languagetarget": [{"language": "FR", "link": "https://example.fr"}],
        "parameters": [{"name": "utm_source", "value": "api"}],
    }
    added = await links.add(alice, **body)
    assert added["shorturl"] == f"{links.settings.public_base_url}/every-option"
    row = await stored(pg_pool, added["id"])
    assert row is not None
    assert row["status"] == "private"
    assert row["type"] == f"splash-{splash_id}"
    assert row["password_hash"].startswith("scrypt$")
    assert "s3cret" not in row["password_hash"]
    assert row["click_limit"] == 100
    assert row["pixel_ids"] == pixel_ids
    assert row["channel_id"] == channel_id
    assert row["campaign_id"] == campaign_id
    assert row["geotarget"] == [
        {"location": "CA", "link": "https://example.ca"},
        {"location": "DE", "link": "https://example.de"},
    ]
    assert row["devicetarget"] == [{"device": "iPhone", "link": "https://example.com/ios"}]
    assert row["languagetarget"] == [{"language": "fr", "link": "https://example.fr"}]
    assert row["deeplink"] == {
        "auto": True,
        "apple": "https://apps.apple.com/app/id1",
        "google": "market://details?id=x",
    }

    details = await links.details(alice, added["id"])
    assert details["id"] == added["id"]
    assert details["shorturl"] == added["shorturl"]
    assert details["longurl"] == "https://example.com/landing"
    assert details["title"] == "My title"
    assert details["description"] == "My note"
    assert details["location"] == {"Canada": "https://example.ca", "Germany": "https://example.de"}
    assert details["device"] == {"iPhone": "https://example.com/ios"}
    assert details["language"] == {"fr": "https://example.fr"}
    assert details["expiry"] == "2031-05-01 10:00:00"
    assert details["password"] is True
    assert details["parameters"] == [{"name": "utm_source", "value": "api"}]
    assert details["metaimage"] == "https://cdn.example.com/preview.PNG"


async def test_details_shape_with_analytics_unreachable(links: LinksApi) -> None:
    alice = principals.user()
    added = await links.add(alice, url="https://example.com", title="t")
    body = await links.fetch(alice, f"/api/url/{added['id']}")
    assert body["error"] == 0
    assert body["id"] == added["id"]
    assert body["data"] is None
    for key in ("id", "shorturl", "longurl", "title", "description", "location", "device"):
        assert key in body["details"]
    for key in ("language", "expiry", "date"):
        assert key in body["details"]
    assert body["details"]["location"] == {}
    assert body["details"]["expiry"] is None


async def test_list_shape_paging_and_clicks_zero_without_analytics(links: LinksApi) -> None:
    alice = principals.user()
    ids = [(await links.add(alice, url=f"https://example.com/{i}"))["id"] for i in range(5)]
    body = await links.fetch(alice, "/api/urls?limit=2&page=1")
    data = body["data"]
    assert (data["result"], data["perpage"], data["currentpage"]) == (5, 2, 1)
    assert (data["nextpage"], data["maxpage"]) == (2, 3)
    assert [u["id"] for u in data["urls"]] == ids[::-1][:2]  # newest first
    item = data["urls"][0]
    assert set(item) == {
        "id",
        "alias",
        "shorturl",
        "longurl",
        "clicks",
        "title",
        "description",
        "tags",
        "date",
    }
    assert item["clicks"] is None  # analytics is on a closed port: it cannot say
    body = await links.fetch(alice, "/api/urls?limit=2&page=3")
    assert [u["id"] for u in body["data"]["urls"]] == [ids[0]]
    assert body["data"]["nextpage"] == 3  # the last page names itself, as the seeds show


async def test_list_shows_only_the_callers_links(links: LinksApi) -> None:
    alice, bob = principals.user(), principals.user()
    await links.add(alice, url="https://example.com/a")
    body = await links.fetch(bob, "/api/urls")
    assert body["data"]["result"] == 0
    assert body["data"]["urls"] == []


async def test_list_search_q_matches_url_alias_title_description(links: LinksApi) -> None:
    alice = principals.user()
    a = await links.add(alice, url="https://needle.example.com/")
    b = await links.add(alice, url="https://example.com/b", custom="has-needle")
    c = await links.add(alice, url="https://example.com/c", title="A NEEDLE in a title")
    d = await links.add(alice, url="https://example.com/d", description="needle note")
    await links.add(alice, url="https://example.com/e", title="nothing")
    await links.add(alice, url="https://example.com/f", title="100% sure_thing")
    body = await links.fetch(alice, "/api/urls?q=needle")
    assert {u["id"] for u in body["data"]["urls"]} == {a["id"], b["id"], c["id"], d["id"]}
    # LIKE wildcards in q are literal characters.
    _, body = await links.call("GET", "/api/urls?q=%25", alice)
    assert [u["title"] for u in body["data"]["urls"]] == ["100% sure_thing"]
    _, body = await links.call("GET", "/api/urls?q=s_re", alice)  # would match "sure" as a wildcard
    assert body["data"]["result"] == 0


async def test_list_short_filter_by_alias_or_short_url(links: LinksApi) -> None:
    alice, bob = principals.user(), principals.user()
    mine = await links.add(alice, url="https://example.com/1", custom="short-filter-a")
    await links.add(alice, url="https://example.com/2")
    for short in ("short-filter-a", mine["shorturl"]):
        status, body = await links.call(
            "GET", "/api/urls", alice, params={"short": short, "q": "zz"}
        )
        assert status == 200
        assert [u["id"] for u in body["data"]["urls"]] == [mine["id"]]
    _, body = await links.call("GET", "/api/urls", bob, params={"short": "short-filter-a"})
    assert body["data"]["urls"] == []
    elsewhere = "https://other.example/short-filter-a"
    _, body = await links.call("GET", "/api/urls", alice, params={"short": elsewhere})
    assert body["data"]["urls"] == []


async def test_order_clicks_without_analytics_is_a_503_naming_it(links: LinksApi) -> None:
    alice = principals.user()
    ids = [(await links.add(alice, url=f"https://example.com/{i}"))["id"] for i in range(3)]
    status, body = await links.call("GET", "/api/urls?order=clicks", alice)
    assert status == 503  # never a silently different order
    assert body["error"] == 1
    assert "analytics" in body["message"]
    body = await links.fetch(alice, "/api/urls")  # the newest-first list still answers
    assert [u["id"] for u in body["data"]["urls"]] == ids[::-1]
    status, body = await links.call("GET", "/api/urls?order=popular", alice)
    assert status == 400
    assert body["error"] == 1


async def test_update_changes_only_what_is_sent(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    added = await links.add(
        alice, url="https://example.com/a", title="Keep me", description="d", clicklimit=5
    )
    status, body = await links.call(
        "PUT", f"/api/url/{added['id']}/update", alice, {"url": "https://example.com/b"}
    )
    assert status == 200
    assert body == {"error": 0, "id": added["id"], "shorturl": added["shorturl"]}
    row = await stored(pg_pool, added["id"])
    assert row is not None
    assert row["long_url"] == "https://example.com/b"
    assert (row["title"], row["description"], row["click_limit"]) == ("Keep me", "d", 5)


async def test_update_null_or_empty_list_clears(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    pixel_ids = [await links.create(alice, "pixel", **pixel) for pixel in (GTM, BING)]
    campaign_id = await links.create(alice, "campaign", name="To clear")
    added = await links.add(
        alice,
        url="https://example.com/a",
        password="pw",
        expiry="2030-01-01",
        clicklimit=3,
        geotarget=[{"location": "US", "link": "https://example.com/us"}],
        devicetarget=[{"device": "Android", "link": "https://example.com/android"}],
        languagetarget=[{"language": "en", "link": "https://example.com/en"}],
        parameters=[{"name": "a", "value": "b"}],
        pixels=pixel_ids,
        deeplink={"auto": True, "apple": "https://apps.apple.com/x"},
        metatitle="m",
        type="frame",
        status="private",
        campaign=campaign_id,
        title="t",
    )
    status, _ = await links.call(
        "PUT",
        f"/api/url/{added['id']}/update",
        alice,
        {
            "password": None,
            "expiry": None,
            "clicklimit": None,
            "geotarget": [],
            "devicetarget": None,
            "languagetarget": [],
            "parameters": [],
            "pixels": [],
            "deeplink": None,
            "metatitle": None,
            "type": None,
            "status": None,
            "campaign": None,
            "title": None,
        },
    )
    assert status == 200
    row = await stored(pg_pool, added["id"])
    assert row is not None
    for column in (
        "password_hash",
        "expires_at",
        "click_limit",
        "geotarget",
        "devicetarget",
        "languagetarget",
        "parameters",
        "deeplink",
        "meta_title",
        "campaign_id",
        "title",
    ):
        assert row[column] is None, column
    assert row["pixel_ids"] == []
    assert (row["type"], row["status"]) == ("direct", "public")


async def test_update_alias_and_conflicts(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    one = await links.add(alice, url="https://example.com/1", custom="upd-one")
    await links.add(alice, url="https://example.com/2", custom="upd-two")
    status, body = await links.call(
        "PUT", f"/api/url/{one['id']}/update", alice, {"custom": "upd-three"}
    )
    assert status == 200
    assert body["shorturl"].endswith("/upd-three")
    status, body = await links.call(
        "PUT", f"/api/url/{one['id']}/update", alice, {"custom": "upd-two"}
    )
    assert status == 409
    assert body == {"error": 1, "message": "That alias is taken. Please choose another one."}
    row = await stored(pg_pool, one["id"])
    assert row is not None
    assert row["alias"] == "upd-three"
    status, _ = await links.call("PUT", f"/api/url/{one['id']}/update", alice, {"custom": None})
    assert status == 400


async def test_delete_removes_the_link(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    added = await links.add(alice, url="https://example.com/gone")
    status, body = await links.call("DELETE", f"/api/url/{added['id']}/delete", alice)
    assert status == 200
    assert body == {"error": 0, "message": "Link has been deleted successfully."}
    assert await stored(pg_pool, added["id"]) is None
    status, body = await links.call("DELETE", f"/api/url/{added['id']}/delete", alice)
    assert status == 404
    assert body["error"] == 1
    status, _ = await links.call("GET", f"/api/url/{added['id']}", alice)
    assert status == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/url/{id}"),
        ("PUT", "/api/url/{id}/update"),
        ("DELETE", "/api/url/{id}/delete"),
        ("GET", "/api/url/{id}/stats"),
    ],
)
async def test_another_users_link_is_404_and_unchanged(
    links: LinksApi, pg_pool: asyncpg.Pool, method: str, path: str
) -> None:
    alice, mallory = principals.user(), principals.user()
    added = await links.add(alice, url="https://example.com/private")
    before = await stored(pg_pool, added["id"])
    url = path.format(id=added["id"])
    status, body = await links.call(
        method, url, mallory, {"url": "https://evil.example"} if method == "PUT" else None
    )
    assert status == 404
    assert body == {"error": 1, "message": "Link not found."}
    # Exactly the answer for an id that does not exist at all.
    assert await links.call(method, path.format(id=10**15), mallory, None) == (404, body)
    assert await stored(pg_pool, added["id"]) == before


async def test_non_numeric_or_zero_id_is_404(links: LinksApi) -> None:
    alice = principals.user()
    for bad in ("abc", "0", "-1", "1e3", "9" * 30):
        status, body = await links.call("GET", f"/api/url/{bad}", alice)
        assert status == 404, bad
        assert body["error"] == 1


async def test_unsigned_request_is_refused(links: LinksApi) -> None:
    resp = await links.client.get("/api/urls")
    assert resp.status == 403
    assert (await resp.json())["error"] == 1


async def test_service_principal_cannot_use_the_user_api(links: LinksApi) -> None:
    from shared.identity import SERVICE

    status, body = await links.call("GET", "/api/urls", SERVICE)
    assert status == 403
    assert body["error"] == 1
