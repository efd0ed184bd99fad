"""The command line against a running platform through its public API
(``--api URL --key KEY``): an import through the bulk endpoint, re-run
idempotently, the export streamed back through the gateway, and operator
commands with an admin key."""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from shared.settings import Settings
from tests.support.api_calls import call
from tests.support.cli_runner import FIXTURES, run_cli
from tests.support.namespace import private_namespace
from tests.support.system import RunningSystem

pytestmark = pytest.mark.e2e


@pytest.fixture
async def e2e_settings(settings: Settings) -> AsyncIterator[Settings]:
    # A database of its own: the fixture exports' aliases are fixed, and other
    # suites import the same files into the run's database (taken aliases there).
    async with private_namespace(settings, "cliremote") as own:
        yield own


async def test_remote_import_export_and_operators(
    system: RunningSystem, admin_key: str, tmp_path: Path
) -> None:
    api = system.gateway_url + "/api"
    remote = ("--quiet", "--api", api, "--key", admin_key)
    settings = system.settings

    first = await run_cli(settings, *remote, "import", "bitly", str(FIXTURES / "bitly.csv"),
                          "--failures", "/dev/null")  # fmt: skip
    assert first.code == 0, first.err
    assert first.summary["created"] == 3
    again = await run_cli(settings, *remote, "import", "bitly", str(FIXTURES / "bitly.csv"),
                          "--failures", "/dev/null")  # fmt: skip
    assert (again.summary["created"], again.summary["skipped"]) == (0, 3)

    # 600 long URLs are more than the API takes in one body: sent in smaller requests.
    long_file = tmp_path / "long.csv"
    long_file.write_text(
        "url,tags\n" + "".join(f"https://example.com/{i}/{'x' * 1900},long\n" for i in range(600))
    )
    long = await run_cli(settings, *remote, "import", "csv", str(long_file),
                         "--failures", "/dev/null")  # fmt: skip
    assert long.code == 0, long.err
    assert long.summary["created"] == 600

    async with aiohttp.ClientSession() as http:
        status, body, _ = await call(http, "GET", f"{api}/tags", admin_key)
        assert {"name": "long", "links": 600} in body["data"]["tags"]
        status, body, _ = await call(http, "GET", f"{api}/urls?tag=products", admin_key)
        assert status == 200, body
        assert [u["alias"] for u in body["data"]["urls"]] == ["3xYzAbc"]
        async with http.get(
            f"{api}/urls/export", headers={"Authorization": f"Bearer {admin_key}"}
        ) as resp:
            assert resp.status == 200
            exported = list(csv.DictReader(io.StringIO(await resp.text())))
        assert {"3xYzAbc", "spring-23", "4Qw8eRt"} <= {row["alias"] for row in exported}

        name = f"cli{secrets.token_hex(4)}"
        made = await run_cli(settings, *remote, "user", "create", name, f"{name}@example.com")
        assert made.code == 0, made.err
        match = re.search(r"API key \(shown this once\): (\S+)", made.out)
        user_id = re.search(r"\(id (\d+)\)", made.out)
        assert match
        assert user_id
        key = match.group(1)
        status, _, _ = await call(http, "GET", f"{api}/account", key)
        assert status == 200

        revoked = await run_cli(settings, *remote, "user", "revoke-keys", user_id.group(1))
        assert revoked.code == 0, revoked.err
        assert "1 key(s) revoked." in revoked.out
        status, _, _ = await call(http, "GET", f"{api}/account", key)
        assert status == 401

    remote_queues = await run_cli(settings, *remote, "queues")
    assert remote_queues.code == 0, remote_queues.err
    assert "analytics.clicks" in remote_queues.out
    assert "analytics worker lag: " in remote_queues.out

    plans = await run_cli(settings, *remote, "plan", "list")
    assert plans.code == 0, plans.err
    assert "links" in plans.out


async def test_local_operator_commands(system: RunningSystem, admin_key: str) -> None:
    """Without --api: signed with the internal secret, on the machine that runs it."""
    api = system.gateway_url + "/api"
    settings = system.settings
    name = f"op{secrets.token_hex(4)}"
    made = await run_cli(settings, "user", "create", name, f"{name}@example.com",
                         "--password", "first-pass")  # fmt: skip
    assert made.code == 0, made.err
    assert "Password (shown this once)" not in made.out  # it was given, not generated
    key_match = re.search(r"API key \(shown this once\): (\S+)", made.out)
    id_match = re.search(r"\(id (\d+)\)", made.out)
    assert key_match
    assert id_match
    user_id = id_match.group(1)

    reset = await run_cli(settings, "user", "reset-password", user_id, "--password", "second-pass")
    assert reset.code == 0, reset.err
    assert "The password has been changed." in reset.out

    async with aiohttp.ClientSession() as http:
        status, _, _ = await call(http, "GET", f"{api}/account", key_match.group(1))
        assert status == 200
        revoked = await run_cli(settings, "user", "revoke-keys", user_id)
        assert "1 key(s) revoked." in revoked.out
        status, _, _ = await call(http, "GET", f"{api}/account", key_match.group(1))
        assert status == 401

    plan_name = f"Team {secrets.token_hex(3)}"
    created = await run_cli(settings, "plan", "create", f'{{"name": "{plan_name}", "free": false}}')
    assert created.code == 0, created.err
    plan_match = re.search(r"Plan (\d+) created\.", created.out)
    assert plan_match
    edited = await run_cli(
        settings, "plan", "edit", plan_match.group(1), '{"limits": {"links": 500}}'
    )
    assert edited.code == 0, edited.err
    listed = await run_cli(settings, "plan", "list")
    (row,) = [line for line in listed.out.splitlines() if plan_name in line]
    assert "500" in row.split()

    queues = await run_cli(settings, "queues")
    assert queues.code == 0, queues.err
    assert "analytics.clicks" in queues.out
    assert "analytics worker lag" in queues.out

    missing = await run_cli(settings, "user", "revoke-keys", "999999999")
    assert missing.code == 1
    assert "User not found." in missing.err
