"""The real analytics service for the tests of the services that call it: its stats
API and worker on real ports, fed ``click.recorded`` events as the edge sends them."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from shared.events import CLICK_RECORDED, ClickRecorded, ClickSource, new_event
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.support.events import publish_events

#: The stats block of a link without clicks, as the stats API answers it.
ZERO_STATS = {
    "clicks": 0,
    "uniqueClicks": 0,
    "botClicks": 0,
    "topCountries": {},
    "topReferrers": {},
    "topBrowsers": {},
    "topOs": {},
    "socialCount": {"facebook": 0, "twitter": 0, "instagram": 0, "linkedin": 0, "google": 0},
}
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


async def serve_analytics(serve_app: ServeApp, settings: Settings) -> str:
    """Start the analytics worker and stats API; the API's base URL."""
    analytics_app = pytest.importorskip("services.analytics.app")
    analytics_worker = pytest.importorskip("services.analytics.worker")
    await serve_app(analytics_worker.create_worker_app, settings)
    api = await serve_app(analytics_app.create_app, settings)
    return str(api.make_url("")).rstrip("/")


def visit(
    n: int,
    link_id: int,
    owner_id: int,
    *,
    alias: str,
    destination: str,
    accept_language: str,
    referrer: str | None = None,
    source: ClickSource = "link",
    qr_id: int | None = None,
) -> ClickRecorded:
    """The click of the ``n``-th visitor (each its own address; Firefox, in Canada)."""
    return ClickRecorded(
        link_id=link_id,
        owner_id=owner_id,
        alias=alias,
        host="_",
        destination=destination,
        source=source,
        qr_id=qr_id,
        campaign_id=None,
        ip=f"203.0.113.{n}",
        user_agent=FIREFOX,
        referrer=referrer,
        accept_language=accept_language,
        country="CA",
    )


async def send_clicks(settings: Settings, clicks: Iterable[ClickRecorded]) -> None:
    """Publish ``click.recorded`` events through RabbitMQ, as the edge does."""
    await publish_events(settings, *(new_event(CLICK_RECORDED, click) for click in clicks))
