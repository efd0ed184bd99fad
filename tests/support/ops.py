"""The ops endpoints (``/health``, ``/ready``, ``/metrics``) of an app under test that
serves them on its ops port (shared/ops_port.py), without binding that port."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from shared.ops_port import create_ops_app


async def ops_get(client: TestClient[web.Request, web.Application], path: str) -> tuple[int, str]:
    """``GET path`` on the ops endpoints of ``client``'s (started) app: status and text."""
    ops = TestClient(TestServer(create_ops_app(client.app)))
    await ops.start_server()
    try:
        resp = await ops.get(path)
        return resp.status, await resp.text()
    finally:
        await ops.close()


async def metrics_text(client: TestClient[web.Request, web.Application]) -> str:
    status, text = await ops_get(client, "/metrics")
    assert status == 200, text
    return text
