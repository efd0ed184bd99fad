"""``python -m services.accounts.bootstrap``: on a database without users, create
the first admin and print its credentials once (``make run`` calls this after
the migrations). With users present it does nothing and exits 0."""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from dataclasses import dataclass
from typing import Final

import asyncpg
from yarl import URL

from services.accounts import queries
from services.accounts.notices import announce, plan_changed
from services.accounts.plan_limits import canonical
from services.accounts.registration import register
from shared.passwords import hash_password_async
from shared.postgres import create_pool
from shared.settings import Settings

log = logging.getLogger("services.accounts.bootstrap")

ADMIN_USERNAME: Final = "admin"
ADMIN_EMAIL: Final = "admin@localhost.localdomain"


@dataclass(frozen=True, slots=True)
class AdminCredentials:
    user_id: int
    username: str
    email: str
    password: str
    api_key: str


async def ensure_admin(settings: Settings) -> AdminCredentials | None:
    """Create the first admin if there is no user at all; ``None`` if there are users."""
    pool = await create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            # two replicas starting at once must not both create an admin
            await conn.execute(queries.LOCK_BOOTSTRAP)
            if await conn.fetchval(queries.COUNT_USERS):
                return None
            password = secrets.token_urlsafe(12)
            made = await register(
                conn,
                username=ADMIN_USERNAME,
                email=ADMIN_EMAIL,
                password_hash=await hash_password_async(password),
                role="admin",
            )
            user = made.user
            # published by the service's outbox relay once it runs
            await announce(
                conn,
                plan_changed(
                    user["effective_plan_id"],
                    user["id"],
                    canonical(user["limits"]),
                    role=user["role"],
                ),
            )
    finally:
        await pool.close()
    return AdminCredentials(
        user_id=user["id"],
        username=user["username"],
        email=user["email"],
        password=password,
        api_key=made.key.key,
    )


def credentials_text(creds: AdminCredentials, settings: Settings) -> str:
    gateway = f"http://localhost:{settings.gateway_port}"
    return "\n".join(
        (
            "",
            "=" * 72,
            "First start: an admin user was created. These are shown only once:",
            f"  username: {creds.username}",
            f"  email:    {creds.email}",
            f"  password: {creds.password}",
            f"  API key:  {creds.api_key}",
            "Try it:",
            f'  curl -H "Authorization: Bearer {creds.api_key}" {gateway}/api/account',
            "=" * 72,
            "",
        )
    )


def main() -> int:
    settings = Settings.from_env()
    logging.basicConfig(level=logging.WARNING, format="bootstrap: %(message)s")
    try:
        creds = asyncio.run(ensure_admin(settings))
    except (OSError, asyncpg.PostgresError) as exc:
        where = URL(settings.database_url).with_password(None)
        print(
            f"bootstrap: cannot use PostgreSQL at {where}: {exc}\n"
            "Start it (see DEVELOPERS.md) and apply the migrations: make migrate",
            file=sys.stderr,
        )
        return 1
    if creds is not None:
        print(credentials_text(creds, settings), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
