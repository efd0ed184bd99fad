"""The edge faces the internet: /metrics only on its ops port (EDGE_OPS_PORT)."""

from __future__ import annotations

import aiohttp

from services.links.edge.app import create_app
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.edge.conftest import BROWSER, MakeLink
from tests.support.system import free_port


async def test_metrics_are_served_on_the_ops_port_only(
    serve_app: ServeApp, edge_settings: Settings, make_link: MakeLink
) -> None:
    port = free_port()
    edge = await serve_app(create_app, edge_settings.with_overrides(edge_ops_port=port))
    link = await make_link()
    resp = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert resp.status == 302
    public = await edge.get("/metrics")
    assert public.status == 404
    assert "edge_visits_total" not in await public.text()
    assert (await edge.get("/health")).status == 200  # probes stay on the public port
    assert (await edge.get("/ready")).status == 200
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            assert resp.status == 200
            assert 'edge_visits_total{outcome="redirect"} 1.0' in await resp.text()
        async with http.get(f"http://127.0.0.1:{port}/ready") as resp:
            assert resp.status == 200
        async with http.get(f"http://127.0.0.1:{port}{link.path}") as resp:
            assert resp.status == 404  # no visitor routes there
