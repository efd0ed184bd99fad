"""Typed application keys of the analytics worker (shared ones are in ``shared/appkeys.py``)."""

from __future__ import annotations

from aiohttp import web

from services.analytics.consumer import ClickConsumer
from services.analytics.enrich import Enricher
from services.analytics.lifecycle import LifecycleConsumer
from services.analytics.metrics import WorkerMetrics

WORKER_ID = web.AppKey("worker_id", str)
WORKER_METRICS = web.AppKey("worker_metrics", WorkerMetrics)
ENRICHER = web.AppKey("enricher", Enricher)
CLICKS = web.AppKey("click_consumer", ClickConsumer)
LIFECYCLE = web.AppKey("lifecycle_consumer", LifecycleConsumer)
