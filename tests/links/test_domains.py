"""Branded domains (API.md section 4) through the shared CRUD shape."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from shared.identity import Principal
from shared.settings import Settings
from tests.links.conftest import (
    EventTap,
    Invalidations,
    LinksApi,
    only_page,
    owned_rows,
    snapshot,
)
from tests.support import principals


def host_for(who: Principal, label: str = "go") -> str:
    return f"{label}-{who.user_id}.example.com"


domain_rows = owned_rows("domain")


async def test_add_list_get_update_delete(
    links: LinksApi, pg_pool: asyncpg.Pool, redis_client: aioredis.Redis, settings: Settings
) -> None:
    alice = principals.user()
    host = host_for(alice)
    domain_id = await links.create(
        alice,
        "domain",
        domain=f"HTTPS://{host.upper()}/",
        redirectroot="https://example.com/root",
        redirect404="https://example.com/404",
    )
    rows = await domain_rows(pg_pool, alice)
    assert [(r["host"], r["scheme"]) for r in rows] == [(host, "https")]

    body = await links.fetch(alice, "/api/domains?limit=2&page=1")
    assert body == only_page(
        "domains",
        [
            {
                "id": domain_id,
                "domain": f"https://{host}",
                "redirectroot": "https://example.com/root",
                "redirect404": "https://example.com/404",
                # Verification is off in these tests: served at once.
                "verified": True,
                "verification": {
                    "record": f"_shortener-verify.{host}",
                    "value": f"shortener-verify={rows[0]['verify_token']}",
                },
            }
        ],
    )
    body = await links.fetch(alice, f"/api/domain/{domain_id}")
    assert body["data"]["domain"] == f"https://{host}"

    await links.assert_updated(
        alice,
        "domain",
        domain_id,
        {"redirectroot": "https://example.com/new-root", "redirect404": None},
    )
    row = (await domain_rows(pg_pool, alice))[0]
    assert (row["redirect_root"], row["redirect_404"]) == ("https://example.com/new-root", None)
    snap = await snapshot(redis_client, settings, f"domain:{host}")
    assert snap is not None
    assert (snap["root"], snap["notfound"]) == ("https://example.com/new-root", None)

    status, body = await links.call("DELETE", f"/api/domain/{domain_id}/delete", alice)
    assert (status, body) == (
        200,
        {"error": 0, "message": "Domain has been deleted successfully.", "deletedLinks": 0},
    )
    assert await domain_rows(pg_pool, alice) == []
    # Its host stays known as deleted: the edge serves nothing there.
    snap = await snapshot(redis_client, settings, f"domain:{host}")
    assert snap is not None
    assert (snap["host"], snap["live"], snap["root"], snap["notfound"]) == (host, False, None, None)


async def test_one_owner_per_domain(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice, bob = principals.user(), principals.user()
    host = host_for(alice, "shared")
    await links.create(alice, "domain", domain=f"https://{host}")
    for who, raw in ((bob, f"http://{host.upper()}"), (alice, f"https://{host}")):
        status, body = await links.call("POST", "/api/domain/add", who, {"domain": raw})
        assert status == 409
        assert body == {"error": 1, "message": "This domain has already been added."}
    assert await domain_rows(pg_pool, bob) == []
    assert len(await domain_rows(pg_pool, alice)) == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"domain": None},
        {"domain": "go.example.com"},
        {"domain": "ftp://go.example.com"},
        {"domain": "javascript://go.example.com"},
        {"domain": "https://"},
        {"domain": "https://go.example.com/path"},
        {"domain": "https://go.example.com/?q=1"},
        {"domain": "https://user:pw@go.example.com"},
        {"domain": "https://bad_host!.example"},
        {"domain": "https://localhost"},
        {"domain": "https://" + "a" * 300 + ".com"},
        {"domain": 42},
        {"domain": ["https://go.example.com"]},
        {"domain": "https://ok.example.com", "redirectroot": "javascript:alert(1)"},
        {"domain": "https://ok.example.com", "redirect404": "mailto:x@y.z"},
        {"domain": "https://ok.example.com", "redirect404": 5},
    ],
)
async def test_bad_domains_are_400_and_nothing_stored(
    links: LinksApi, pg_pool: asyncpg.Pool, body: dict[str, Any]
) -> None:
    alice = principals.user()
    await links.refused(alice, "domain", body)
    assert await domain_rows(pg_pool, alice) == []


async def test_the_services_own_short_domain_cannot_be_added(
    links: LinksApi, pg_pool: asyncpg.Pool, settings: Settings
) -> None:
    alice = principals.user()
    status, _ = await links.call(
        "POST", "/api/domain/add", alice, {"domain": settings.public_base_url}
    )
    assert status == 400
    assert await domain_rows(pg_pool, alice) == []


async def test_plan_gate_and_count(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    starter = principals.user(principals.STARTER_LIMITS)
    status, body = await links.call(
        "POST", "/api/domain/add", starter, {"domain": f"https://{host_for(starter)}"}
    )
    assert status == 403
    assert "'domain' feature" in body["message"]
    business = principals.user(principals.BUSINESS_LIMITS)  # one domain
    await links.create(business, "domain", domain=f"https://{host_for(business, 'one')}")
    status, body = await links.call(
        "POST", "/api/domain/add", business, {"domain": f"https://{host_for(business, 'two')}"}
    )
    assert status == 403
    assert "limit of 1 branded domains" in body["message"]
    assert len(await domain_rows(pg_pool, business)) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/domain/{id}"),
        ("PUT", "/api/domain/{id}/update"),
        ("DELETE", "/api/domain/{id}/delete"),
    ],
)
async def test_another_users_domain_is_404_and_unchanged(
    links: LinksApi, pg_pool: asyncpg.Pool, method: str, path: str
) -> None:
    alice, mallory = principals.user(), principals.user()
    domain_id = await links.create(alice, "domain", domain=f"https://{host_for(alice)}")
    before = await domain_rows(pg_pool, alice)
    body = {"redirectroot": "https://evil.example"} if method == "PUT" else None
    status, data = await links.call(method, path.format(id=domain_id), mallory, body)
    assert (status, data) == (404, {"error": 1, "message": "Domain not found."})
    assert await links.call(method, path.format(id=10**14), mallory, body) == (404, data)
    assert await domain_rows(pg_pool, alice) == before
    _, listed = await links.call("GET", "/api/domains", mallory)
    assert listed["data"]["domains"] == []


async def test_deleting_a_domain_deletes_its_links_and_their_snapshots(
    links: LinksApi,
    pg_pool: asyncpg.Pool,
    redis_client: aioredis.Redis,
    settings: Settings,
    invalidations: Invalidations,
    link_deleted_tap: EventTap,
) -> None:
    alice = principals.user()
    host = host_for(alice, "del")
    domain_id = await links.create(alice, "domain", domain=f"https://{host}")
    on_domain = [
        await links.add(
            alice, url="https://example.com", custom=f"d{i}-x", domain=f"https://{host}"
        )
        for i in range(3)
    ]
    elsewhere = await links.add(alice, url="https://example.com", custom=f"keep-{alice.user_id}")
    assert await snapshot(redis_client, settings, f"link:{host}:d0-x") is not None

    status, body = await links.call("DELETE", f"/api/domain/{domain_id}/delete", alice)
    assert (status, body["deletedLinks"]) == (200, 3)
    remaining = await pg_pool.fetch("SELECT id FROM links.links WHERE owner_id = $1", alice.user_id)
    assert [r["id"] for r in remaining] == [elsewhere["id"]]
    for i in range(3):
        assert await snapshot(redis_client, settings, f"link:{host}:d{i}-x") is None
    await invalidations.wait_for(f"domain:{host}", times=2)  # added, deleted
    assert await snapshot(redis_client, settings, f"link:_:keep-{alice.user_id}") is not None
    events = await link_deleted_tap.events(3)
    assert sorted(e["payload"]["link_id"] for e in events) == sorted(
        link["id"] for link in on_domain
    )


async def test_domain_list_paging(links: LinksApi) -> None:
    alice = principals.user()
    ids = [
        await links.create(alice, "domain", domain=f"https://{host_for(alice, f'p{i}')}")
        for i in range(3)
    ]
    body = await links.fetch(alice, "/api/domains?limit=2&page=2")
    assert body["data"]["result"] == 3
    assert body["data"]["maxpage"] == 2
    assert [d["id"] for d in body["data"]["domains"]] == [ids[0]]
    status, body = await links.call("GET", "/api/domains?limit=abc", alice)
    assert status == 400
    assert body["error"] == 1
