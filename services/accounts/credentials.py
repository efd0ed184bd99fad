"""API keys, per-user API secrets and one-time tokens.

Keys and tokens carry 256 bits of randomness and are stored only as sha256
hex (a fast hash is enough for values that cannot be guessed); a short prefix
of each key is kept so that admins can tell keys apart."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from services.accounts import queries
from services.accounts.rows import Conn

TOKEN_BYTES: Final = 32
PREFIX_LENGTH: Final = 8


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewKey:
    key: str  # shown to its owner once, never stored
    key_hash: str
    prefix: str


def new_api_key() -> NewKey:
    key = secrets.token_urlsafe(TOKEN_BYTES)
    return NewKey(key=key, key_hash=sha256_hex(key), prefix=key[:PREFIX_LENGTH])


def new_api_secret() -> str:
    return secrets.token_hex(TOKEN_BYTES)


def new_token() -> tuple[str, str]:
    """A one-time token (SSO link, session cookie) and the hash that is stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, sha256_hex(token)


def contact_hash(key: str, secret: str) -> str:
    """The ``hash`` of the add-contact request: hex HMAC-SHA256 of the key under the secret."""
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def hash_matches(key: str, secret: str, given: str) -> bool:
    return hmac.compare_digest(contact_hash(key, secret), given.strip().lower())


async def issue_key(
    conn: Conn, user_id: int, expires_at: datetime | None = None
) -> tuple[NewKey, list[str]]:
    """Revoke the user's live key (if any) and store a new one; returns it and the revoked hashes.

    Call inside a transaction: the partial unique index on live keys makes a
    concurrent regeneration fail rather than leave two live keys."""
    revoked = [r["key_hash"] for r in await conn.fetch(queries.REVOKE_KEYS, user_id)]
    key = new_api_key()
    await conn.execute(queries.INSERT_KEY, user_id, key.key_hash, key.prefix, expires_at)
    return key, revoked
