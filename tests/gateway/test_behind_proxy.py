"""Behind the proxy the deployments put in front (TRUSTED_PROXY_HOPS), failed
API keys lock out the client sending them, not everyone sharing the proxy."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from shared.settings import Settings
from tests.gateway.conftest import StartGateway, body_of, unique_ip
from tests.gateway.standin import StandIn
from tests.support.deployed import DEPLOYMENTS, deployed_env


def through_proxy(client_ip: str, *claimed: str) -> CIMultiDict[str]:
    """What the proxy sends: whatever the client claimed, then the address it saw."""
    return CIMultiDict({"X-Forwarded-For": ", ".join([*claimed, client_ip])})


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
async def test_bad_keys_lock_out_only_their_client(
    start_gateway: StartGateway, accounts: StandIn, deployment: str
) -> None:
    hops = Settings.from_env(deployed_env(deployment, "gateway")).trusted_proxy_hops
    gateway = await start_gateway(trusted_proxy_hops=hops, auth_failure_limit=20)
    attacker, neighbour = unique_ip(), unique_ip()
    statuses = []
    for attempt in range(22):  # each test client's peer is 127.0.0.1: the proxy
        headers = through_proxy(attacker, unique_ip())  # claims change; the address does not
        resp = await gateway.get("/api/account", f"bad-key-{attempt}", headers=headers)
        statuses.append(resp.status)
    assert statuses == [401] * 20 + [429] * 2

    # A neighbour behind the same proxy, with a key nobody has used yet: let through.
    key, uid = accounts.issue()
    resp = await gateway.get("/api/account", key, headers=through_proxy(neighbour))
    assert resp.status == 200
    assert (await body_of(resp))["uid"] == uid
    # The attacker stays locked out, whatever it claims to be.
    other, _ = accounts.issue()
    resp = await gateway.get("/api/account", other, headers=through_proxy(attacker, neighbour))
    assert resp.status == 429


async def test_a_proxy_adding_its_own_header_line_is_read_too(
    start_gateway: StartGateway, accounts: StandIn
) -> None:
    gateway = await start_gateway(trusted_proxy_hops=1, auth_failure_limit=2)
    attacker = unique_ip()
    statuses = []
    for attempt in range(4):
        # the client's made-up line first, then the one the proxy added
        headers = CIMultiDict(
            [
                ("Authorization", f"Bearer bad-{attempt}"),
                ("X-Forwarded-For", unique_ip()),
                ("X-Forwarded-For", attacker),
            ]
        )
        resp = await gateway.client.get("/api/account", headers=headers)
        statuses.append(resp.status)
    assert statuses == [401, 401, 429, 429]
