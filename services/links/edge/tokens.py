"""The edge's signed values: the per-link password cookie and the CSRF tokens of
its forms, HMACs under a key derived from ``INTERNAL_SECRET``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Final

from services.links.edge.entries import LinkEntry

PASSWORD_COOKIE_SECONDS: Final = 24 * 3600
CSRF_COOKIE: Final = "edge_csrf"


def password_cookie_name(link_id: int) -> str:
    return f"edge_pw_{link_id}"


class Signer:
    def __init__(self, secret: str) -> None:
        # A key of its own, so an edge signature can never pass for an internal-identity one.
        self._key = hashlib.sha256(b"edge-signing-key\x00" + secret.encode()).digest()

    def _mac(self, message: str) -> str:
        digest = hmac.new(self._key, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    # -- password cookie ---------------------------------------------------------

    def password_cookie(self, entry: LinkEntry, now: float | None = None) -> str:
        """Proof that the visitor knew the link's current password, for a day. The
        password hash's fingerprint is signed in, so a new password voids it."""
        expires = int((now or time.time()) + PASSWORD_COOKIE_SECONDS)
        mac = self._mac(f"pw|{entry.id}|{entry.password_fingerprint}|{expires}")
        return f"{expires}.{mac}"

    def password_ok(self, entry: LinkEntry, cookies: Mapping[str, str]) -> bool:
        value = cookies.get(password_cookie_name(entry.id))
        if not value or not value.isascii():  # only ASCII is ours (and comparable)
            return False
        expires_text, _, mac = value.partition(".")
        if not expires_text.isdigit() or int(expires_text) < time.time():
            return False
        expected = self._mac(f"pw|{entry.id}|{entry.password_fingerprint}|{expires_text}")
        return hmac.compare_digest(expected, mac)

    # -- CSRF --------------------------------------------------------------------

    @staticmethod
    def new_csrf_nonce() -> str:
        return secrets.token_urlsafe(18)

    def csrf_token(self, nonce: str, link_id: int, purpose: str) -> str:
        """The hidden form value that goes with the visitor's ``edge_csrf`` cookie: a
        cross-site page can neither read that cookie nor compute this token."""
        return self._mac(f"csrf|{purpose}|{link_id}|{nonce}")

    def csrf_ok(self, nonce: str | None, link_id: int, purpose: str, token: str | None) -> bool:
        if not nonce or not token or len(nonce) > 64 or not (nonce + token).isascii():
            return False
        return hmac.compare_digest(self.csrf_token(nonce, link_id, purpose), token)
