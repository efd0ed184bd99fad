"""What the gateway costs: authenticated ``GET /api/account`` through the
gateway versus the same request sent straight to the accounts service (with
the signed identity header the gateway would add), same run, 64 connections,
real processes, wrk as the load generator, the two paths interleaved.

Targets: the gateway path keeps at least 50% of the direct throughput and
adds at most 2 ms to the median latency. Flat out, both paths are saturated
and their medians are queueing (connections / throughput, Little's law), so
the latency target is judged on 64 connections each pausing ``PAUSE_MS``
between requests (the same offered load on both paths, below either's
capacity); a one-connection pair is printed too, for what one request pays."""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from pathlib import Path

import aiohttp
import orjson

from services.accounts.registration import register
from shared import identity
from shared.identity import SERVICE, Principal
from shared.passwords import hash_password_async
from shared.postgres import create_pool
from shared.settings import Settings
from tests.bench.harness import LoadResult, bench_settings, verdict, wrk
from tests.support.system import RunningSystem, with_free_ports

CONNECTIONS = 64
WARMUP_SECONDS = 2
SECONDS = 8  # well inside the 30 s a signature stays valid (signed again per run)
DIRECT_RATE_GUESS = 15_000.0  # requests/s, until a run has measured it
ROUNDS = 2
IDLE_SECONDS = 3
PAUSE_MS = 100  # 64 connections x 10 per second: about 640 req/s offered
TARGET_RATIO = 0.5
TARGET_ADDED_MS = 2.0
PATH = "/api/account"


async def _admin_key(settings: Settings) -> str:
    pool = await create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            made = await register(
                conn,
                username="benchadmin",
                email="benchadmin@example.com",
                password_hash=await hash_password_async(secrets.token_urlsafe(12)),
                role="admin",
            )
    finally:
        await pool.close()
    return made.key.key


async def _call(
    http: aiohttp.ClientSession, method: str, url: str, key: str, body: object
) -> dict[str, object]:
    async with http.request(
        method, url, data=orjson.dumps(body), headers={"Authorization": f"Bearer {key}"}
    ) as resp:
        data = orjson.loads(await resp.read())
        if resp.status != 200:
            raise RuntimeError(f"{method} {url}: {resp.status} {data}")
        assert isinstance(data, dict)
        return data


async def _bench_user(system: RunningSystem) -> tuple[str, Principal]:
    """A user on a plan whose bucket never empties during the run, and the
    principal the gateway signs their requests with."""
    api = system.gateway_url + "/api"
    admin = await _admin_key(system.settings)
    async with aiohttp.ClientSession() as http:
        plan = await _call(
            http,
            "POST",
            f"{api}/plan/add",
            admin,
            {"name": "Bench", "free": True, "rate": {"capacity": 1_000_000, "window": 1}},
        )
        user = await _call(
            http,
            "POST",
            f"{api}/user/add",
            admin,
            {
                "username": "benchuser",
                "email": "benchuser@example.com",
                "password": "bench-pass",
                "planid": plan["id"],
            },
        )
        key = str(user["data"]["apikey"])  # type: ignore[index]
        body = orjson.dumps({"key_hash": hashlib.sha256(key.encode()).hexdigest()})
        headers = identity.signed_headers(
            SERVICE, system.settings.internal_secret, "POST", "/internal/principal", body
        )
        async with http.post(
            system.settings.accounts_url + "/internal/principal", data=body, headers=headers
        ) as resp:
            found = orjson.loads(await resp.read())
    principal = Principal(
        user_id=found["user_id"],
        role=found["role"],
        username=found["username"],
        plan_id=found["plan_id"],
        limits=found["limits"],
        request_id="bench",
    )
    return key, principal


async def _direct(
    system: RunningSystem,
    principal: Principal,
    seconds: float,
    connections: int = CONNECTIONS,
    pause_ms: int = 0,
    rate: float = DIRECT_RATE_GUESS,
) -> LoadResult:
    # A service accepts each signed header once (its nonce): sign one per request
    # wrk may send, now (a header is good for 30 s), more than the expected rate.
    # Running out shows as errors (403s) in the row.
    count = int(rate * seconds * 1.5) + 1000
    secret = system.settings.internal_secret
    signatures = [identity.sign(principal, secret, "GET", PATH) for _ in range(count)]
    return await wrk(
        f"{system.settings.accounts_url}{PATH}",
        connections=connections,
        threads=min(2, connections),
        duration=seconds,
        each_request=(identity.HEADER, signatures),
        pause_ms=pause_ms,
    )


async def _through_gateway(
    system: RunningSystem,
    key: str,
    seconds: float,
    connections: int = CONNECTIONS,
    pause_ms: int = 0,
) -> LoadResult:
    return await wrk(
        f"{system.gateway_url}{PATH}",
        connections=connections,
        threads=min(2, connections),
        duration=seconds,
        headers=[f"Authorization: Bearer {key}"],
        pause_ms=pause_ms,
    )


def _combined(runs: list[LoadResult]) -> LoadResult:
    """Interleaved runs of one path, as one: rates and latencies averaged."""
    n = len(runs)
    return LoadResult(
        sum(r.requests_per_second for r in runs) / n,
        sum(r.p50_ms for r in runs) / n,
        sum(r.p99_ms for r in runs) / n,
        sum(r.requests for r in runs),
        sum(r.errors for r in runs),
    )


async def main() -> None:
    async with bench_settings() as base:
        settings = with_free_ports(base)
        logs = tempfile.TemporaryDirectory(prefix="bench-gateway-")
        system = RunningSystem(settings, names=("accounts", "gateway"), log_dir=Path(logs.name))
        await system.start()
        try:
            key, principal = await _bench_user(system)
            warm = await _direct(system, principal, WARMUP_SECONDS)
            rate = max(1000.0, warm.requests_per_second)
            await _through_gateway(system, key, WARMUP_SECONDS)
            # Interleaved, so that a change in the machine's load hits both paths alike.
            directs, gateways = [], []
            for _ in range(ROUNDS):
                directs.append(await _direct(system, principal, SECONDS, rate=rate))
                rate = max(rate, directs[-1].requests_per_second)
                gateways.append(await _through_gateway(system, key, SECONDS))
            paced_direct = await _direct(
                system, principal, SECONDS, pause_ms=PAUSE_MS, rate=CONNECTIONS * 1000 / PAUSE_MS
            )
            paced_gateway = await _through_gateway(system, key, SECONDS, pause_ms=PAUSE_MS)
            idle_direct = await _direct(system, principal, IDLE_SECONDS, connections=1, rate=rate)
            idle_gateway = await _through_gateway(system, key, IDLE_SECONDS, connections=1)
        finally:
            await system.stop()
            logs.cleanup()
    direct, gateway = _combined(directs), _combined(gateways)
    ratio = gateway.requests_per_second / direct.requests_per_second
    added = paced_gateway.p50_ms - paced_direct.p50_ms
    print(
        f"GET {PATH}, {CONNECTIONS} connections, {ROUNDS} x {SECONDS:.0f} s each, interleaved (wrk)"
    )
    print(direct.row("accounts, direct (signed)"))
    print(gateway.row("through the gateway"))
    print(f"p99 added by the gateway: {gateway.p99_ms - direct.p99_ms:+.2f} ms")
    print(f"paced: {CONNECTIONS} connections, each pausing {PAUSE_MS} ms between requests")
    print(paced_direct.row("  accounts, direct (signed)"))
    print(paced_gateway.row("  through the gateway"))
    print("one connection (no queueing): what one request pays for the extra hop")
    print(idle_direct.row("  accounts, direct (signed)"))
    print(idle_gateway.row("  through the gateway"))
    print(
        verdict(
            "throughput ratio",
            ratio >= TARGET_RATIO,
            f"{ratio:.2f} of direct (target >= {TARGET_RATIO})",
        )
    )
    print(
        verdict(
            "added median latency",
            added <= TARGET_ADDED_MS,
            f"{added:+.2f} ms paced at {CONNECTIONS} connections, "
            f"{idle_gateway.p50_ms - idle_direct.p50_ms:+.2f} ms at one, "
            f"{gateway.p50_ms - direct.p50_ms:+.2f} ms flat out "
            f"(target <= {TARGET_ADDED_MS} ms)",
        )
    )
    if direct.errors or gateway.errors:
        print(f"errors: direct {direct.errors}, gateway {gateway.errors}")
