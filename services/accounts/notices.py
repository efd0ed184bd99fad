"""What an accounts change must tell the rest of the system: the gateway's
principal cache (a response header it acts on before answering) and events
(for caches and clean-up in every process, whichever path the change took),
staged in the change's own transaction (``shared/outbox.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from shared import outbox
from shared.events import PLAN_CHANGED, Event, PlanChanged, new_event
from shared.postgres import Conn

SCHEMA: Final = "accounts"

INVALIDATE_HEADER: Final = "X-Principal-Invalidate"


def invalidate(*targets: str) -> dict[str, str]:
    """The header naming the principals to evict: ``user:<id>`` or ``plan:<id>``."""
    return {INVALIDATE_HEADER: ",".join(targets)}


def plan_changed(
    plan_id: int, user_id: int | None, limits: Mapping[str, Any], *, role: str | None = None
) -> Event:
    """``role`` (with a user): whether they are an admin, whom no service limits."""
    payload = PlanChanged(plan_id=plan_id, user_id=user_id, limits=dict(limits))
    if role is not None:
        payload["role"] = "admin" if role == "admin" else "user"
    return new_event(PLAN_CHANGED, payload)


async def announce(conn: Conn, *events: Event) -> None:
    """Stage the events of a change in its transaction (one opened with
    :func:`shared.outbox.transaction`): published once it commits, never if it
    rolls back."""
    await outbox.stage(conn, SCHEMA, events)
