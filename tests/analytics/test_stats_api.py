"""The stats API as the links service sees it: exact shapes, exact numbers, and
nothing of another owner ever."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from shared.events import EventPublisher
from shared.identity import SERVICE
from shared.settings import Settings
from tests.analytics.conftest import RecordClicks, StartWorker
from tests.analytics.helpers import (
    CHROME_WINDOWS,
    FIREFOX_LINUX,
    GOOGLEBOT,
    SAFARI_IPAD,
    SAFARI_IPHONE,
    click_event,
    new_link_id,
    publish,
    wait_for_clicks,
    write_city_database,
)
from tests.support.analytics_service import ZERO_STATS
from tests.support.principals import STARTER_LIMITS, user
from tests.support.signed_client import SignedClient


async def get_json(api: SignedClient, path: str, who: Any, status: int = 200) -> Any:
    resp = await api.get(path, who)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def test_the_stats_block_of_a_link(
    record_clicks: RecordClicks, stats_api: SignedClient
) -> None:
    owner, link = user(), new_link_id()
    u = owner.user_id
    events = [
        click_event(
            link, u, ip="198.51.100.1", country="CA", referrer="https://www.facebook.com/x"
        ),
        click_event(
            link, u, ip="198.51.100.1", country="CA", referrer="https://www.facebook.com/y"
        ),
        click_event(link, u, ip="198.51.100.2", country="Canada", referrer="https://t.co/abc"),
        click_event(
            link,
            u,
            ip="198.51.100.3",
            country="US",
            user_agent=SAFARI_IPHONE,
            referrer="https://www.google.com/",
        ),
        click_event(link, u, ip="198.51.100.4", country="DE", user_agent=FIREFOX_LINUX),
        click_event(
            link, u, ip="2001:db8::1", user_agent=SAFARI_IPAD, referrer="https://lnkd.in/q"
        ),
        click_event(link, u, ip="198.51.100.9", user_agent=GOOGLEBOT, country="US"),  # a bot
    ]
    await record_clicks(events, {link: 6})

    block = await get_json(stats_api, f"/internal/stats/links/{link}?owner={u}", owner)
    assert block == {
        "clicks": 6,
        "uniqueClicks": 5,
        "botClicks": 1,  # stored, flagged, in no other figure
        "topCountries": {"Canada": 3, "Germany": 1, "United States": 1, "Unknown": 1},
        "topReferrers": {
            "facebook.com": 2,
            "Direct, email and other": 1,
            "google.com": 1,
            "lnkd.in": 1,
            "t.co": 1,
        },
        "topBrowsers": {"Chrome": 3, "Mobile Safari": 2, "Firefox": 1},
        "topOs": {"Windows 10": 3, "iOS": 2, "Linux": 1},
        "socialCount": {"facebook": 2, "twitter": 1, "instagram": 0, "linkedin": 1, "google": 1},
    }
    # The owner may be left out when the caller is the owner.
    assert await get_json(stats_api, f"/internal/stats/links/{link}", owner) == block
    # A service may ask for any owner.
    assert await get_json(stats_api, f"/internal/stats/links/{link}?owner={u}", SERVICE) == block


async def test_a_link_without_clicks_has_an_all_zero_block(stats_api: SignedClient) -> None:
    owner = user()
    path = f"/internal/stats/links/{new_link_id()}?owner={owner.user_id}"
    assert await get_json(stats_api, path, owner) == ZERO_STATS


async def test_requests_without_a_valid_signature_are_refused(stats_api: SignedClient) -> None:
    resp = await stats_api.client.get("/internal/stats/ranking?owner=1")
    assert resp.status == 403
    assert (await resp.json())["error"] == 1
    anonymous = user(role="anonymous")
    resp = await stats_api.get("/internal/stats/ranking", anonymous)
    assert resp.status == 403


async def test_no_owner_sees_another_owners_numbers(
    record_clicks: RecordClicks, stats_api: SignedClient
) -> None:
    alice, bob = user(), user()
    alice_link, bob_link = new_link_id(), new_link_id()
    await record_clicks(
        [click_event(alice_link, alice.user_id), click_event(bob_link, bob.user_id)],
        {alice_link: 1, bob_link: 1},
    )
    a = alice.user_id

    # Another owner's id in the request: 404, as for a user that does not exist.
    for path in (
        f"/internal/stats/links/{alice_link}?owner={bob.user_id}",
        f"/internal/stats/links/{alice_link}/series?owner={bob.user_id}",
        f"/internal/stats/links/{alice_link}/export?owner={bob.user_id}",
        f"/internal/stats/ranking?owner={bob.user_id}",
        f"/internal/usage/{bob.user_id}",
    ):
        body = await get_json(stats_api, path, alice, status=404)
        assert body["error"] == 1
    resp = await stats_api.post(
        "/internal/stats/counts", alice, json={"owner": bob.user_id, "link_ids": [bob_link]}
    )
    assert resp.status == 404

    # Another owner's link under one's own id: no clicks to see.
    path = f"/internal/stats/links/{bob_link}?owner={a}"
    assert await get_json(stats_api, path, alice) == ZERO_STATS
    series = await get_json(stats_api, f"/internal/stats/links/{bob_link}/series?owner={a}", alice)
    assert series["clicks"] == 0
    assert all(p["clicks"] == 0 for p in series["series"])
    counts = await stats_api.post(
        "/internal/stats/counts", alice, json={"owner": a, "link_ids": [alice_link, bob_link]}
    )
    assert await counts.json() == {"counts": {str(alice_link): 1, str(bob_link): 0}}
    ranking = await get_json(stats_api, f"/internal/stats/ranking?owner={a}", alice)
    assert ranking == {"links": [[alice_link, 1]]}


async def test_counts_for_link_lists(record_clicks: RecordClicks, stats_api: SignedClient) -> None:
    owner = user()
    busy, quiet, unknown = new_link_id(), new_link_id(), new_link_id()
    await record_clicks(
        [click_event(busy, owner.user_id, ip=f"198.51.100.{i}") for i in range(4)]
        + [click_event(quiet, owner.user_id)],
        {busy: 4, quiet: 1},
    )

    resp = await stats_api.post(
        "/internal/stats/counts",
        owner,
        json={"owner": owner.user_id, "link_ids": [busy, quiet, unknown]},
    )
    assert resp.status == 200
    assert await resp.json() == {"counts": {str(busy): 4, str(quiet): 1, str(unknown): 0}}
    resp = await stats_api.post("/internal/stats/counts", owner, json={"link_ids": []})
    assert await resp.json() == {"counts": {}}

    ranking = await get_json(stats_api, f"/internal/stats/ranking?owner={owner.user_id}", owner)
    assert ranking == {"links": [[busy, 4], [quiet, 1]]}
    fresh = user()
    assert await get_json(stats_api, "/internal/stats/ranking", fresh) == {"links": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "Malformed JSON body."),
        (b"[1, 2]", "The JSON body must be an object."),
        (b'{"link_ids": "1,2"}', "The field 'link_ids' must be an array."),
        (b'{"link_ids": ["1"]}', "The field 'link_ids' must hold positive integers."),
        (b'{"link_ids": [0]}', "The field 'link_ids' must hold positive integers."),
        (b'{"link_ids": [true]}', "The field 'link_ids' must hold positive integers."),
        (b'{"owner": "me", "link_ids": [1]}', "The parameter 'owner' must be a positive integer."),
        (b"{}", "The field 'link_ids' is required."),
        (b"", "A JSON body is required."),
    ],
)
async def test_counts_reject_bad_bodies(stats_api: SignedClient, body: bytes, message: str) -> None:
    resp = await stats_api.post(
        "/internal/stats/counts", user(), data=body, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert await resp.json() == {"error": 1, "message": message}


async def test_counts_refuse_too_many_ids(stats_api: SignedClient) -> None:
    resp = await stats_api.post(
        "/internal/stats/counts", user(), json={"link_ids": list(range(1, 1002))}
    )
    assert resp.status == 400


async def test_a_time_series_with_breakdowns_in_range(
    record_clicks: RecordClicks, stats_api: SignedClient
) -> None:
    owner, link = user(), new_link_id()
    u = owner.user_id
    day = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
    events = [
        click_event(link, u, ip="198.51.100.1", country="FR", at=day - timedelta(days=5)),
        click_event(link, u, ip="198.51.100.1", country="CA", at=day),
        click_event(link, u, ip="198.51.100.1", country="CA", at=day + timedelta(minutes=10)),
        click_event(link, u, ip="198.51.100.2", country="CA", at=day + timedelta(hours=2)),
        click_event(
            link,
            u,
            ip="198.51.100.3",
            country="DE",
            user_agent=SAFARI_IPHONE,
            accept_language="de-DE",
            at=day + timedelta(days=1),
        ),
        click_event(link, u, user_agent=GOOGLEBOT, at=day),
    ]
    await record_clicks(events, {link: 5})

    base = f"/internal/stats/links/{link}/series?owner={u}"
    daily = await get_json(stats_api, base + "&from=2025-03-09&to=2025-03-12&interval=day", owner)
    assert daily["from"] == "2025-03-09 00:00:00"
    assert daily["to"] == "2025-03-12 00:00:00"
    assert daily["interval"] == "day"
    assert daily["series"] == [
        {"date": "2025-03-09 00:00:00", "clicks": 0, "uniqueClicks": 0},
        {"date": "2025-03-10 00:00:00", "clicks": 3, "uniqueClicks": 2},
        {"date": "2025-03-11 00:00:00", "clicks": 1, "uniqueClicks": 1},
    ]
    assert (daily["clicks"], daily["uniqueClicks"], daily["botClicks"]) == (4, 3, 1)
    assert daily["topCountries"] == {"Canada": 3, "Germany": 1}  # France is out of range
    assert daily["topBrowsers"] == {"Chrome": 3, "Mobile Safari": 1}
    assert daily["topReferrers"] == {"Direct, email and other": 4}
    assert daily["socialCount"]["facebook"] == 0

    hourly = await get_json(
        stats_api,
        base + "&from=2025-03-10 09:00:00&to=2025-03-10 12:00:00&interval=hour",
        owner,
    )
    assert [(p["date"], p["clicks"]) for p in hourly["series"]] == [
        ("2025-03-10 09:00:00", 2),
        ("2025-03-10 10:00:00", 0),
        ("2025-03-10 11:00:00", 1),
    ]
    monthly = await get_json(
        stats_api, base + "&from=2025-02-01&to=2025-04-01&interval=month", owner
    )
    assert [(p["date"], p["clicks"]) for p in monthly["series"]] == [
        ("2025-02-01 00:00:00", 0),
        ("2025-03-01 00:00:00", 5),
    ]
    assert monthly["topCountries"] == {"Canada": 3, "France": 1, "Germany": 1}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("interval=week", "The parameter 'interval' must be one of: hour, day, month."),
        ("from=yesterday", "The parameter 'from' must be a date as YYYY-MM-DD HH:MM:SS."),
        ("to=2025-13-01", "The parameter 'to' must be a date as YYYY-MM-DD HH:MM:SS."),
        ("from=2025-03-10&to=2025-03-01", "The parameter 'from' must be before 'to'."),
        (
            "from=2020-01-01&to=2025-01-01&interval=hour",
            "That range holds more than 1000 hours; choose a larger interval.",
        ),
        ("owner=abc", "The parameter 'owner' must be a positive integer."),
    ],
)
async def test_series_reject_bad_parameters(
    stats_api: SignedClient, query: str, message: str
) -> None:
    owner = user()
    resp = await stats_api.get(f"/internal/stats/links/{new_link_id()}/series?{query}", owner)
    assert resp.status == 400
    assert await resp.json() == {"error": 1, "message": message}


@pytest.mark.parametrize("link", ["abc", "0", "-1", "99999999999999999999"])
async def test_bad_link_ids_are_not_found(stats_api: SignedClient, link: str) -> None:
    resp = await stats_api.get(f"/internal/stats/links/{link}", user())
    assert resp.status == 404


async def test_export_is_a_csv_of_the_range(
    record_clicks: RecordClicks, stats_api: SignedClient
) -> None:
    owner, link = user(), new_link_id()
    at = datetime(2025, 4, 2, 15, tzinfo=UTC)
    await record_clicks(
        [
            click_event(
                link,
                owner.user_id,
                ip="198.51.100.7",
                country="JP",
                at=at,
                referrer="https://=evil.example/",
            ),
            click_event(
                link,
                owner.user_id,
                ip="198.51.100.8",
                country="JP",
                at=at,
                referrer="https://news.example.org/a",
            ),
        ],
        {link: 2},
    )
    path = (
        f"/internal/stats/links/{link}/export?owner={owner.user_id}&from=2025-04-01&to=2025-04-03"
    )
    resp = await stats_api.get(path, owner)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    text = await resp.text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "name", "clicks", "uniqueClicks"]
    assert rows[1] == ["total", "2025-04-01 00:00:00 - 2025-04-03 00:00:00", "2", "2"]
    assert rows[2] == ["bots", "2025-04-01 00:00:00 - 2025-04-03 00:00:00", "0", ""]
    assert ["day", "2025-04-01 00:00:00", "0", "0"] in rows
    assert ["day", "2025-04-02 00:00:00", "2", "2"] in rows
    assert ["topCountries", "Japan", "2", ""] in rows
    assert ["topReferrers", "news.example.org", "1", ""] in rows
    assert ["topReferrers", "Direct, email and other", "1", ""] in rows
    assert "198.51.100" not in text

    starter = user(STARTER_LIMITS)  # the free plan has no export
    resp = await stats_api.get(
        f"/internal/stats/links/{link}/export?owner={starter.user_id}", starter
    )
    assert resp.status == 403
    resp = await stats_api.get(path, SERVICE)
    assert resp.status == 200


async def test_usage_this_month(record_clicks: RecordClicks, stats_api: SignedClient) -> None:
    owner, link = user(), new_link_id()
    now = datetime.now(UTC)
    last_month = now.replace(day=1) - timedelta(days=2)
    await record_clicks(
        [click_event(link, owner.user_id, ip=f"198.51.100.{i}") for i in range(3)]
        + [click_event(link, owner.user_id, at=last_month)]
        + [click_event(link, owner.user_id, user_agent=GOOGLEBOT)],
        {link: 4},
    )
    usage = await get_json(stats_api, f"/internal/usage/{owner.user_id}", owner)
    assert usage == {"clicks_this_month": 3, "clicks_over_quota_this_month": 0}
    assert await get_json(stats_api, f"/internal/usage/{owner.user_id}", SERVICE) == usage
    assert await get_json(stats_api, f"/internal/usage/{user().user_id}", SERVICE) == {
        "clicks_this_month": 0,
        "clicks_over_quota_this_month": 0,
    }
    await get_json(stats_api, "/internal/usage/abc", owner, status=404)


async def test_cities_from_a_maxmind_database(
    start_worker: StartWorker,
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
    stats_api: SignedClient,
    analytics_settings: Settings,
    tmp_path: Any,
) -> None:
    await start_worker(geoip_db=write_city_database(str(tmp_path / "city.mmdb")))
    owner, link = user(), new_link_id()
    at = datetime(2025, 5, 5, 5, tzinfo=UTC)
    await publish(
        publisher,
        [
            click_event(link, owner.user_id, ip="198.51.100.20", at=at),
            click_event(link, owner.user_id, ip="198.51.100.21", at=at, user_agent=CHROME_WINDOWS),
            click_event(link, owner.user_id, ip="2001:db8:beef::5", at=at),
            click_event(link, owner.user_id, ip="192.0.2.1", at=at, country="JP"),
        ],
    )
    await wait_for_clicks(pg_pool, link, 4)
    series = await get_json(
        stats_api,
        f"/internal/stats/links/{link}/series?owner={owner.user_id}&from=2025-05-05&to=2025-05-06",
        owner,
    )
    assert series["topCountries"] == {"Canada": 2, "France": 1, "Japan": 1}
    cities = await pg_pool.fetch(
        "SELECT city, count(*) AS n FROM analytics.clicks WHERE link_id = $1 GROUP BY city",
        link,
    )
    assert {r["city"]: r["n"] for r in cities} == {"Toronto": 2, "": 2}


async def test_unicode_digits_are_a_400_not_a_500(stats_api: SignedClient) -> None:
    """ "²" passes str.isdigit() but not int()."""
    await get_json(stats_api, "/internal/stats/ranking?owner=²", SERVICE, status=400)
    await get_json(stats_api, "/internal/clicks/export?owner=1&link=²", SERVICE, status=400)
