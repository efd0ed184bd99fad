"""The ``shortener`` command line (also ``python -m cli``).

Imports from other shorteners, and operator commands. Local by default (on a
machine that runs the platform, reading the same environment as every
process); ``--api URL --key KEY`` does the same against a remote instance
through its public API. See README, "Moving from another shortener"."""

from __future__ import annotations

import asyncio
import csv
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import click
import orjson
from rich.console import Console
from rich.table import Table

from cli import sources
from cli.importer import Sink, Summary, run_import
from cli.sources import SourceError, SourceLink
from cli.targets import Api, CliError, api_root, local
from shared import amqp
from shared.settings import Settings

T = TypeVar("T")
# Below the API's default body limit (MAX_BODY_BYTES, 1 MiB) with room to spare.
MAX_REMOTE_BODY = 900_000
console = Console()
err_console = Console(stderr=True)

# The durable queues of the platform and their dead-letter queues, shown by `queues`.
QUEUES = tuple(
    queue
    for spec in amqp.QUEUES.values()
    for queue in (spec.name, *([spec.name + ".dead"] if spec.dead_letters else []))
)


@dataclass(frozen=True)
class Target:
    api: str | None
    key: str | None
    quiet: bool

    @property
    def remote(self) -> bool:
        return self.api is not None


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except (CliError, SourceError, json.JSONDecodeError, UnicodeDecodeError, csv.Error) as exc:
        # An unreadable file or a refusing server: say what, without a traceback.
        err_console.print(f"[red]error:[/red] {exc}")
        raise SystemExit(1) from exc


@asynccontextmanager
async def api_for(target: Target) -> AsyncIterator[Api]:
    """An API client: remote with the key, or local signed as the first admin."""
    settings = Settings.from_env()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        if target.remote:
            assert target.api is not None
            yield Api(session, settings, base=api_root(target.api), key=target.key)
        else:
            async with local(settings) as here:
                yield Api(session, settings, operator=await here.operator())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--api", envvar="SHORTENER_API", help="A remote instance's API, e.g. https://sho.rt/api."
)
@click.option("--key", envvar="SHORTENER_KEY", help="The API key to use with --api.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.pass_context
def main(ctx: click.Context, api: str | None, key: str | None, quiet: bool) -> None:
    """Operate a shortener platform and move links in and out of it."""
    if api and not key:
        raise click.UsageError("--api needs --key (or SHORTENER_KEY).")
    ctx.obj = Target(api, key, quiet)


# --- import ---------------------------------------------------------------------


@main.group("import")
def import_group() -> None:
    """Import links from a file or another shortener (re-runs create nothing twice)."""


def _common(func: Callable[..., None]) -> Callable[..., None]:
    func = click.option(
        "--user", help="Local mode: the user who gets the links (remote: the key's user)."
    )(func)
    func = click.option(
        "--failures",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Where failed links and reasons go (default: import-failures-<source>.csv).",
    )(func)
    return click.option(
        "--rename-taken", is_flag=True, help="Create links whose alias is taken with a new alias."
    )(func)


def _count_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return max(0, sum(1 for _ in handle) - 1)


async def _import(
    target: Target,
    name: str,
    links: Callable[[aiohttp.ClientSession], Iterable[SourceLink] | AsyncIterator[SourceLink]],
    *,
    user: str | None,
    failures: Path | None,
    rename_taken: bool,
    total: int | None,
) -> Summary:
    settings = Settings.from_env()
    failures_path = failures or Path(f"import-failures-{name}.csv")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:
        sink: Sink
        if target.remote:
            assert target.api is not None
            api = Api(session, settings, base=api_root(target.api), key=target.key)

            async def remote_sink(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
                # A batch of long URLs can outgrow the API's body limit: halve it.
                if len(items) > 1 and len(orjson.dumps(items)) > MAX_REMOTE_BODY:
                    half = len(items) // 2
                    return await remote_sink(items[:half]) + await remote_sink(items[half:])
                answer = await api.ok("POST", "/api/urls/bulk", {"urls": items})
                results: list[dict[str, Any]] = answer["results"]
                return results

            sink = remote_sink
            summary = await _run(links(session), sink, failures_path, total, rename_taken, target)
        else:
            if not user:
                raise CliError("local imports need --user USERNAME (who gets the links)")
            async with local(settings) as here:
                who = await here.user(user)

                async def local_sink(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
                    return await here.bulk(who, items)

                summary = await _run(
                    links(session), local_sink, failures_path, total, rename_taken, target
                )
    _print_summary(name, summary, failures_path, target)
    return summary


async def _run(
    links: Iterable[SourceLink] | AsyncIterator[SourceLink],
    sink: Sink,
    failures_path: Path,
    total: int | None,
    rename_taken: bool,
    target: Target,
) -> Summary:
    return await run_import(
        links,
        sink,
        failures_path=failures_path,
        total=total,
        rename_taken=rename_taken,
        show_progress=not target.quiet,
    )


def _print_summary(name: str, summary: Summary, failures_path: Path, target: Target) -> None:
    table = Table(title=f"Import from {name}")
    for column in ("created", "skipped (imported before)", "failed", "alias collisions"):
        table.add_column(column, justify="right")
    table.add_row(
        str(summary.created),
        str(summary.skipped),
        str(summary.failed),
        f"{summary.collisions} ({summary.renamed} renamed)",
    )
    console.print(table)
    for reason, count in sorted(summary.reasons.items(), key=lambda r: -r[1])[:10]:
        console.print(f"  {count} × {reason}")
    console.print(f"Failures and renames with their reasons: {failures_path}")
    console.print_json(json.dumps({"summary": summary.as_dict()}))


def _file_or_api(path: Path | None, source_url: str | None, secret: str | None, what: str) -> None:
    if (path is None) == (source_url is None):
        raise click.UsageError(f"give either an export FILE or --from URL of the {what} instance")
    if source_url is not None and not secret:
        raise click.UsageError(f"--from needs the {what} API key (--source-key)")


@import_group.command("csv")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_common
@click.pass_obj
def import_csv(
    target: Target, file: Path, user: str | None, failures: Path | None, rename_taken: bool
) -> None:
    """A CSV with url (required), alias, title, tags, created."""
    run(
        _import(target, "csv", lambda _: sources.csv_links(file), user=user,
                failures=failures, rename_taken=rename_taken, total=_count_rows(file))
    )  # fmt: skip


@import_group.command("bitly")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_common
@click.pass_obj
def import_bitly(
    target: Target, file: Path, user: str | None, failures: Path | None, rename_taken: bool
) -> None:
    """Bitly's CSV export of links (long_url, link, title, created_at, tags)."""
    run(
        _import(target, "bitly", lambda _: sources.bitly_links(file), user=user,
                failures=failures, rename_taken=rename_taken, total=_count_rows(file))
    )  # fmt: skip


def _file_or_api_importer(
    name: str,
    label: str,
    doc: str,
    read_file: Callable[[Path], Iterable[SourceLink]],
    read_api: Callable[[aiohttp.ClientSession, str, str], AsyncIterator[SourceLink]],
    *,
    key_help: str,
    file_has_header_row: bool,
) -> None:
    """``import <name> [FILE] [--from URL --source-key KEY]``: a tool whose links come
    from an export file or from its own API."""

    @import_group.command(name, help=doc)
    @click.argument("file", required=False, type=click.Path(exists=True, path_type=Path))
    @click.option("--from", "source_url", help=f"A {label} instance's base URL (its API).")
    @click.option("--source-key", help=key_help)
    @_common
    @click.pass_obj
    def command(
        target: Target,
        file: Path | None,
        source_url: str | None,
        source_key: str | None,
        user: str | None,
        failures: Path | None,
        rename_taken: bool,
    ) -> None:
        _file_or_api(file, source_url, source_key, label)

        def links(session: aiohttp.ClientSession) -> Any:
            if file is not None:
                return read_file(file)
            return read_api(session, source_url or "", source_key or "")

        total = _count_rows(file) if file is not None and file_has_header_row else None
        run(_import(target, name, links, user=user, failures=failures,
                    rename_taken=rename_taken, total=total))  # fmt: skip


_file_or_api_importer(
    "shlink",
    "Shlink",
    "Shlink: its CSV (Long URL, Short code, Domain, Title, Tags) or its REST API.",
    sources.shlink_csv_links,
    sources.shlink_api_links,
    key_help="That instance's API key.",
    file_has_header_row=True,
)
_file_or_api_importer(
    "kutt",
    "Kutt",
    "Kutt: a saved answer of its links API (JSON), or the API itself (v2).",
    sources.kutt_file_links,
    sources.kutt_api_links,
    key_help="That instance's API key.",
    file_has_header_row=False,
)
_file_or_api_importer(
    "yourls",
    "YOURLS",
    "YOURLS: a MySQL dump of its yourls_url table, or its API.",
    sources.yourls_dump_links,
    sources.yourls_api_links,
    key_help="That instance's API signature token.",
    file_has_header_row=False,
)


# --- operators --------------------------------------------------------------------


def _with_api(target: Target, work: Callable[[Api], Awaitable[T]]) -> T:
    async def go() -> T:
        async with api_for(target) as api:
            return await work(api)

    return run(go())


@main.group()
def user() -> None:
    """Users: create, reset a password, revoke keys."""


@user.command("create")
@click.argument("username")
@click.argument("email")
@click.option("--password", help="Default: a random one, printed once.")
@click.option("--plan", "plan_id", type=int, help="Plan id (default: the free plan).")
@click.pass_obj
def user_create(
    target: Target, username: str, email: str, password: str | None, plan_id: int | None
) -> None:
    """Create a user; their API key is printed once."""
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    body: dict[str, Any] = {"username": username, "email": email, "password": password}
    if plan_id is not None:
        body["planid"] = plan_id
    data = _with_api(target, lambda api: api.ok("POST", "/api/user/add", body))["data"]
    console.print(f"User [bold]{data['username']}[/bold] (id {data['id']}) created.")
    console.print(f"API key (shown this once): [bold]{data['apikey']}[/bold]")
    if generated:
        console.print(f"Password (shown this once): [bold]{password}[/bold]")


@user.command("reset-password")
@click.argument("user_id", type=int)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.pass_obj
def user_reset_password(target: Target, user_id: int, password: str) -> None:
    """Set a user's password (their signed-in sessions end)."""
    path = f"/api/user/{user_id}/password"
    answer = _with_api(target, lambda api: api.ok("PUT", path, {"password": password}))
    console.print(answer["message"])


@user.command("revoke-keys")
@click.argument("user_id", type=int)
@click.pass_obj
def user_revoke_keys(target: Target, user_id: int) -> None:
    """Revoke every API key of a user, at once."""
    answer = _with_api(target, lambda api: api.ok("POST", f"/api/user/{user_id}/apikey/revoke"))
    console.print(f"{answer['revoked']} key(s) revoked.")


@main.group()
def plan() -> None:
    """Plans: list, create, edit."""


@plan.command("list")
@click.pass_obj
def plan_list(target: Target) -> None:
    answer = _with_api(target, lambda api: api.ok("GET", "/api/plans"))
    table = Table("id", "name", "free", "links", "clicks", "retention")
    for item in answer["data"]:
        limits = item.get("limits") or {}
        table.add_row(
            str(item["id"]),
            str(item["name"]),
            str(item.get("free")),
            str(limits.get("links")),
            str(limits.get("clicks")),
            str(limits.get("retention")),
        )
    console.print(table)


def _json_arg(value: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(value[1:]).read_text() if value.startswith("@") else value)
    except (OSError, json.JSONDecodeError) as exc:
        raise click.BadParameter(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise click.BadParameter("must be a JSON object")
    return data


@plan.command("create")
@click.argument("data")
@click.pass_obj
def plan_create(target: Target, data: str) -> None:
    """DATA: the plan as JSON (or @file.json), the body of /api/plan/add."""
    answer = _with_api(target, lambda api: api.ok("POST", "/api/plan/add", _json_arg(data)))
    console.print(f"Plan {answer.get('id', '')} created.")


@plan.command("edit")
@click.argument("plan_id", type=int)
@click.argument("data")
@click.pass_obj
def plan_edit(target: Target, plan_id: int, data: str) -> None:
    """DATA: the fields to change as JSON (or @file.json)."""
    path = f"/api/plan/{plan_id}/update"
    answer = _with_api(target, lambda api: api.ok("PUT", path, _json_arg(data)))
    console.print(answer.get("message", "Plan updated."))


@main.command()
@click.pass_obj
def queues(target: Target) -> None:
    """Queue depths (RabbitMQ) and how far behind the click counts are."""
    data = _with_api(target, lambda api: api.ok("GET", "/api/system/queues"))["data"]
    table = Table("queue", "messages ready", "consumers")
    for queue in data["queues"]:
        absent = queue["messages"] is None
        table.add_row(
            queue["name"],
            "absent" if absent else str(queue["messages"]),
            "-" if absent else str(queue["consumers"]),
        )
    console.print(table)
    lag = data["workerLag"]
    console.print("analytics worker lag: " + (f"{lag:.2f} s" if lag is not None else "unknown"))


@main.group()
def secret() -> None:
    """The internal secret every process signs with."""


@secret.command("rotate")
def secret_rotate() -> None:
    """Print a new INTERNAL_SECRET and the procedure to switch to it."""
    console.print(f"New secret: [bold]{secrets.token_urlsafe(32)}[/bold]\n")
    console.print(ROTATION_STEPS)


ROTATION_STEPS = """Procedure (README, "Rotating the internal secret"):
 1. Store the new value where the deployment keeps INTERNAL_SECRET (the env file,
    INTERNAL_SECRET of the Kubernetes Secret "shortener-secrets").
 2. Restart every process together: gateway, accounts, links, analytics, worker, edge
    (`kubectl -n shortener rollout restart deploy`, or stop and start `make run`).
    While old and new processes overlap, calls between them are refused (401) and
    the gateway answers 502/503 for those requests: do it in a quiet minute.
 3. Check: `curl $API/account -H "Authorization: Bearer $KEY"` answers 200, and
    `shortener queues` shows the worker consuming.
 API keys, passwords and short links do not change."""
