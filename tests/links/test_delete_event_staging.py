"""A deleted link's ``link.deleted`` is staged in the same transaction as the
delete, so a process that dies right after the commit still has the event in
its outbox (analytics then drops the link's clicks).

What the code does after the commit (publishing snapshots, and a fallback that
stages events a handler forgot) cannot prove that: the test database gets a
deferred constraint trigger that checks, at the moment the delete commits, that
the transaction itself staged the event; a delete that left it to after the
commit fails there, as a crash at that point would lose the event."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.identity import Principal
from tests.links.conftest import LinksApi
from tests.support import principals


@pytest.fixture
async def owner(pg_pool: asyncpg.Pool) -> AsyncIterator[Principal]:
    """A user whose link deletes must stage their event before they commit."""
    who = principals.user()
    tag = secrets.token_hex(4)
    function, trigger = f"links.test_staged_{tag}", f"test_staged_{tag}"
    await pg_pool.execute(
        f"""
        CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.owner_id = {who.user_id} AND NOT EXISTS (
                SELECT 1 FROM links.outbox
                WHERE type = 'link.deleted'
                  AND (event -> 'payload' ->> 'link_id')::bigint = OLD.id
            ) THEN
                RAISE EXCEPTION 'link.deleted of link % was not staged with its delete', OLD.id;
            END IF;
            RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER {trigger} AFTER DELETE ON links.links
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {function}();
        """
    )
    try:
        yield who
    finally:
        await pg_pool.execute(f"DROP TRIGGER {trigger} ON links.links; DROP FUNCTION {function}();")


async def test_a_link_delete_commits_with_its_event_staged(
    links: LinksApi, owner: Principal, pg_pool: asyncpg.Pool
) -> None:
    link_id = (await links.add(owner, url="https://example.com/doomed"))["id"]
    status, body = await links.call("DELETE", f"/api/url/{link_id}/delete", owner)
    assert (status, body["error"]) == (200, 0), body
    assert await pg_pool.fetchval("SELECT count(*) FROM links.links WHERE id = $1", link_id) == 0


async def test_the_check_refuses_a_delete_without_its_event(
    owner: Principal, pg_pool: asyncpg.Pool
) -> None:
    """The trigger itself: a delete that stages nothing cannot commit."""
    row_id = await pg_pool.fetchval(
        "INSERT INTO links.links (owner_id, alias, updated_at, long_url)"
        " VALUES ($1, $2, now(), 'https://example.com/x') RETURNING id",
        owner.user_id,
        "st" + secrets.token_hex(5),
    )
    with pytest.raises(asyncpg.RaiseError, match="was not staged"):
        await pg_pool.execute("DELETE FROM links.links WHERE id = $1", row_id)
    assert await pg_pool.fetchval("SELECT count(*) FROM links.links WHERE id = $1", row_id) == 1
    await pg_pool.execute(
        "INSERT INTO links.outbox (type, event) VALUES ('link.deleted', $1::jsonb)",
        {"payload": {"link_id": row_id}},
    )
    await pg_pool.execute("DELETE FROM links.links WHERE id = $1", row_id)
    await pg_pool.execute(
        "DELETE FROM links.outbox WHERE (event -> 'payload' ->> 'link_id')::bigint = $1", row_id
    )
