"""Where a visit comes from: the client address (the peer, or behind trusted
proxies the address they saw), the country (trusted header, else a MaxMind
database, else the registries' data), and whether the link backs a QR code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from services.links.edge.app import create_app
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.edge.conftest import (
    BROWSER,
    COUNTRY_HEADER,
    ClickQueue,
    Client,
    MakeLink,
    WriteSnapshot,
)
from tests.edge.mmdb import write_country_db

GEO_RULES = [
    {"location": "CA", "link": "https://example.com/ca"},
    {"location": "DE", "link": "https://example.com/de"},
]


StartEdge = Callable[..., Awaitable[Client]]


@pytest.fixture
def start_geoip_edge(serve_app: ServeApp, edge_settings: Settings, tmp_path: Path) -> StartEdge:
    """``start(networks, **overrides)``: an edge that learns countries only from a
    MaxMind database of ``networks`` (CIDR to ISO code)."""

    async def start(networks: dict[str, str], **overrides: Any) -> Client:
        db = tmp_path / "country.mmdb"
        write_country_db(db, networks)
        run = edge_settings.with_overrides(
            trusted_country_header=None, geoip_db=str(db), **overrides
        )
        return await serve_app(create_app, run)

    return start


async def test_geoip_database_and_trusted_proxy(
    start_geoip_edge: StartEdge, make_link: MakeLink, clicks: ClickQueue
) -> None:
    edge = await start_geoip_edge(
        {"203.0.113.0/24": "CA", "198.51.100.0/24": "DE"}, trusted_proxy_hops=1
    )
    link = await make_link("https://example.com/default", geotarget=GEO_RULES)
    cases = [
        # The proxy in front appends the address it saw; anything before it is the visitor's say.
        ("203.0.113.7", "https://example.com/ca", "203.0.113.7", "CA"),
        ("203.0.113.7, 198.51.100.20", "https://example.com/de", "198.51.100.20", "DE"),
        ("192.0.2.1", "https://example.com/default", "192.0.2.1", None),
    ]
    for forwarded, location, _, _ in cases:
        resp = await edge.get(
            link.path,
            allow_redirects=False,
            headers={
                "User-Agent": BROWSER,
                "X-Forwarded-For": forwarded,
                COUNTRY_HEADER: "DE",  # not configured here: ignored
            },
        )
        assert resp.status == 302
        assert resp.headers["Location"] == location, forwarded
    events = await clicks.wait_for(link.id, 3)
    got = sorted((e["payload"]["ip"], e["payload"]["country"]) for e in events)
    assert got == sorted((ip, country) for _, _, ip, country in cases)


async def test_without_trusted_proxies_the_peer_is_the_visitor(
    start_geoip_edge: StartEdge, make_link: MakeLink, clicks: ClickQueue
) -> None:
    edge = await start_geoip_edge({"203.0.113.0/24": "CA"})
    link = await make_link("https://example.com/default", geotarget=GEO_RULES)
    resp = await edge.get(
        link.path,
        allow_redirects=False,
        headers={"User-Agent": BROWSER, "X-Forwarded-For": "203.0.113.7"},
    )
    assert resp.headers["Location"] == "https://example.com/default"
    (event,) = await clicks.wait_for(link.id, 1)
    assert event["payload"]["ip"] == "127.0.0.1"
    assert event["payload"]["country"] is None


async def test_without_a_database_geo_rules_use_the_registries_data(
    serve_app: ServeApp, settings: Settings, make_link: MakeLink, clicks: ClickQueue
) -> None:
    run = settings.with_overrides(trusted_country_header=None, geoip_db=None, trusted_proxy_hops=1)
    edge = await serve_app(create_app, run)
    rules = [*GEO_RULES, {"location": "US", "link": "https://example.com/us"}]
    link = await make_link("https://example.com/default", geotarget=rules)
    # 8.8.8.8 is ARIN's, assigned in the US; 193.0.6.139 is the RIPE NCC's own, in NL;
    # 192.0.2.1 is a documentation address no registry assigns.
    for forwarded, location in [
        ("8.8.8.8", "https://example.com/us"),
        ("193.0.6.139", "https://example.com/default"),
        ("192.0.2.1", "https://example.com/default"),
    ]:
        resp = await edge.get(
            link.path,
            allow_redirects=False,
            headers={"User-Agent": BROWSER, "X-Forwarded-For": forwarded},
        )
        assert resp.headers["Location"] == location, forwarded
    # The event keeps the address; the worker finds its country off the redirect's path.
    events = await clicks.wait_for(link.id, 3)
    assert sorted(e["payload"]["ip"] for e in events) == ["192.0.2.1", "193.0.6.139", "8.8.8.8"]


async def test_no_country_source_means_unknown(
    serve_app: ServeApp, settings: Settings, make_link: MakeLink, clicks: ClickQueue
) -> None:
    edge = await serve_app(create_app, settings.with_overrides(trusted_country_header=None))
    link = await make_link("https://example.com/default", geotarget=GEO_RULES)
    resp = await edge.get(
        link.path,
        allow_redirects=False,
        headers={
            "User-Agent": BROWSER,
            COUNTRY_HEADER: "CA",
            "Referer": "https://ref.example.org/",
            "Accept-Language": "nl",
        },
    )
    assert resp.headers["Location"] == "https://example.com/default"
    plain = await make_link("https://example.com/plain")  # the redirect's shortest path
    resp = await edge.get(
        plain.path,
        allow_redirects=False,
        headers={"User-Agent": BROWSER, "Referer": "https://ref.example.org/"},
    )
    assert resp.headers["Location"] == "https://example.com/plain"
    (event,) = await clicks.wait_for(link.id, 1)
    assert event["payload"]["country"] is None
    assert event["payload"]["accept_language"] == "nl"
    (event,) = await clicks.wait_for(plain.id, 1)
    assert event["payload"] == {
        "link_id": plain.id,
        "owner_id": plain.owner,
        "alias": plain.alias,
        "host": settings.public_host,
        "destination": "https://example.com/plain",
        "source": "link",
        "qr_id": None,
        "campaign_id": None,
        "ip": "127.0.0.1",
        "user_agent": BROWSER,
        "referrer": "https://ref.example.org/",
        "accept_language": None,
        "country": None,
    }


async def test_visits_of_a_qr_codes_link_are_scans(
    serve_app: ServeApp,
    edge_settings: Settings,
    write_snapshot: WriteSnapshot,
    clicks: ClickQueue,
) -> None:
    edge = await serve_app(create_app, edge_settings)
    link = await write_snapshot("https://example.com/menu", qr=77, campaign=5)
    resp = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert resp.status == 302
    (event,) = await clicks.wait_for(link.id, 1)
    assert event["payload"]["source"] == "qr"
    assert event["payload"]["qr_id"] == 77
    assert event["payload"]["campaign_id"] == 5
