"""The internal identity header: only the holder of the secret can vouch for a caller."""

from __future__ import annotations

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
    assert identity.verify(header, SECRET, "GET", "/x", now=1_000_030) == ALICE
    assert identity.verify(header, SECRET, "GET", "/x", now=1_000_000 + 3600) is None


def test_plan_features_and_quotas() -> None:
    assert ALICE.has_feature("alias")
    assert not ALICE.has_feature("geo")
    assert ALICE.quota("links") == 10
    assert ALICE.quota("splash") == 5
    admin = Principal(user_id=1, role="admin")
    assert admin.has_feature("geo")
    assert admin.quota("links") == 0
