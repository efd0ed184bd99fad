"""The running system the fuzzer talks to: every process, in a namespace of its
own (the fuzzer changes plans and deletes objects at random, which no other test
may see), an admin on a plan with every feature (as the default plan has) and an
API rate the fuzzer never exhausts, and a few objects of each kind for the
generated cases to find."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest

from services.accounts.bootstrap import ensure_admin
from services.accounts.plan_limits import ALL_FEATURES_LIMITS
from shared.settings import Settings
from tests.fuzz.fuzzing import FuzzTarget
from tests.support.api_calls import call
from tests.support.namespace import private_namespace
from tests.support.system import RunningSystem, with_free_ports

RATE_CAPACITY: Final = 1_000_000  # the fuzzer must never meet its own rate limit
OBJECTS_PER_KIND: Final = 3


@pytest.fixture
async def fuzz_system(settings: Settings, tmp_path: Path) -> AsyncIterator[RunningSystem]:
    async with private_namespace(settings, "fuzz") as own:
        # Generated URLs must not reach this machine's own services; webhooks may,
        # so the seeded ones can point at a local address (see _seed_objects).
        own = own.with_overrides(
            allow_private_fetch=False, allow_private_webhooks=True, click_flush_interval=0.05
        )
        running = RunningSystem(with_free_ports(own), log_dir=tmp_path)
        try:
            await running.start()
            yield running
        finally:
            await running.stop()


async def _ok(http: aiohttp.ClientSession, method: str, url: str, key: str, body: Any) -> Any:
    status, answer, _ = await call(http, method, url, key, body)
    assert status == 200, (method, url, answer)
    return answer


async def _seed_objects(http: aiohttp.ClientSession, api: str, key: str, sink: str) -> None:
    """A few objects of each kind, so generated ids find something to act on
    (webhooks deliver to ``sink``, for an event the run never causes)."""
    for n in range(OBJECTS_PER_KIND):
        tag = f"fuzz{n}"  # the namespace is the run's own: the same names every run
        group = await _ok(http, "POST", f"{api}/contact/group/add", key, {"name": f"g{tag}"})
        field = await _ok(
            http, "POST", f"{api}/contact/field/add", key, {"name": f"f{tag}", "type": "text"}
        )
        await _ok(
            http,
            "POST",
            f"{api}/contact/add",
            key,
            {
                "name": f"n{tag}",
                "groups": [group["id"]],
                "custom_fields": [{"id": field["id"], "value": "v"}],
            },
        )
        await _ok(http, "POST", f"{api}/url/add", key, {"url": f"https://example.com/{tag}"})
        await _ok(http, "POST", f"{api}/campaign/add", key, {"name": f"c{tag}", "slug": f"s{tag}"})
        await _ok(http, "POST", f"{api}/channel/add", key, {"name": f"ch{tag}"})
        await _ok(
            http,
            "POST",
            f"{api}/pixel/add",
            key,
            {"type": "gtmpixel", "name": f"p{tag}", "tag": "GTM-ABC123"},
        )
        await _ok(http, "POST", f"{api}/splash/add", key, {"name": f"sp{tag}"})
        await _ok(http, "POST", f"{api}/overlay/add", key, {"name": f"o{tag}", "type": "message"})
        await _ok(http, "POST", f"{api}/qr/add", key, {"type": "text", "data": f"t{tag}"})
        await _ok(http, "POST", f"{api}/domain/add", key, {"domain": f"https://d{tag}.example.com"})
        await _ok(
            http, "POST", f"{api}/webhook/add", key, {"url": sink, "events": ["quota.reached"]}
        )


@pytest.fixture
async def fuzz_target(fuzz_system: RunningSystem) -> FuzzTarget:
    # the first admin of the empty namespace, made by the bootstrap make run uses
    admin = await ensure_admin(fuzz_system.settings)
    assert admin is not None
    key, admin_id = admin.api_key, admin.user_id
    api = fuzz_system.gateway_url + "/api"
    async with aiohttp.ClientSession() as http:
        plans = []
        for name in ("Everything (fuzz)", "Spare (fuzz)"):
            body = {
                "name": name,
                "limits": ALL_FEATURES_LIMITS,
                "rate": {"capacity": RATE_CAPACITY, "window": 60},
            }
            plans.append((await _ok(http, "POST", f"{api}/plan/add", key, body))["id"])
        plan_id, spare_plan_id = plans
        await _ok(http, "PUT", f"{api}/plan/{plan_id}/user/{admin_id}", key, {"type": "lifetime"})
        spare = await _ok(
            http,
            "POST",
            f"{api}/user/add",
            key,
            {"username": "spare", "email": "spare@example.com", "password": "spare-pass"},
        )
        # the new rate is in force before the first generated case
        _, _, headers = await call(http, "GET", f"{api}/account", key)
        assert headers["X-RateLimit-Limit"] == str(RATE_CAPACITY)
        await _seed_objects(http, api, key, sink=f"{fuzz_system.gateway_url}/health")
    return FuzzTarget(
        system=fuzz_system,
        key=key,
        admin_id=admin_id,
        plan_id=plan_id,
        spare_user_id=spare["data"]["id"],
        spare_plan_id=spare_plan_id,
    )
