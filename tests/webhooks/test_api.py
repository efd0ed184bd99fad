"""The webhooks API: what an owner can add, see, change and remove, the plan
gates, refused targets, and the test ping (signed, logged)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import asyncpg

from services.webhooks.signing import signature
from tests.support import principals
from tests.webhooks.conftest import Receiver, StartApi, WebhooksApi


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, as README "Webhooks" documents it."""
    timestamp = headers["X-Webhook-Timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest("sha256=" + expected, headers["X-Webhook-Signature"])


async def stored(pg_pool: asyncpg.Pool, owner: int) -> int:
    count: int = await pg_pool.fetchval(
        "SELECT count(*) FROM webhooks.endpoints WHERE owner_id = $1", owner
    )
    return count


async def test_add_shows_the_secret_once_then_get_list_update_delete(
    api: WebhooksApi, receiver: Receiver
) -> None:
    who = principals.user()
    url = receiver.url("/hooks/a")
    added = await api.add(who, url=url, events=["link.clicked", "link.created"])
    assert added["error"] == 0
    assert added["secret"].startswith("whsec_")
    assert len(added["secret"]) > 40
    webhook_id = added["id"]
    got = await api.get(who, webhook_id)
    assert got["url"] == url
    assert got["events"] == ["link.created", "link.clicked"]  # the catalog's order
    assert got["enabled"] is True
    assert got["disabledreason"] is None
    assert got["batch"] == 0
    assert "secret" not in got

    status, listed = await api.call("GET", "/api/webhooks?limit=1", who)
    assert status == 200
    assert listed["data"]["result"] == 1
    assert listed["data"]["webhooks"][0]["id"] == webhook_id

    status, updated = await api.call(
        "PUT",
        f"/api/webhook/{webhook_id}/update",
        who,
        {"events": ["qr.scanned"], "batch": 5, "enabled": False},
    )
    assert status == 200, updated
    assert updated["message"] == "Webhook has been updated successfully."
    assert updated["data"]["events"] == ["qr.scanned"]
    assert updated["data"]["batch"] == 5
    assert updated["data"]["enabled"] is False
    assert updated["data"]["disabledreason"] == "Disabled by its owner."
    status, updated = await api.call(
        "PUT", f"/api/webhook/{webhook_id}/update", who, {"enabled": True}
    )
    assert updated["data"]["enabled"] is True
    assert updated["data"]["disabledreason"] is None

    status, deleted = await api.call("DELETE", f"/api/webhook/{webhook_id}/delete", who)
    assert (status, deleted) == (
        200,
        {"error": 0, "message": "Webhook has been deleted successfully."},
    )
    status, gone = await api.call("GET", f"/api/webhook/{webhook_id}", who)
    assert (status, gone) == (404, {"error": 1, "message": "Webhook not found."})


async def test_lists_are_paged_like_the_others(api: WebhooksApi, receiver: Receiver) -> None:
    who = principals.user()
    ids = [
        (await api.add(who, url=receiver.url(f"/p/{n}"), events=["link.created"]))["id"]
        for n in range(3)
    ]
    status, page = await api.call("GET", "/api/webhooks?limit=2&page=2", who)
    assert status == 200
    data = page["data"]
    assert (data["result"], data["perpage"], data["currentpage"], data["maxpage"]) == (3, 2, 2, 2)
    assert [w["id"] for w in data["webhooks"]] == [ids[0]]  # newest first


async def test_another_users_webhook_is_not_found(api: WebhooksApi, receiver: Receiver) -> None:
    owner, other = principals.user(), principals.user()
    webhook_id = (await api.add(owner, url=receiver.url("/mine"), events=["link.created"]))["id"]
    for method, path in (
        ("GET", f"/api/webhook/{webhook_id}"),
        ("PUT", f"/api/webhook/{webhook_id}/update"),
        ("DELETE", f"/api/webhook/{webhook_id}/delete"),
        ("POST", f"/api/webhook/{webhook_id}/test"),
        ("GET", f"/api/webhook/{webhook_id}/deliveries"),
    ):
        status, body = await api.call(method, path, other, {} if method == "PUT" else None)
        assert (status, body["error"]) == (404, 1), (method, path)
    status, listed = await api.call("GET", "/api/webhooks", other)
    assert listed["data"]["webhooks"] == []
    assert receiver.received == []


async def test_bad_input_is_a_clear_400_and_stores_nothing(
    api: WebhooksApi, receiver: Receiver, pg_pool: asyncpg.Pool
) -> None:
    who = principals.user()
    url = receiver.url("/x")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"events": ["link.created"]}, "The field 'url' is required."),
        ({"url": url}, "The field 'events' is required."),
        ({"url": url, "events": []}, "The field 'events' must list one or more of"),
        ({"url": url, "events": ["link.exploded"]}, "Unknown event 'link.exploded'"),
        ({"url": url, "events": "link.created"}, "The field 'events' must be an array."),
        ({"url": "ftp://example.com/", "events": ["link.created"]}, "Only http and https"),
        ({"url": "https://u:p@example.com/", "events": ["link.created"]}, "credentials"),
        ({"url": "http://x..com/", "events": ["link.created"]}, "could not be resolved"),
        ({"url": f"http://{'a' * 70}.com/", "events": ["link.created"]}, "could not be resolved"),
        ({"url": url, "events": ["link.created"], "secret": "short"}, "at least 16"),
        ({"url": url, "events": ["link.created"], "batch": 3601}, "at most 3600"),
        ({"url": url, "events": ["link.created"], "batch": "soon"}, "must be an integer"),
    ]
    for body, message in cases:
        status, answer = await api.call("POST", "/api/webhook/add", who, body)
        assert status == 400, (body, answer)
        assert answer["error"] == 1, (body, answer)
        assert message in answer["message"], (body, answer)
    assert await stored(pg_pool, who.user_id) == 0


async def test_private_and_metadata_targets_are_refused(
    start_api: StartApi, pg_pool: asyncpg.Pool
) -> None:
    api = await start_api(allow_private_webhooks=False)
    who = principals.user()
    for url in (
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://[::1]/hook",
        "http://[::ffff:192.168.0.1]/hook",
    ):
        status, answer = await api.call(
            "POST", "/api/webhook/add", who, {"url": url, "events": ["link.created"]}
        )
        assert status == 400, (url, answer)
        assert "is not a public address" in answer["message"], (url, answer)
    assert await stored(pg_pool, who.user_id) == 0


async def test_plan_gates_the_feature_and_the_count(
    api: WebhooksApi, receiver: Receiver, pg_pool: asyncpg.Pool
) -> None:
    starter = principals.user(principals.STARTER_LIMITS)
    status, answer = await api.call(
        "POST", "/api/webhook/add", starter, {"url": receiver.url("/s"), "events": ["link.created"]}
    )
    assert (status, answer["message"]) == (
        403,
        "Your plan does not include webhooks (the 'webhooks' feature).",
    )
    two = principals.user({**principals.STARTER_LIMITS, "webhooks": {"enabled": "1", "count": "2"}})
    for n in range(2):
        await api.add(two, url=receiver.url(f"/two/{n}"), events=["link.created"])
    status, answer = await api.call(
        "POST", "/api/webhook/add", two, {"url": receiver.url("/two/3"), "events": ["link.created"]}
    )
    assert status == 403
    assert answer["message"] == (
        "You have reached your plan's limit of 2 webhooks (the 'webhooks' limit)."
    )
    assert await stored(pg_pool, two.user_id) == 2


async def test_ping_is_signed_answered_and_logged(api: WebhooksApi, receiver: Receiver) -> None:
    who = principals.user()
    added = await api.add(
        who, url=receiver.url("/ping"), events=["link.created"], secret="my-own-secret-1234"
    )
    assert added["secret"] == "my-own-secret-1234"
    status, answer = await api.call("POST", f"/api/webhook/{added['id']}/test", who)
    assert status == 200, answer
    assert answer["message"] == "The ping was delivered."
    assert answer["data"]["status"] == 200
    assert answer["data"]["error"] is None
    [ping] = receiver.at("/ping")
    assert verify("my-own-secret-1234", ping.headers, ping.body)
    assert not verify("another-secret-12345", ping.headers, ping.body)
    assert ping.json["type"] == "ping"
    assert ping.json["data"] == {"webhook": added["id"]}
    assert ping.headers["X-Webhook-Id"] == ping.json["id"]
    assert ping.headers["X-Webhook-Signature"] == signature(
        "my-own-secret-1234", int(ping.headers["X-Webhook-Timestamp"]), ping.body
    )
    [logged] = await api.deliveries(who, added["id"])
    assert logged["event"] == "ping"
    assert logged["status"] == 200
    assert logged["error"] is None
    assert logged["eventid"] == ping.json["id"]


async def test_a_failing_ping_says_why(api: WebhooksApi, receiver: Receiver) -> None:
    who = principals.user()
    webhook_id = (
        await api.add(who, url=receiver.url("/down", status=503), events=["link.created"])
    )["id"]
    status, answer = await api.call("POST", f"/api/webhook/{webhook_id}/test", who)
    assert status == 200
    assert answer["message"] == "The ping failed: HTTP 503."
    assert answer["data"]["status"] == 503
    [logged] = await api.deliveries(who, webhook_id)
    assert (logged["status"], logged["error"]) == (503, "HTTP 503.")


async def test_a_slow_ping_is_answered_before_the_gateway_gives_up(
    start_api: StartApi, receiver: Receiver
) -> None:
    api = await start_api(upstream_timeout=1.0, webhook_timeout=10.0)
    who = principals.user()
    webhook_id = (
        await api.add(who, url=receiver.url("/sleepy", delay=3.0), events=["link.created"])
    )["id"]
    status, answer = await api.call("POST", f"/api/webhook/{webhook_id}/test", who)
    assert status == 200
    assert answer["message"] == "The ping failed: No answer within 0.5 s."
    assert answer["data"]["status"] is None
    assert answer["data"]["latency"] < 1000
