"""Bad and hostile input to the links API: a clear JSON 400/403/409, nothing stored."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from shared.dates import utcnow
from shared.identity import Principal
from tests.links.conftest import LinksApi, StartLinks
from tests.support import principals


async def link_count(pg_pool: asyncpg.Pool, who: Principal) -> int:
    count: int = await pg_pool.fetchval(
        "SELECT count(*) FROM links.links WHERE owner_id = $1", who.user_id
    )
    return count


async def refused(
    links: LinksApi,
    pg_pool: asyncpg.Pool,
    body: Any,
    status: int = 400,
    who: Principal | None = None,
) -> str:
    who = who or principals.user()
    got, data = await links.call("POST", "/api/url/add", who, body)
    assert got == status, data
    assert data["error"] == 1
    assert isinstance(data["message"], str)
    assert data["message"]
    assert await link_count(pg_pool, who) == 0
    message: str = data["message"]
    return message


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "\tjavascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "javascript\x00:alert(1)",
        "javascript%3Aalert(1)",
        "%6Aavascript:alert(1)",
        "&#106;avascript:alert(1)",
        "ｊavascript:alert(1)",
        "vbscript:msgbox(1)",
        "VBScript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "DATA:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "File://C:/Windows",
        "blob:https://example.com/uuid",
        "http://",
        "https:///path-only",
        "http://exa mple.com/",
        "http://bad_host!.com/",
        "example.com/no-scheme",
        "//example.com/protocol-relative",
        "",
        "   ",
        "mailto:",
        "https://example.com/" + "a" * 8000,
    ],
)
async def test_dangerous_or_invalid_urls_are_refused(
    links: LinksApi, pg_pool: asyncpg.Pool, url: str
) -> None:
    await refused(links, pg_pool, {"url": url})


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/",
        "http://例え.jp/パス",
        "mailto:someone@example.com",
        "tel:+15551234567",
        "sms:+15551234567?body=hi",
        "fb://profile/33138223345",
        "myapp://open/item/1",
        "https://example.com/" + "a" * 7900,
        "HTTPS://EXAMPLE.COM/UPPER",
        "http://127.0.0.1:8080/local",
    ],
)
async def test_web_and_deep_link_urls_are_accepted(links: LinksApi, url: str) -> None:
    added = await links.add(principals.user(), url=url)
    assert added["id"] > 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("expirationredirect", "javascript:alert(1)"),
        ("geotarget", [{"location": "Canada", "link": "javascript:alert(1)"}]),
        ("devicetarget", [{"device": "iPhone", "link": "data:text/html,x"}]),
        ("languagetarget", [{"language": "en", "link": " JAVASCRIPT:x"}]),
        ("deeplink", {"auto": True, "apple": "vbscript:x"}),
        ("metaimage", "javascript:alert(1)//x.png"),
    ],
)
async def test_dangerous_urls_in_options_are_refused(
    links: LinksApi, pg_pool: asyncpg.Pool, field: str, value: Any
) -> None:
    await refused(links, pg_pool, {"url": "https://example.com", field: value})


@pytest.mark.parametrize(
    "alias",
    [
        "ab",
        "a" * 65,
        "x" * 10_240,
        "ünïcödé",
        "emoji😀x",
        "аdmin",  # Cyrillic а
        "with space",
        "slash/alias",
        "dot.alias",
        "percent%41",
        "<script>",
        "../../etc",
        12,
        ["list"],
        {"o": 1},
        True,
    ],
)
async def test_bad_custom_aliases_are_400(
    links: LinksApi, pg_pool: asyncpg.Pool, alias: Any
) -> None:
    await refused(links, pg_pool, {"url": "https://example.com", "custom": alias})


RESERVED_SAMPLES = ("api", "API", "qr", "health", "Metrics", "admin", "login", "static", "user")


@pytest.mark.parametrize("alias", RESERVED_SAMPLES)
async def test_reserved_aliases_are_400(links: LinksApi, pg_pool: asyncpg.Pool, alias: str) -> None:
    message = await refused(links, pg_pool, {"url": "https://example.com", "custom": alias})
    assert "reserved" in message


async def test_taken_alias_is_409_but_free_on_another_domain(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice, bob = principals.user(), principals.user()
    # an alias of this test's own: the run's database is shared (tests/cli imports 'taken-one')
    alias = f"taken-{secrets.token_hex(3)}"
    await links.add(alice, url="https://example.com", custom=alias)
    message = await refused(
        links, pg_pool, {"url": "https://example.com", "custom": alias}, 409, bob
    )
    assert message == "That alias is taken. Please choose another one."
    # Aliases are case-sensitive.
    assert (await links.add(bob, url="https://example.com", custom=alias.upper()))["id"]
    status, _ = await links.call(
        "POST", "/api/domain/add", bob, {"domain": f"https://taken-{bob.user_id}.example"}
    )
    assert status == 200
    added = await links.add(
        bob, url="https://example.com", custom=alias, domain=f"taken-{bob.user_id}.example"
    )
    assert added["shorturl"] == f"https://taken-{bob.user_id}.example/{alias}"


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1,2]", b'"url"', b"null", b"\xff\xfe", b'{"url": "https://x.com"'],
)
async def test_malformed_json_is_400(links: LinksApi, pg_pool: asyncpg.Pool, raw: bytes) -> None:
    await refused(links, pg_pool, raw)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": None},
        {"url": 12},
        {"url": ["https://example.com"]},
        {"url": "https://example.com", "status": "secret"},
        {"url": "https://example.com", "type": "redirect"},
        {"url": "https://example.com", "type": "splash-abc"},
        {"url": "https://example.com", "type": "overlay-0"},
        {"url": "https://example.com", "type": "splash-"},
        {"url": "https://example.com", "type": 3},
        {"url": "https://example.com", "expiry": "tomorrow"},
        {"url": "https://example.com", "expiry": "2030-13-45"},
        {"url": "https://example.com", "clicklimit": -1},
        {"url": "https://example.com", "clicklimit": "many"},
        {"url": "https://example.com", "clicklimit": 2**40},
        {"url": "https://example.com", "password": {"p": 1}},
        {"url": "https://example.com", "password": "x" * 200},
        {"url": "https://example.com", "title": "x" * 300},
        {"url": "https://example.com", "title": ["t"]},
        {"url": "https://example.com", "metaimage": "https://example.com/image.gif"},
        {"url": "https://example.com", "metaimage": "ftp://example.com/image.png"},
        {"url": "https://example.com", "pixels": "1,2"},
        {"url": "https://example.com", "pixels": [1, "x"]},
        {"url": "https://example.com", "pixels": [0]},
        {"url": "https://example.com", "pixels": [True]},
        {"url": "https://example.com", "channel": "general"},
        {"url": "https://example.com", "campaign": -3},
        {"url": "https://example.com", "deeplink": "https://apps.apple.com"},
        {"url": "https://example.com", "deeplink": {"auto": "yes", "apple": "https://a.b"}},
        {"url": "https://example.com", "deeplink": {"auto": True}},
        {"url": "https://example.com", "geotarget": {"location": "CA", "link": "https://a.ca"}},
        {
            "url": "https://example.com",
            "geotarget": [{"location": "Atlantis", "link": "https://a.b"}],
        },
        {"url": "https://example.com", "geotarget": [{"location": "ZZ", "link": "https://a.b"}]},
        {"url": "https://example.com", "geotarget": [{"location": "CA"}]},
        {"url": "https://example.com", "geotarget": ["CA"]},
        {
            "url": "https://example.com",
            "geotarget": [
                {"location": "CA", "link": "https://a.ca"},
                {"location": "canada", "link": "https://b.ca"},
            ],
        },
        {
            "url": "https://example.com",
            "devicetarget": [{"device": "Toaster", "link": "https://a.b"}],
        },
        {"url": "https://example.com", "devicetarget": [{"device": 1, "link": "https://a.b"}]},
        {
            "url": "https://example.com",
            "languagetarget": [{"language": "english", "link": "https://a.b"}],
        },
        {
            "url": "https://example.com",
            "languagetarget": [{"language": "e1", "link": "https://a.b"}],
        },
        {"url": "https://example.com", "parameters": [{"name": "", "value": "x"}]},
        {"url": "https://example.com", "parameters": [{"name": "a&b", "value": "x"}]},
        {"url": "https://example.com", "parameters": [{"name": "a", "value": {"x": 1}}]},
        {"url": "https://example.com", "parameters": "utm_source=x"},
        {"url": "https://example.com", "domain": "ftp://go.example.com"},
        {"url": "https://example.com", "domain": ["x"]},
        {"url": "https://example.com", "domain": True},
        # digits to str.isdigit(), not to int(): were 500s
        {"url": "https://example.com", "domain": "²"},
        {"url": "https://example.com", "pixels": ["²"]},
        {"url": "https://example.com:²/"},
    ],
)
async def test_wrong_types_and_values_are_400(
    links: LinksApi, pg_pool: asyncpg.Pool, body: dict[str, Any]
) -> None:
    await refused(links, pg_pool, body)


async def test_unknown_domain_or_another_users_domain_is_404(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice, mallory = principals.user(), principals.user()
    host = f"alice-{alice.user_id}.example"
    status, body = await links.call("POST", "/api/domain/add", alice, {"domain": f"https://{host}"})
    assert status == 200
    for ref in (body["id"], str(body["id"]), f"https://{host}", host, 10**12, "nope.example"):
        message = await refused(
            links, pg_pool, {"url": "https://example.com", "domain": ref}, 404, mallory
        )
        assert message.startswith("Domain not found")


async def test_update_with_bad_input_changes_nothing(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice = principals.user()
    added = await links.add(alice, url="https://example.com/keep", title="Keep")
    before = await pg_pool.fetchrow("SELECT * FROM links.links WHERE id = $1", added["id"])
    for body in (
        {"url": "javascript:alert(1)", "title": "changed"},
        {"url": None},
        {"title": "changed", "custom": "x" * 100},
        {"title": "changed", "geotarget": [{"location": "Narnia", "link": "https://a.b"}]},
        b"{broken",
    ):
        status, data = await links.call("PUT", f"/api/url/{added['id']}/update", alice, body)
        assert status == 400, body
        assert data["error"] == 1
    after = await pg_pool.fetchrow("SELECT * FROM links.links WHERE id = $1", added["id"])
    assert after == before


@pytest.mark.parametrize("status", [" ", "\t\n", "   public   x"])
async def test_a_blank_or_unknown_status_is_a_clear_400(
    links: LinksApi, pg_pool: asyncpg.Pool, status: str
) -> None:
    message = await refused(links, pg_pool, {"url": "https://example.com", "status": status})
    assert message == "The field 'status' must be one of: public, private."
    alice = principals.user()
    added = await links.add(alice, url="https://example.com/kept", status="private")
    got, data = await links.call("PUT", f"/api/url/{added['id']}/update", alice, {"status": status})
    assert (got, data["message"]) == (400, message)
    assert (await links.details(alice, added["id"]))["status"] == "private"


async def test_an_expiry_in_the_past_is_refused(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    past = (utcnow() - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
    for expiry in ("2001-01-01 00:00:00", "2001-01-01", past):
        message = await refused(links, pg_pool, {"url": "https://example.com", "expiry": expiry})
        assert message == "The field 'expiry' must be a date in the future."
    alice = principals.user()
    added = await links.add(alice, url="https://example.com/later", expiry="2031-05-01 10:00:00")
    got, data = await links.call("PUT", f"/api/url/{added['id']}/update", alice, {"expiry": past})
    assert (got, data["error"]) == (400, 1)
    assert (await links.details(alice, added["id"]))["expiry"] == "2031-05-01 10:00:00"
    # A future expiry, or none, is still fine.
    soon = (utcnow() + timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
    for later in (soon, None, ""):
        got, data = await links.call(
            "PUT", f"/api/url/{added['id']}/update", alice, {"expiry": later}
        )
        assert got == 200, data


# --- plan gates --------------------------------------------------------------

GATED: list[tuple[dict[str, Any], str]] = [
    ({"custom": "gated-alias"}, "alias"),
    ({"domain": 1}, "domain"),
    ({"geotarget": [{"location": "CA", "link": "https://a.ca"}]}, "geo"),
    ({"languagetarget": [{"language": "en", "link": "https://a.b"}]}, "geo"),
    ({"devicetarget": [{"device": "iPhone", "link": "https://a.b"}]}, "device"),
    ({"deeplink": {"auto": True, "apple": "https://apps.apple.com/x"}}, "device"),
    ({"parameters": [{"name": "a", "value": "b"}]}, "parameters"),
    ({"pixels": [1]}, "pixels"),
    ({"type": "splash-3"}, "splash"),
    ({"type": "overlay-3"}, "overlay"),
    ({"campaign": 5}, "bundle"),
    ({"metatitle": "t"}, "custom"),
    ({"metadescription": "d"}, "custom"),
    ({"metaimage": "https://a.b/c.jpg"}, "custom"),
]


@pytest.mark.parametrize(("extra", "flag"), GATED)
async def test_plan_gates_on_starter_are_403_naming_the_feature(
    links: LinksApi, pg_pool: asyncpg.Pool, extra: dict[str, Any], flag: str
) -> None:
    starter = principals.user(principals.STARTER_LIMITS)
    message = await refused(links, pg_pool, {"url": "https://example.com", **extra}, 403, starter)
    assert f"'{flag}' feature" in message


@pytest.mark.parametrize(("extra", "flag"), GATED)
async def test_plan_gates_also_apply_to_updates(
    links: LinksApi, pg_pool: asyncpg.Pool, extra: dict[str, Any], flag: str
) -> None:
    starter = principals.user(principals.STARTER_LIMITS)
    added = await links.add(starter, url="https://example.com")
    before = await pg_pool.fetchrow("SELECT * FROM links.links WHERE id = $1", added["id"])
    status, body = await links.call("PUT", f"/api/url/{added['id']}/update", starter, extra)
    assert status == 403
    assert f"'{flag}' feature" in body["message"]
    assert await pg_pool.fetchrow("SELECT * FROM links.links WHERE id = $1", added["id"]) == before


async def test_business_plan_allows_its_features_only(links: LinksApi) -> None:
    business = principals.user(principals.BUSINESS_LIMITS)
    pixel_id = await links.create(business, "pixel", type="bing", name="Bing", tag="12345678")
    splash_id = await links.create(
        business,
        "splash",
        name="Promo",
        title="Sale",
        message="Soon.",
        image="https://cdn.example.com/promo.png",
        button_text="Shop",
        button_url="https://shop.example.com",
        delay=5,
    )
    added = await links.add(
        business,
        url="https://example.com",
        custom=f"biz-{business.user_id}",
        pixels=[pixel_id],
        type=f"splash-{splash_id}",
    )
    assert added["id"]
    status, body = await links.call(
        "POST",
        "/api/url/add",
        business,
        {"url": "https://example.com", "geotarget": [{"location": "CA", "link": "https://a.ca"}]},
    )
    assert status == 403
    assert "'geo' feature" in body["message"]


async def test_clearing_a_gated_option_is_allowed_on_any_plan(links: LinksApi) -> None:
    starter = principals.user(principals.STARTER_LIMITS)
    added = await links.add(starter, url="https://example.com")
    status, _ = await links.call(
        "PUT", f"/api/url/{added['id']}/update", starter, {"geotarget": [], "pixels": None}
    )
    assert status == 200


async def test_links_quota_is_403_at_the_limit(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    starter = principals.user(principals.STARTER_LIMITS)  # 10 links
    for i in range(10):
        await links.add(starter, url=f"https://example.com/{i}")
    status, body = await links.call("POST", "/api/url/add", starter, {"url": "https://example.com"})
    assert status == 403
    assert "limit of 10 links" in body["message"]
    assert await link_count(pg_pool, starter) == 10


async def test_admin_bypasses_plan_limits(links: LinksApi) -> None:
    boss = principals.user(principals.STARTER_LIMITS, role="admin")
    added = await links.add(
        boss,
        url="https://example.com",
        custom=f"boss-{boss.user_id}",
        geotarget=[{"location": "CA", "link": "https://a.ca"}],
    )
    assert added["id"]


async def test_oversize_body_is_413_and_nothing_stored(
    start_links: StartLinks, pg_pool: asyncpg.Pool
) -> None:
    small = await start_links(max_body_bytes=4096)
    who = principals.user()
    body = {"url": "https://example.com/", "description": "x" * 5000}
    status, data = await small.call("POST", "/api/url/add", who, body)
    assert status == 413
    assert data["error"] == 1
    assert await link_count(pg_pool, who) == 0


async def test_unicode_digits_in_query_ids_are_400(links: LinksApi) -> None:
    """ "²" passes str.isdigit() but not int(): a 400, not a 500."""
    status, body = await links.call("GET", "/api/urls/stats?campaign=²", principals.user())
    assert (status, body["error"]) == (400, 1), body
