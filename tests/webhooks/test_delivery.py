"""The delivery process against a real receiving server: signed bodies, retries
with backoff after 500s and timeouts, de-duplication by event id, disabling
after the retry window, refused targets, batches, and one slow endpoint not
delaying another."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import asyncpg

from shared.events import CLICK_RECORDED, LINK_CREATED, Event, EventPublisher, new_event
from shared.identity import Principal
from tests.support import principals
from tests.support.waiting import eventually
from tests.webhooks.conftest import Receiver, StartApi, StartDelivery, WebhooksApi
from tests.webhooks.test_api import verify


def link_created(owner: Principal, link_id: int = 7) -> Event:
    return new_event(
        LINK_CREATED,
        {
            "link_id": link_id,
            "owner_id": owner.user_id,
            "alias": f"a{link_id}",
            "shorturl": f"http://localhost:8080/a{link_id}",
            "longurl": "https://example.com/",
        },
    )


def click(owner: Principal, link_id: int = 7, source: str = "link") -> Event:
    return new_event(
        CLICK_RECORDED,
        {
            "link_id": link_id,
            "owner_id": owner.user_id,
            "alias": f"a{link_id}",
            "host": "localhost:8080",
            "destination": "https://example.com/",
            "source": source,
            "qr_id": 3 if source == "qr" else None,
            "campaign_id": None,
            "ip": "203.0.113.9",
            "user_agent": "Mozilla/5.0",
            "referrer": None,
            "accept_language": "en",
            "country": "DE",
        },
    )


async def arrived(receiver: Receiver, path: str, count: int, within: float = 15.0) -> None:
    async def enough() -> bool:
        return len(receiver.at(path)) >= count

    await eventually(enough, within=within)


async def test_an_event_is_delivered_signed_with_its_id(
    api: WebhooksApi,
    receiver: Receiver,
    start_delivery: StartDelivery,
    publisher: EventPublisher,
) -> None:
    who = principals.user()
    added = await api.add(who, url=receiver.url("/signed"), events=["link.created"])
    await start_delivery()
    event = link_created(who)
    await publisher.publish(event)
    await arrived(receiver, "/signed", 1)
    [got] = receiver.at("/signed")
    assert verify(added["secret"], got.headers, got.body)
    body = got.json
    assert body["id"] == event.id == got.headers["X-Webhook-Id"]
    assert body["type"] == "link.created" == got.headers["X-Webhook-Event"]
    assert body["created"].endswith("Z")
    assert body["data"] == {
        "link_id": 7,
        "alias": "a7",
        "shorturl": "http://localhost:8080/a7",
        "longurl": "https://example.com/",
    }
    assert abs(int(got.headers["X-Webhook-Timestamp"]) - time.time()) < 30

    async def logged() -> bool:
        return len(await api.deliveries(who, added["id"])) == 1

    await eventually(logged)
    [entry] = await api.deliveries(who, added["id"])
    assert (entry["event"], entry["status"], entry["error"], entry["attempt"]) == (
        "link.created",
        200,
        None,
        1,
    )


async def test_clicks_and_scans_become_link_clicked_and_qr_scanned_without_the_ip(
    api: WebhooksApi,
    receiver: Receiver,
    start_delivery: StartDelivery,
    publisher: EventPublisher,
) -> None:
    who = principals.user()
    await api.add(who, url=receiver.url("/clicks"), events=["link.clicked", "qr.scanned"])
    only_scans = await api.add(who, url=receiver.url("/scans"), events=["qr.scanned"])
    other = principals.user()
    await api.add(other, url=receiver.url("/other"), events=["link.clicked"])
    await start_delivery()
    await publisher.publish(click(who), click(who, source="qr"))
    await arrived(receiver, "/clicks", 2)
    await arrived(receiver, "/scans", 1)
    types = sorted(r.json["type"] for r in receiver.at("/clicks"))
    assert types == ["link.clicked", "qr.scanned"]
    [scan] = receiver.at("/scans")
    assert verify(only_scans["secret"], scan.headers, scan.body)
    assert scan.json["data"]["qr_id"] == 3
    assert "ip" not in scan.json["data"]
    assert "owner_id" not in scan.json["data"]
    await asyncio.sleep(0.3)
    assert receiver.at("/other") == []  # another owner's clicks


async def test_retries_after_500s_with_growing_delays_and_the_same_id(
    api: WebhooksApi,
    receiver: Receiver,
    start_delivery: StartDelivery,
    publisher: EventPublisher,
) -> None:
    who = principals.user()
    webhook_id = (
        await api.add(
            who, url=receiver.url("/flaky", status=[500, 500, 500, 200]), events=["link.created"]
        )
    )["id"]
    await start_delivery()
    event = link_created(who)
    await publisher.publish(event)
    await arrived(receiver, "/flaky", 4)
    attempts = receiver.at("/flaky")
    assert {a.headers["X-Webhook-Id"] for a in attempts} == {event.id}
    gaps = [b.at - a.at for a, b in itertools.pairwise(attempts)]
    # base 0.1 s doubling (±20 %): ~0.1, ~0.2, ~0.4
    assert gaps[0] >= 0.07
    assert gaps[2] > gaps[0] * 1.8, gaps
    await asyncio.sleep(0.5)
    assert len(receiver.at("/flaky")) == 4  # delivered: no more attempts

    async def logged() -> bool:
        return len(await api.deliveries(who, webhook_id)) == 4

    await eventually(logged)
    log = await api.deliveries(who, webhook_id)
    assert [(d["attempt"], d["status"]) for d in reversed(log)] == [
        (1, 500),
        (2, 500),
        (3, 500),
        (4, 200),
    ]
    assert log[-1]["error"] == "HTTP 500."
    assert (await api.get(who, webhook_id))["failingsince"] is None  # the success ended it


async def test_a_timeout_is_a_failed_attempt_and_retried(
    api: WebhooksApi,
    receiver: Receiver,
    start_delivery: StartDelivery,
    publisher: EventPublisher,
) -> None:
    who = principals.user()
    webhook_id = (
        await api.add(who, url=receiver.url("/slow-once", delay=[2.0, 0]), events=["link.created"])
    )["id"]
    await start_delivery(webhook_timeout=0.5)
    await publisher.publish(link_created(who))
    await arrived(receiver, "/slow-once", 2)

    async def logged() -> bool:
        return len(await api.deliveries(who, webhook_id)) == 2

    await eventually(logged)
    first, second = reversed(await api.deliveries(who, webhook_id))
    assert first["status"] is None
    assert first["error"] == "No answer within 0.5 s."
    assert 450 <= first["latency"] < 1500
    assert (second["status"], second["error"]) == (200, None)


async def test_a_redelivered_event_is_delivered_once(
    api: WebhooksApi,
    receiver: Receiver,
    start_delivery: StartDelivery,
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
) -> None:
    who = principals.user()
    webhook_id = (await api.add(who, url=receiver.url("/once"), events=["link.created"]))["id"]
    await start_delivery()
    event = link_created(who)
    await publisher.publish(event)
    await publisher.publish(event)  # the broker redelivers, a relay publishes twice
    await arrived(receiver, "/once", 1)
    await publisher.publish(event)
    await asyncio.sleep(0.8)
    assert len(receiver.at("/once")) == 1
    rows = await pg_pool.fetchval(
        "SELECT count(*) FROM webhooks.deliveries WHERE endpoint_id = $1", webhook_id
    )
    assert rows == 1


async def test_a_webhook_failing_for_the_whole_window_is_disabled_and_says_why(
    api: WebhooksApi,
    receiver: Receiver,
    start_delivery: StartDelivery,
    publisher: EventPublisher,
) -> None:
    who = principals.user()
    webhook_id = (
        await api.add(who, url=receiver.url("/dead", status=500), events=["link.created"])
    )["id"]
    await start_delivery(webhook_retry_window=1.0)
    await publisher.publish(link_created(who, 1), link_created(who, 2))

    async def disabled() -> bool:
        return (await api.get(who, webhook_id))["enabled"] is False

    await eventually(disabled, within=15)
    got = await api.get(who, webhook_id)
    assert got["disabledreason"] == (
        "Every delivery failed for 1 seconds; the last error: HTTP 500."
    )
    assert got["disableddate"] is not None
    tried = len(receiver.at("/dead"))
    assert tried >= 2
    await publisher.publish(link_created(who, 3))  # nothing goes to a disabled webhook
    await asyncio.sleep(0.8)
    assert len(receiver.at("/dead")) == tried
    # The owner turns it back on: new events flow again.
    receiver.behaviours["/dead"] = {"status": 200}
    status, _ = await api.call("PUT", f"/api/webhook/{webhook_id}/update", who, {"enabled": True})
    assert status == 200
    await publisher.publish(link_created(who, 4))

    async def resumed() -> bool:
        return any(r.json["data"]["link_id"] == 4 for r in receiver.at("/dead"))

    await eventually(resumed)


async def test_private_targets_and_redirects_are_refused_when_sending(
    api: WebhooksApi,
    receiver: Receiver,
    start_delivery: StartDelivery,
    publisher: EventPublisher,
) -> None:
    who = principals.user()
    # Added while loopback was allowed (a DNS answer can change later just as well).
    private = (await api.add(who, url=receiver.url("/private"), events=["link.created"]))["id"]
    await start_delivery(allow_private_webhooks=False)
    await publisher.publish(link_created(who))

    async def refused() -> bool:
        return len(await api.deliveries(who, private)) >= 1

    await eventually(refused)
    entry = (await api.deliveries(who, private))[-1]
    assert entry["status"] is None
    assert "is not a public address" in entry["error"]
    assert receiver.at("/private") == []


async def test_redirects_are_not_followed(
    api: WebhooksApi,
    receiver: Receiver,
    start_delivery: StartDelivery,
    publisher: EventPublisher,
) -> None:
    who = principals.user()
    target = receiver.url("/target")
    webhook_id = (
        await api.add(
            who,
            url=receiver.url("/moved", status=307, location=target),
            events=["link.created"],
        )
    )["id"]
    await start_delivery()
    await publisher.publish(link_created(who))

    async def tried() -> bool:
        return len(await api.deliveries(who, webhook_id)) >= 1

    await eventually(tried)
    entry = (await api.deliveries(who, webhook_id))[-1]
    assert (entry["status"], entry["error"]) == (307, "HTTP 307: redirects are not followed.")
    assert receiver.at("/target") == []


async def test_one_slow_endpoint_does_not_delay_another(
    api: WebhooksApi,
    receiver: Receiver,
    start_delivery: StartDelivery,
    publisher: EventPublisher,
) -> None:
    slow_owner, fast_owner = principals.user(), principals.user()
    await api.add(slow_owner, url=receiver.url("/slow", delay=3.0), events=["link.clicked"])
    await api.add(fast_owner, url=receiver.url("/fast"), events=["link.clicked"])
    # 4 requests at once per endpoint, each may take 5 s: the slow endpoint's 40
    # clicks would hold the fast one's for 30 s if they shared a line.
    await start_delivery(webhook_timeout=5.0)
    await publisher.publish(*(click(slow_owner, n) for n in range(40)))
    await asyncio.sleep(0.3)  # the slow endpoint's first requests are hanging now
    started = time.time()
    await publisher.publish(*(click(fast_owner, n) for n in range(20)))
    await arrived(receiver, "/fast", 20, within=10)
    assert receiver.at("/fast")[-1].at - started < 2.0
    # The slow endpoint holds its own 4 slots, no more.
    assert len(receiver.at("/slow")) == 4


async def test_clicks_in_batches_per_n_seconds(
    start_api: StartApi,
    receiver: Receiver,
    start_delivery: StartDelivery,
    publisher: EventPublisher,
) -> None:
    api = await start_api()
    who = principals.user()
    added = await api.add(
        who, url=receiver.url("/batched"), events=["link.clicked", "link.created"], batch=1
    )
    await start_delivery()
    clicks = [click(who, n) for n in range(25)]
    await publisher.publish(*clicks[:10])
    await publisher.publish(*clicks[10:], link_created(who))
    await arrived(receiver, "/batched", 2)
    await asyncio.sleep(1.5)
    got = receiver.at("/batched")
    by_type: dict[str, list[Any]] = {}
    for request in got:
        assert verify(added["secret"], request.headers, request.body)
        by_type.setdefault(request.json["type"], []).append(request.json)
    assert len(by_type["link.created"]) == 1  # not batched
    batches = by_type["batch"]
    inner = [e for b in batches for e in b["data"]["events"]]
    assert sorted(e["id"] for e in inner) == sorted(c.id for c in clicks)
    assert {e["type"] for e in inner} == {"link.clicked"}
    assert len(batches) <= 2


async def test_deleting_a_webhook_mid_delivery_stops_it_and_nothing_else(
    api: WebhooksApi,
    receiver: Receiver,
    start_delivery: StartDelivery,
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
) -> None:
    who = principals.user()
    doomed = (
        await api.add(
            who, url=receiver.url("/doomed", delay=1.0, status=500), events=["link.created"]
        )
    )["id"]
    await start_delivery()
    await publisher.publish(link_created(who, 1))
    await arrived(receiver, "/doomed", 1)  # in flight now
    status, _ = await api.call("DELETE", f"/api/webhook/{doomed}/delete", who)
    assert status == 200
    await asyncio.sleep(1.5)
    assert len(receiver.at("/doomed")) == 1  # no retry for a deleted webhook
    # The process carries on with everyone else.
    other = principals.user()
    alive = (await api.add(other, url=receiver.url("/alive"), events=["link.created"]))["id"]
    await publisher.publish(link_created(other, 2))
    await arrived(receiver, "/alive", 1)

    async def recorded() -> bool:  # the outcome is written, not just sent
        return [d["status"] for d in await api.deliveries(other, alive)] == [200]

    await eventually(recorded, within=5)
    left = await pg_pool.fetchval(
        "SELECT count(*) FROM webhooks.attempts WHERE endpoint_id = $1", doomed
    )
    assert left == 0
