"""The real processes for the bio and country suites: behind one trusted proxy (the
test is that proxy: its ``X-Forwarded-For`` is the visitor's address), with no
trusted country header and no GeoIP database, as a fresh install runs."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.settings import Settings
from tests.support.system import RunningSystem, with_free_ports


@pytest.fixture
async def fresh_system(settings: Settings, tmp_path: Path) -> AsyncIterator[RunningSystem]:
    own = settings.with_overrides(
        redis_prefix=f"{settings.redis_prefix}bio{secrets.token_hex(3)}:",
        trusted_country_header=None,
        geoip_db=None,
        trusted_proxy_hops=1,
        click_flush_interval=0.05,
    )
    running = RunningSystem(with_free_ports(own), log_dir=tmp_path)
    try:
        await running.start()
        yield running
    finally:
        await running.stop()
