"""Typed application keys for the resources every process may hold.

Service-specific keys live in each service's own ``keys.py``."""

from __future__ import annotations

import aio_pika
import asyncpg
import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CollectorRegistry

from shared.events import EventPublisher
from shared.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
SERVICE_NAME = web.AppKey("service_name", str)
PG_POOL = web.AppKey("pg_pool", asyncpg.Pool)
REDIS = web.AppKey("redis", aioredis.Redis)
AMQP = web.AppKey("amqp", aio_pika.abc.AbstractRobustConnection)
EVENTS = web.AppKey("events", EventPublisher)
METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)
