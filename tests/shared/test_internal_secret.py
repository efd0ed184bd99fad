"""Outside DEV_MODE no process starts with a secret everyone can read: the
development default, the compose or Kubernetes placeholders, or a short one."""

from __future__ import annotations

import asyncio
import os
import sys

import aiohttp
import pytest
import yaml

from shared.settings import DEFAULT_INTERNAL_SECRET, Settings
from tests.support.deployed import OVERLAYS, ROOT, kubernetes_env
from tests.support.system import free_port, settings_env

COMPOSE_DEFAULT = "change-me-in-production"  # what docker-compose.yml used to fall back to


def placeholders() -> list[str]:
    """The development default, compose's old fallback, the Kubernetes base's and
    every overlay's placeholder, and a short random one."""
    k8s = {kubernetes_env("gateway", overlay)["INTERNAL_SECRET"] for overlay in (None, *OVERLAYS)}
    return [DEFAULT_INTERNAL_SECRET, COMPOSE_DEFAULT, *sorted(k8s), "short-but-random-7f3a"]


def environment(settings: Settings, secret: str, *, dev: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DEV_MODE", "INTERNAL_SECRET")}
    env.update(settings_env(settings), PYTHONPATH=str(ROOT), INTERNAL_SECRET=secret)
    env["DEV_MODE"] = "1" if dev else "0"
    return env


async def run_briefly(module: str, env: dict[str, str]) -> tuple[int | None, str]:
    """Start ``python -m module``; its exit code and output if it exits within 20 s."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=20)
        return proc.returncode, out.decode(errors="replace")
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None, ""


@pytest.mark.parametrize("module", ["gateway", "services.accounts", "services.analytics.worker"])
async def test_a_known_secret_is_refused_with_a_clear_message(
    settings: Settings, module: str
) -> None:
    for secret in placeholders():
        code, output = await run_briefly(module, environment(settings, secret, dev=False))
        assert code == 2, (module, secret, output)
        assert "Refusing to start" in output, output
        assert "INTERNAL_SECRET" in output
        assert "Traceback" not in output


def test_the_shipped_deployments_carry_no_usable_secret() -> None:
    assert Settings.from_env(kubernetes_env("gateway")).internal_secret_problem() is not None
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    # no default at all: compose itself refuses to start without one
    assert compose["x-app"]["environment"]["INTERNAL_SECRET"].startswith("${INTERNAL_SECRET:?")


async def test_dev_mode_allows_the_development_default(settings: Settings) -> None:
    port = free_port()
    run = settings.with_overrides(gateway_port=port)
    env = environment(run, DEFAULT_INTERNAL_SECRET, dev=True)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                assert proc.returncode is None
                try:
                    async with http.get(f"http://127.0.0.1:{port}/health") as resp:
                        assert resp.status == 200
                        return
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
        raise AssertionError("the gateway did not start in DEV_MODE")
    finally:
        proc.terminate()
        await proc.wait()
