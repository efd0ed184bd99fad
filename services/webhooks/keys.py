"""Typed application keys of the webhooks processes (shared ones are in ``shared/appkeys.py``)."""

from __future__ import annotations

from aiohttp import web

from services.webhooks.fanout import EventConsumer
from services.webhooks.schedule import Dispatcher
from services.webhooks.sender import Sender

SENDER = web.AppKey("webhook_sender", Sender)
DISPATCHER = web.AppKey("webhook_dispatcher", Dispatcher)
CONSUMER = web.AppKey("webhook_consumer", EventConsumer)
