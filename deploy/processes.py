"""The processes that make up the system, in start order: one place that
``make run``, the end-to-end tests and the deployment manifests agree on."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    name: str
    module: str  # run as ``python -m <module>``
    port_env: str | None  # the env var naming its port (None: no HTTP port)
    default_port: int | None

    def exists(self) -> bool:
        """True when ``python -m <module>`` would run something in this checkout."""
        try:
            spec = importlib.util.find_spec(self.module)
            if spec is None:
                return False
            if spec.submodule_search_locations is None:
                return True  # a plain module
            return importlib.util.find_spec(self.module + ".__main__") is not None
        except ModuleNotFoundError:
            return False


PROCESSES: Final[tuple[ProcessSpec, ...]] = (
    ProcessSpec("accounts", "services.accounts", "ACCOUNTS_PORT", 8101),
    ProcessSpec("links", "services.links", "LINKS_PORT", 8102),
    ProcessSpec("analytics", "services.analytics", "ANALYTICS_PORT", 8103),
    ProcessSpec("worker", "services.analytics.worker", "WORKER_METRICS_PORT", 8104),
    ProcessSpec("webhooks", "services.webhooks", "WEBHOOKS_PORT", 8105),
    ProcessSpec("webhook-delivery", "services.webhooks.delivery", "WEBHOOK_DELIVERY_PORT", 8106),
    ProcessSpec("edge", "services.links.edge", "EDGE_PORT", 8080),
    ProcessSpec("gateway", "gateway", "GATEWAY_PORT", 8000),
)


def available() -> list[ProcessSpec]:
    """The processes whose code exists in this checkout."""
    return [spec for spec in PROCESSES if spec.exists()]
