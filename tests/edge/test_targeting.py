"""Destination choice: deep link → geo → device → language → url, first match
wins; then the link's parameters merged into the chosen destination."""

from __future__ import annotations

from typing import Any

from tests.edge.conftest import (
    ANDROID,
    BROWSER,
    COUNTRY_HEADER,
    IPHONE,
    LINUX,
    MAC,
    ClickQueue,
    Client,
    MakeLink,
)

ALL_RULES: dict[str, Any] = {
    "deeplink": {"auto": True, "apple": "myapp://open/ios", "google": "https://play.example/app"},
    "geotarget": [{"location": "CA", "link": "https://example.com/canada"}],
    "devicetarget": [
        {"device": "iPhone", "link": "https://example.com/iphone"},
        {"device": "Macintosh", "link": "https://example.com/mac"},
    ],
    "languagetarget": [
        {"language": "fr", "link": "https://example.com/fr"},
        {"language": "de", "link": "https://example.com/de"},
    ],
}


async def destination(edge: Client, path: str, ua: str, **headers: str) -> str:
    resp = await edge.get(path, allow_redirects=False, headers={"User-Agent": ua, **headers})
    assert resp.status == 302
    return resp.headers["Location"]


async def test_deep_link_wins_for_phones(edge: Client, make_link: MakeLink) -> None:
    link = await make_link("https://example.com/default", **ALL_RULES)
    canada = {COUNTRY_HEADER: "CA", "Accept-Language": "fr"}
    assert await destination(edge, link.path, IPHONE, **canada) == "myapp://open/ios"
    assert await destination(edge, link.path, ANDROID, **canada) == "https://play.example/app"
    # Not a phone: the next rule (geo) decides.
    assert await destination(edge, link.path, MAC, **canada) == "https://example.com/canada"


async def test_deep_link_needs_auto(edge: Client, make_link: MakeLink) -> None:
    link = await make_link(
        "https://example.com/default",
        deeplink={"auto": False, "apple": "myapp://open", "google": "https://play.example/app"},
    )
    assert await destination(edge, link.path, IPHONE) == "https://example.com/default"


async def test_geo_before_device(edge: Client, make_link: MakeLink) -> None:
    rules = {k: v for k, v in ALL_RULES.items() if k != "deeplink"}
    link = await make_link("https://example.com/default", **rules)
    assert await destination(edge, link.path, IPHONE, **{COUNTRY_HEADER: "ca"}) == (
        "https://example.com/canada"
    )
    assert await destination(edge, link.path, IPHONE, **{COUNTRY_HEADER: "US"}) == (
        "https://example.com/iphone"
    )
    # No country known: geo rules cannot match.
    assert await destination(edge, link.path, IPHONE) == "https://example.com/iphone"


async def test_device_before_language(edge: Client, make_link: MakeLink) -> None:
    rules = {k: v for k, v in ALL_RULES.items() if k in ("devicetarget", "languagetarget")}
    link = await make_link("https://example.com/default", **rules)
    assert await destination(edge, link.path, MAC, **{"Accept-Language": "fr"}) == (
        "https://example.com/mac"
    )
    assert await destination(edge, link.path, LINUX, **{"Accept-Language": "fr-CA,fr"}) == (
        "https://example.com/fr"
    )


async def test_language_follows_the_visitors_preference(edge: Client, make_link: MakeLink) -> None:
    link = await make_link(
        "https://example.com/default", languagetarget=ALL_RULES["languagetarget"]
    )
    cases = {
        "de-DE,fr;q=0.8": "https://example.com/de",
        "fr;q=0.5,de;q=0.9": "https://example.com/de",
        "es,fr;q=0.3": "https://example.com/fr",
        "en-US,en;q=0.9": "https://example.com/default",
        "de;q=0,fr;q=0.1": "https://example.com/fr",
    }
    for header, expected in cases.items():
        assert await destination(edge, link.path, BROWSER, **{"Accept-Language": header}) == (
            expected
        ), header
    assert await destination(edge, link.path, BROWSER) == "https://example.com/default"


async def test_each_device_name(edge: Client, make_link: MakeLink) -> None:
    link = await make_link(
        "https://example.com/default",
        devicetarget=[
            {"device": "Android", "link": "https://example.com/android"},
            {"device": "Windows", "link": "https://example.com/windows"},
            {"device": "Linux", "link": "https://example.com/linux"},
            {"device": "iPad", "link": "https://example.com/ipad"},
        ],
    )
    ipad = (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
    )
    assert await destination(edge, link.path, ANDROID) == "https://example.com/android"
    assert await destination(edge, link.path, BROWSER) == "https://example.com/windows"
    assert await destination(edge, link.path, LINUX) == "https://example.com/linux"
    assert await destination(edge, link.path, ipad) == "https://example.com/ipad"
    assert await destination(edge, link.path, IPHONE) == "https://example.com/default"


async def test_parameters_merge_into_the_query(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link(
        "https://example.com/p?a=1&utm_source=old&b=x%20y#section-2",
        parameters=[
            {"name": "utm_source", "value": "newsletter"},
            {"name": "ref", "value": "a b&c"},
        ],
    )
    expected = "https://example.com/p?a=1&b=x%20y&utm_source=newsletter&ref=a+b%26c#section-2"
    assert await destination(edge, link.path, BROWSER) == expected
    (event,) = await clicks.wait_for(link.id, 1)
    assert event["payload"]["destination"] == expected


async def test_parameters_apply_to_targeted_destinations(edge: Client, make_link: MakeLink) -> None:
    link = await make_link(
        "https://example.com/default",
        geotarget=[{"location": "DE", "link": "https://example.de/start"}],
        parameters=[{"name": "utm_medium", "value": "social"}],
    )
    assert await destination(edge, link.path, BROWSER, **{COUNTRY_HEADER: "DE"}) == (
        "https://example.de/start?utm_medium=social"
    )
    assert await destination(edge, link.path, BROWSER) == (
        "https://example.com/default?utm_medium=social"
    )
