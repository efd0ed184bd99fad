"""What an accounts change must tell the rest of the system: the gateway's
principal cache (a response header it acts on before answering) and events
(for caches and clean-up in every process, whichever path the change took)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from shared.appkeys import EVENTS
from shared.events import PLAN_CHANGED, Event, PlanChanged, new_event

log = logging.getLogger("services.accounts.notices")

INVALIDATE_HEADER: Final = "X-Principal-Invalidate"


def invalidate(*targets: str) -> dict[str, str]:
    """The header naming the principals to evict: ``user:<id>`` or ``plan:<id>``."""
    return {INVALIDATE_HEADER: ",".join(targets)}


def plan_changed(plan_id: int, user_id: int | None, limits: Mapping[str, Any]) -> Event:
    return new_event(
        PLAN_CHANGED, PlanChanged(plan_id=plan_id, user_id=user_id, limits=dict(limits))
    )


async def announce(app: web.Application, *events: Event) -> None:
    """Publish events of a committed change. Never raises: the change stands, so a
    broker failure is logged (the gateway's cache TTL bounds what it misses)."""
    if not events:
        return
    try:
        await app[EVENTS].publish(*events)
    except Exception:
        log.exception("could not publish %d event(s) of type %s", len(events), events[0].type)
