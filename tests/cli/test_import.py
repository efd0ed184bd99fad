"""``shortener import ...`` against hand-made export files of each tool: what is
created, what is kept (aliases, titles, tags, dates), what fails and why, and
that a re-run creates nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from tests.cli.conftest import FIXTURES, MakeUser, Shortener, failure_rows, links_of
from tests.support.principals import STARTER_LIMITS

TAKEN = "That alias is taken. Please choose another one."


async def test_csv_import_keeps_aliases_reports_failures_and_reruns_idempotently(
    shortener: Shortener, make_user: MakeUser, pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    other, ana = await make_user("admin"), await make_user("admin")
    failures = tmp_path / "failures.csv"
    # Someone else already has the alias 'taken-one' on the default domain.
    taken = await shortener("--quiet", "import", "csv", str(FIXTURES / "links.csv"),
                            "--user", other.username, "--failures", str(failures))  # fmt: skip
    assert taken.code == 0, taken.err
    await pg_pool.execute(
        "DELETE FROM links.links WHERE owner_id = $1 AND alias <> 'taken-one'", other.id
    )

    args = ("--quiet", "import", "csv", str(FIXTURES / "links.csv"), "--user", ana.username,
            "--failures", str(failures))  # fmt: skip
    first = await shortener(*args)
    assert first.code == 0, first.err
    assert first.summary == {
        "created": 3, "skipped": 0, "failed": 3, "renamed": 0, "collisions": 1,
    }  # fmt: skip
    rows = await links_of(pg_pool, ana)
    assert [(r["alias"], r["long_url"]) for r in rows][:2] == [
        ("spring-sale", "https://shop.example.com/spring-sale?utm_source=news"),
        ("hello-world", "https://blog.example.org/posts/hello-world"),
    ]
    assert rows[0]["title"] == "Spring sale, 30% off"
    assert rows[0]["tags"] == ["spring", "email"]
    assert rows[0]["created_at"] == datetime(2022, 3, 1, 9, 30, tzinfo=UTC)
    assert rows[0]["import_source"] == "csv:spring-sale"
    assert rows[2]["long_url"] == "https://docs.example.net/guide"
    assert len(rows[2]["alias"]) == 7  # generated
    reasons = {row[2]: (row[3], row[4]) for row in failure_rows(failures)}
    assert reasons["taken-one"] == ("failed", TAKEN)
    assert reasons["bad-link"] == (
        "failed",
        "The field 'url' may not use the 'javascript:' scheme.",
    )
    assert reasons["api"][1] == "The alias 'api' is reserved. Please choose another one."

    again = await shortener(*args, "--rename-taken")
    assert again.code == 0, again.err
    assert again.summary == {
        "created": 1, "skipped": 3, "failed": 2, "renamed": 1, "collisions": 1,
    }  # fmt: skip
    rows = await links_of(pg_pool, ana)
    assert len(rows) == 4
    assert rows[3]["long_url"] == "https://example.com/taken-elsewhere"
    assert rows[3]["alias"] != "taken-one"
    renamed = [row for row in failure_rows(failures) if row[3] == "renamed"]
    assert renamed[0][2] == "taken-one"
    assert renamed[0][4].startswith("alias taken; now ")

    third = await shortener(*args, "--rename-taken")
    assert third.summary["created"] == 0
    assert third.summary["skipped"] == 4
    assert len(await links_of(pg_pool, ana)) == 4


@pytest.mark.parametrize(
    ("kind", "file", "expected"),
    [
        ("bitly", "bitly.csv", [
            ("3xYzAbc", "https://www.example.com/products/42", "Product 42", ["products"],
             "2021-03-04 10:00:00", "bitly:bit.ly/3xYzAbc"),
            ("spring-23", "https://www.example.com/spring", "Spring campaign", ["spring", "ads"],
             "2023-02-28 17:45:10", "bitly:bit.ly/spring-23"),
            ("4Qw8eRt", "https://news.example.com/a/very/long/article?id=7", None, [],
             "2024-07-01 00:00:00", "bitly:bit.ly/4Qw8eRt"),
        ]),
        ("shlink", "shlink.csv", [
            ("price-list", "https://www.example.com/pricing", "Pricing page", ["web", "sales"],
             None, "shlink:/price-list"),
            ("meetup24", "https://events.example.com/2024/meetup", "Meetup 2024", ["events"],
             None, "shlink:go.example.com/meetup24"),
            ("jobs-page", "https://www.example.com/jobs", None, [], None, "shlink:/jobs-page"),
        ]),
        ("kutt", "kutt.json", [
            ("start-here", "https://docs.example.com/start", "Getting started", [],
             "2022-05-10 12:00:00", "kutt:0b6cfd3c-6a1c-4f0e-9a53-3e0e2c7a1d01"),
            ("Xy7Pq", "https://www.example.com/a?b=c&d=e", None, [],
             "2023-01-02 03:04:05", "kutt:6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a02"),
        ]),
        ("yourls", "yourls.sql", [
            ("ozh", "https://ozh.example.org/", "Ozh's site; the author", [],
             "2019-04-01 10:20:30", "yourls:ozh"),
            ("abc12", "https://www.example.com/a,b;c",
             "A title with (parentheses), commas; and 'quotes'", [],
             "2020-02-29 23:59:59", "yourls:abc12"),
            ("news", "https://news.example.com/?q=1&r=2", None, [],
             "2021-07-14 00:00:00", "yourls:news"),
        ]),
    ],
)  # fmt: skip
async def test_each_tools_export_imports_and_reruns_create_nothing(
    shortener: Shortener,
    make_user: MakeUser,
    pg_pool: asyncpg.Pool,
    tmp_path: Path,
    kind: str,
    file: str,
    expected: list[tuple[str, str, str | None, list[str], str | None, str]],
) -> None:
    ana = await make_user("admin")
    failures = tmp_path / f"{kind}-failures.csv"
    args = ("--quiet", "import", kind, str(FIXTURES / file), "--user", ana.username,
            "--failures", str(failures))  # fmt: skip
    first = await shortener(*args)
    assert first.code == 0, first.err
    assert first.summary["created"] == len(expected)
    rows = await links_of(pg_pool, ana)
    got = [
        (r["alias"], r["long_url"], r["title"], r["tags"],
         r["created_at"].strftime("%Y-%m-%d %H:%M:%S") if exp[4] else None, r["import_source"])
        for r, exp in zip(rows, expected, strict=True)
    ]  # fmt: skip
    assert got == expected
    again = await shortener(*args)
    assert again.code == 0, again.err
    assert again.summary["created"] == 0
    assert again.summary["skipped"] == len(expected)
    assert len(await links_of(pg_pool, ana)) == len(expected)
    if kind == "kutt":  # its one-letter alias is not one of ours
        (row,) = failure_rows(failures)
        assert row[2] == "x"
        assert row[4].startswith("The field 'custom' must be 3 to 64 characters")


async def test_the_plans_quota_holds_for_imports(
    shortener: Shortener, make_user: MakeUser, pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    plan_id = await pg_pool.fetchval(
        "INSERT INTO accounts.plans (name, free, limits) VALUES ($1, false, $2) RETURNING id",
        f"Ten links {tmp_path.name}",
        STARTER_LIMITS,  # 10 links, no custom aliases
    )
    starter = await make_user(plan_id=plan_id)
    file = tmp_path / "many.csv"
    file.write_text("url\n" + "".join(f"https://example.com/{i}\n" for i in range(15)))
    ran = await shortener("--quiet", "import", "csv", str(file), "--user", starter.username,
                          "--failures", str(tmp_path / "f.csv"))  # fmt: skip
    assert ran.code == 0, ran.err
    assert (ran.summary["created"], ran.summary["failed"]) == (10, 5)
    assert len(await links_of(pg_pool, starter)) == 10
    reasons = {row[4] for row in failure_rows(tmp_path / "f.csv")}
    assert reasons == {"You have reached your plan's limit of 10 links (the 'links' limit)."}


async def test_usage_errors(shortener: Shortener, tmp_path: Path) -> None:
    no_user = await shortener("import", "csv", str(FIXTURES / "links.csv"))
    assert no_user.code == 1
    assert "local imports need --user" in no_user.err
    unknown = await shortener("import", "csv", str(FIXTURES / "links.csv"), "--user", "nobody-x")
    assert unknown.code == 1
    assert "no user named 'nobody-x'" in unknown.err
    both = await shortener("import", "kutt")
    assert both.code == 2
