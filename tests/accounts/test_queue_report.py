"""GET /api/system/queues (admins): queue depths read from the real broker, and the
worker's lag as far as the analytics service can say."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import aio_pika
import pytest

from services.accounts.app import create_app as create_accounts
from services.accounts.queue_report import worker_lag
from shared import amqp
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.support import principals
from tests.support.cleanup import drop_amqp_names
from tests.support.service_client import closed_port
from tests.support.signed_client import SignedClient


@pytest.fixture
async def own_amqp(settings: Settings) -> AsyncIterator[Settings]:
    """Queues of this test alone: what it counts is what it put there."""
    own = settings.with_overrides(
        amqp_prefix=f"{settings.amqp_prefix}q{secrets.token_hex(3)}.",
        analytics_url=f"http://127.0.0.1:{closed_port()}",
    )
    try:
        yield own
    finally:
        await drop_amqp_names(own)


async def test_queue_depths_come_from_the_broker(serve_app: ServeApp, own_amqp: Settings) -> None:
    accounts = SignedClient(await serve_app(create_accounts, own_amqp), own_amqp.internal_secret)

    async def depths() -> dict[str, object]:
        resp = await accounts.get("/api/system/queues", principals.admin())
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        assert body["error"] == 0
        return {q["name"]: q for q in body["data"]["queues"]} | {"lag": body["data"]["workerLag"]}

    before = await depths()
    assert set(before) == {*amqp.QUEUES, "lag"}
    connection = await amqp.connect(own_amqp)
    async with connection:
        channel = await connection.channel()
        await amqp.declare_topology(channel, own_amqp)
        for _ in range(3):
            await channel.default_exchange.publish(
                aio_pika.Message(b"[]"), routing_key=amqp.name(own_amqp, "analytics.clicks")
            )
    after = await depths()
    clicks = after["analytics.clicks"]
    assert isinstance(clicks, dict)
    assert clicks["messages"] == 3
    assert clicks["consumers"] == 0
    assert after["lag"] is None  # clicks wait, and analytics (a closed port) cannot say

    user = await accounts.get("/api/system/queues", principals.user())
    assert user.status == 403


def test_worker_lag_is_zero_while_nothing_waits_and_the_newest_counts_age_otherwise() -> None:
    assert worker_lag((0, 1), None, now=1_000.0) == 0.0
    assert worker_lag((5, 1), 990.0, now=1_000.0) == 10.0
    assert worker_lag((5, 1), None, now=1_000.0) is None
    assert worker_lag(None, 990.0, now=1_000.0) is None
