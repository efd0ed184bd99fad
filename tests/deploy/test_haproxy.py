"""deploy/haproxy.cfg is what deploy/haproxy.py renders (the configuration the
cluster tests run), and HAProxy itself accepts it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.haproxy import EXAMPLE, Layout, Server, example, render


def test_the_example_is_the_rendered_configuration() -> None:
    assert EXAMPLE.read_text() == example(), "run: python -m deploy.haproxy --write"


def test_only_refused_connections_are_retried_and_the_client_address_is_forwarded() -> None:
    text = example()
    assert "    retry-on conn-failure\n" in text  # never a request a replica already got
    assert "    option forwardfor\n" in text  # TRUSTED_PROXY_HOPS=1 behind it
    assert text.count("option httpchk GET /ready") == 2


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
@pytest.mark.parametrize(
    "text",
    [
        example(),
        render(
            Layout(
                api_bind="127.0.0.1:18000",
                visitors_bind="127.0.0.1:18080",
                gateways=[Server("gateway-1", "127.0.0.1:18001")],
                edges=[Server("edge-1", "127.0.0.1:18081")],
                maxconn=1000,
            )
        ),
    ],
)
def test_haproxy_accepts_the_configuration(text: str, tmp_path: Path) -> None:
    config = tmp_path / "haproxy.cfg"
    config.write_text(text)
    checked = subprocess.run(
        ["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
