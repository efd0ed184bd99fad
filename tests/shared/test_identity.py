"""The internal identity header: only the holder of the secret can vouch for a caller."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import orjson

from shared import identity
from shared.identity import Principal

SECRET = "s3cret"
ALICE = Principal(
    user_id=7,
    role="user",
    username="alice",
    plan_id=1,
    limits={"links": 10, "alias": {"enabled": "1"}, "splash": {"enabled": "1", "count": "5"}},
)


def test_round_trip() -> None:
    header = identity.sign(ALICE, SECRET, "GET", "/api/urls")
    found = identity.verify(header, SECRET, "GET", "/api/urls")
    assert found == ALICE


def test_wrong_secret_method_or_path_is_refused() -> None:
    header = identity.sign(ALICE, SECRET, "GET", "/api/urls")
    assert identity.verify(header, "other", "GET", "/api/urls") is None
    assert identity.verify(header, SECRET, "DELETE", "/api/urls") is None
    assert identity.verify(header, SECRET, "GET", "/api/users") is None


def test_tampered_payload_is_refused() -> None:
    header = identity.sign(ALICE, SECRET, "GET", "/x")
    payload, _, sig = header.rpartition(".")
    forged = identity.sign(Principal(user_id=1, role="admin"), "guess", "GET", "/x")
    assert identity.verify(forged.rpartition(".")[0] + "." + sig, SECRET, "GET", "/x") is None
    assert identity.verify(payload + ".", SECRET, "GET", "/x") is None
    assert identity.verify(None, SECRET, "GET", "/x") is None
    assert identity.verify("garbage", SECRET, "GET", "/x") is None


def test_stale_signature_is_refused() -> None:
    header = identity.sign(ALICE, SECRET, "GET", "/x", now=1_000_000)
    assert identity.verify(header, SECRET, "GET", "/x", now=1_000_025) == ALICE
    assert identity.verify(header, SECRET, "GET", "/x", now=1_000_000 + 60) is None


def test_the_query_and_the_body_are_signed() -> None:
    body = b'{"owner": 7, "link_ids": [1, 2]}'
    header = identity.sign(ALICE, SECRET, "POST", "/internal/stats/counts?x=1", body)
    assert identity.verify(header, SECRET, "POST", "/internal/stats/counts?x=1", body) == ALICE
    for target, sent in (
        ("/internal/stats/counts?x=2", body),  # another query
        ("/internal/stats/counts", body),  # no query
        ("/internal/stats/counts?x=1&owner=1", body),  # a query parameter added
        ("/internal/stats/counts?x=1", body.replace(b"7", b"8")),  # another body
        ("/internal/stats/counts?x=1", b""),  # no body
    ):
        assert identity.verify(header, SECRET, "POST", target, sent) is None, (target, sent)


def test_every_signature_carries_its_own_nonce() -> None:
    first = identity.verify_signed(identity.sign(ALICE, SECRET, "GET", "/x"), SECRET, "GET", "/x")
    again = identity.verify_signed(identity.sign(ALICE, SECRET, "GET", "/x"), SECRET, "GET", "/x")
    assert first is not None
    assert again is not None
    assert first.nonce != again.nonce
    assert len(first.nonce) >= 16


def test_a_header_without_a_nonce_is_refused() -> None:
    # as the previous scheme signed them: payload, method and path only
    data = {**ALICE.to_json(), "ts": int(time.time())}
    payload = base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")
    digest = hashlib.sha256(b"").hexdigest()
    message = f"{payload}\nGET\n/x\n{digest}".encode()
    header = f"{payload}.{hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()}"
    assert identity.verify(header, SECRET, "GET", "/x") is None


def test_plan_features_and_quotas() -> None:
    assert ALICE.has_feature("alias")
    assert not ALICE.has_feature("geo")
    assert ALICE.quota("links") == 10
    assert ALICE.quota("splash") == 5
    admin = Principal(user_id=1, role="admin")
    assert admin.has_feature("geo")
    assert admin.quota("links") == 0
