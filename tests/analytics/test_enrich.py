"""Enrichment: what a stored click says about the visitor (and what it must not)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.analytics.enrich import (
    DIRECT,
    Enricher,
    anonymise_ip,
    first_language,
    referrer_host,
)
from shared.events import MalformedEvent, decode_event, parse_click
from tests.analytics.helpers import (
    CHROME_WINDOWS,
    FIREFOX_LINUX,
    GOOGLEBOT,
    SAFARI_IPAD,
    SAFARI_IPHONE,
    click_event,
    write_city_database,
)


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher("secret-for-tests")


@pytest.mark.parametrize(
    ("ip", "stored"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        (" 198.51.100.1 ", "198.51.100.0/24"),
        ("2001:db8:abcd:1234:5678::1", "2001:db8:abcd::/48"),
        ("::ffff:192.0.2.99", "192.0.2.0/24"),
        ("not an address", None),
        ("", None),
    ],
)
def test_ip_addresses_are_kept_only_as_their_network(ip: str, stored: str | None) -> None:
    assert anonymise_ip(ip) == stored


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("en-US,en;q=0.9,fr;q=0.8", "en"),
        ("fr-CA", "fr"),
        ("DE", "de"),
        ("*", ""),
        ("", ""),
        (None, ""),
        ("x-klingon-tlh,en", ""),
    ],
)
def test_first_language_of_accept_language(header: str | None, language: str) -> None:
    assert first_language(header) == language


@pytest.mark.parametrize(
    ("referrer", "host", "social"),
    [
        (None, "", None),
        ("", "", None),
        ("https://www.facebook.com/some/post", "facebook.com", "facebook"),
        ("https://l.facebook.com/l.php?u=x", "l.facebook.com", "facebook"),
        ("https://t.co/abc", "t.co", "twitter"),
        ("https://x.com/someone/status/1", "x.com", "twitter"),
        ("https://twitter.com/", "twitter.com", "twitter"),
        ("https://www.instagram.com/", "instagram.com", "instagram"),
        ("https://lnkd.in/xyz", "lnkd.in", "linkedin"),
        ("https://www.linkedin.com/feed/", "linkedin.com", "linkedin"),
        ("https://www.google.co.uk/search?q=x", "google.co.uk", "google"),
        ("https://news.ycombinator.com/item?id=1", "news.ycombinator.com", None),
        ("https://notfacebook.com/", "notfacebook.com", None),
        ("android-app://com.linkedin.android/", "com.linkedin.android", "linkedin"),
        ("mailto:someone@example.com", "", None),
        ("javascript:alert(1)", "", None),
        ("https://=cmd|calc!A0/", "", None),
        ("http://[::1", "", None),
    ],
)
def test_referrer_host_and_social_network(
    referrer: str | None, host: str, social: str | None
) -> None:
    assert referrer_host(referrer) == (host, social)


@pytest.mark.parametrize(
    ("user_agent", "browser", "os", "device", "is_bot"),
    [
        (CHROME_WINDOWS, "Chrome", "Windows 10", "Desktop", False),
        (SAFARI_IPHONE, "Mobile Safari", "iOS", "Mobile", False),
        (SAFARI_IPAD, "Mobile Safari", "iOS", "Tablet", False),
        (FIREFOX_LINUX, "Firefox", "Linux", "Desktop", False),
        (GOOGLEBOT, "Googlebot", "Other", "Bot", True),
        ("curl/8.4.0", "curl", "Other", "Bot", True),
        ("", "Other", "Other", "Bot", True),
    ],
)
def test_user_agents(
    enricher: Enricher, user_agent: str, browser: str, os: str, device: str, is_bot: bool
) -> None:
    agent = enricher.agent(user_agent)
    assert (agent.browser, agent.os, agent.device, agent.is_bot) == (browser, os, device, is_bot)


def test_user_agents_are_parsed_once_per_string(enricher: Enricher) -> None:
    enricher.agent(FIREFOX_LINUX)
    before = enricher.agent.cache_info().hits
    enricher.agent(FIREFOX_LINUX)
    assert enricher.agent.cache_info().hits == before + 1


def test_visitor_hash_is_stable_within_a_day_and_unlinkable_across_days(
    enricher: Enricher,
) -> None:
    day = date(2026, 11, 22)
    same = enricher.visitor_hash("203.0.113.7", CHROME_WINDOWS, day)
    assert same == enricher.visitor_hash("203.0.113.7", CHROME_WINDOWS, day)
    assert same != enricher.visitor_hash("203.0.113.8", CHROME_WINDOWS, day)
    assert same != enricher.visitor_hash("203.0.113.7", FIREFOX_LINUX, day)
    assert same != enricher.visitor_hash("203.0.113.7", CHROME_WINDOWS, date(2026, 11, 23))
    # Another deployment (another secret) cannot recompute it.
    assert same != Enricher("another-secret").visitor_hash("203.0.113.7", CHROME_WINDOWS, day)
    assert b"203.0.113.7" not in same
    assert len(same) == 16


@pytest.mark.parametrize(
    ("country", "code"),
    [("CA", "CA"), ("ca", "CA"), ("Canada", "CA"), ("XX", ""), ("T1", ""), (None, ""), ("", "")],
)
def test_country_from_the_edge(enricher: Enricher, country: str | None, code: str) -> None:
    assert enricher.location(country, "203.0.113.7") == (code, "")


def test_enrich_builds_the_stored_row(enricher: Enricher) -> None:
    at = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)
    raw = click_event(
        42,
        7,
        ip="2001:db8:1:2::9",
        user_agent=SAFARI_IPHONE,
        referrer="https://t.co/x",
        country="de",
        accept_language="de-DE,de;q=0.9",
        at=at,
        source="qr",
        qr_id=5,
    )
    event = decode_event(raw)
    click = enricher.enrich(event, parse_click(event.payload))
    assert click.event_id == raw["id"]
    assert (click.link_id, click.owner_id, click.source, click.qr_id) == (42, 7, "qr", 5)
    assert click.ip_prefix == "2001:db8:1::/48"
    assert (click.country, click.language, click.referrer, click.social) == (
        "DE",
        "de",
        "t.co",
        "twitter",
    )
    assert (click.browser, click.os, click.device, click.is_bot) == (
        "Mobile Safari",
        "iOS",
        "Mobile",
        False,
    )
    assert click.day == date(2026, 11, 22)
    assert click.month == date(2026, 11, 1)
    assert DIRECT == "Direct, email and other"


@pytest.mark.parametrize("field", ["link_id", "owner_id"])
def test_ids_must_be_positive(enricher: Enricher, field: str) -> None:
    raw = click_event(1, 1)
    raw["payload"][field] = 0
    event = decode_event(raw)
    with pytest.raises(MalformedEvent):
        enricher.enrich(event, parse_click(event.payload))


def test_without_a_database_the_country_comes_from_the_registries(enricher: Enricher) -> None:
    assert enricher.location(None, "8.8.8.8") == ("US", "")
    assert enricher.location(None, "2001:4860:4860::8888") == ("US", "")
    assert enricher.location(None, "193.0.6.139") == ("NL", "")
    assert enricher.location("DE", "8.8.8.8") == ("DE", "")  # the edge's trusted header wins
    assert enricher.location(None, "10.0.0.1") == ("", "")
    assert enricher.location(None, "") == ("", "")


@pytest.fixture(scope="module")
def city_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_city_database(str(tmp_path_factory.mktemp("geoip") / "city.mmdb"))


def test_country_and_city_from_a_maxmind_database(city_db: str) -> None:
    geo = Enricher("secret-for-tests", city_db)
    try:
        assert geo.location(None, "198.51.100.9") == ("CA", "Toronto")
        assert geo.location("CA", "198.51.100.9") == ("CA", "Toronto")
        # The edge's trusted country wins; a city elsewhere is not reported.
        assert geo.location("US", "198.51.100.9") == ("US", "")
        assert geo.location(None, "2001:db8:beef::1") == ("FR", "")
        assert geo.location(None, "192.0.2.1") == ("", "")
        assert geo.location(None, "not an address") == ("", "")
        # A configured database wins over the registries' data (8.8.8.8 is theirs in the US).
        assert geo.location(None, "8.8.8.8") == ("GB", "London")
    finally:
        geo.close()
