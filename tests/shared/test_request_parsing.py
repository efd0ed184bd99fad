"""Hostile input meets the shared request parsing before any handler or query:
NUL characters (Postgres refuses them in text and jsonb) and integers no
column can hold are a 400 naming the field, for every service at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from shared.envelope import BadRequest, ok
from shared.request_body import BIGINT_MAX, INT_MAX, Body, nul_field, positive_id, read_body
from shared.service import create_service_app
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.support import principals
from tests.support.signed_client import SignedClient

Signed = Callable[[TestClient[web.Request, web.Application]], SignedClient]
REACHED = web.AppKey("reached", list)


def recording_app(settings: Settings) -> web.Application:
    """A service whose handlers note every request that reaches them."""
    app = create_service_app(settings, name="recording", needs=())
    app[REACHED] = []

    async def search(request: web.Request) -> web.Response:
        request.app[REACHED].append(dict(request.query))
        return ok()

    async def store(request: web.Request) -> web.Response:
        body = await read_body(request)
        request.app[REACHED].append(dict(body.data))
        return ok()

    app.router.add_get("/api/things", search)
    app.router.add_post("/api/things", store)
    return app


async def test_nul_in_any_query_parameter_is_refused_before_the_handler(
    serve_app: ServeApp, signed: Signed
) -> None:
    client = await serve_app(recording_app)
    api = signed(client)
    for query, name in (
        ("q=%00", "q"),
        ("q=abc%00def", "q"),
        ("page=1&email=a%00@b.c", "email"),
        ("na%00me=1", "na\\0me"),
    ):
        resp = await api.get(f"/api/things?{query}", principals.user())
        assert resp.status == 400, query
        assert await resp.json() == {
            "error": 1,
            "message": f"The parameter '{name}' contains a NUL character.",
        }
    assert client.app is not None
    assert client.app[REACHED] == []
    ok_resp = await api.get("/api/things?q=plain", principals.user())
    assert ok_resp.status == 200
    assert client.app[REACHED] == [{"q": "plain"}]


async def test_nul_anywhere_in_a_json_body_is_refused(serve_app: ServeApp, signed: Signed) -> None:
    client = await serve_app(recording_app)
    api = signed(client)
    for raw, where in (
        (b'{"name": "a\\u0000b"}', "name"),
        (b'{"limits": {"custom": {"enabled": "\\u0000"}}}', "limits.custom.enabled"),
        (
            b'{"custom_fields": [{"id": 1, "value": "x"}, {"id": 2, "value": "\\u0000"}]}',
            "custom_fields[1].value",
        ),
        (b'{"ok": 1, "k\\u0000": 2}', "k\\0"),
    ):
        resp = await api.post("/api/things", principals.user(), data=raw)
        assert resp.status == 400, raw
        assert await resp.json() == {
            "error": 1,
            "message": f"The field '{where}' contains a NUL character.",
        }
    assert client.app is not None
    assert client.app[REACHED] == []
    # an escaped backslash followed by u0000 is six plain characters, not a NUL
    resp = await api.post("/api/things", principals.user(), data=b'{"name": "\\\\u0000"}')
    assert resp.status == 200
    assert client.app[REACHED] == [{"name": "\\u0000"}]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1e30, "The field 'n' must be at most 9223372036854775807."),
        (-1e30, "The field 'n' must be at least -9223372036854775808."),
        (2**63, "The field 'n' must be at most 9223372036854775807."),
        ("99999999999999999999", "The field 'n' must be an integer."),
        ("²", "The field 'n' must be an integer."),
        (1.5, "The field 'n' must be an integer."),
    ],
)
def test_unbounded_integers_still_fit_a_bigint(value: Any, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        Body({"n": value}).integer("n")
    assert caught.value.message == message


def test_integers_within_range() -> None:
    assert Body({"n": 1e3}).integer("n") == 1000
    assert Body({"n": str(BIGINT_MAX)}).integer("n") == BIGINT_MAX
    assert Body({"n": " -12 "}).integer("n") == -12
    with pytest.raises(BadRequest) as caught:
        Body({"n": INT_MAX + 1}).integer("n", max_value=INT_MAX)
    assert caught.value.message == f"The field 'n' must be at most {INT_MAX}."


@pytest.mark.parametrize(
    ("value", "maximum", "expected"),
    [
        (7, BIGINT_MAX, 7),
        (" 7 ", BIGINT_MAX, 7),
        (7.0, BIGINT_MAX, 7),
        (BIGINT_MAX, BIGINT_MAX, BIGINT_MAX),
        (BIGINT_MAX + 1, BIGINT_MAX, None),
        (str(BIGINT_MAX + 1), BIGINT_MAX, None),
        (INT_MAX + 1, INT_MAX, None),
        (1e30, BIGINT_MAX, None),
        ("²", BIGINT_MAX, None),
        ("1\x00", BIGINT_MAX, None),
        (0, BIGINT_MAX, None),
        (-3, BIGINT_MAX, None),
        (True, BIGINT_MAX, None),
        (None, BIGINT_MAX, None),
    ],
)
def test_positive_id(value: Any, maximum: int, expected: int | None) -> None:
    assert positive_id(value, maximum) == expected


def test_nul_field_names_the_first_place() -> None:
    assert nul_field({"a": [1, {"b": "ok"}, {"c": "x\x00"}]}) == "a[2].c"
    assert nul_field({"a": "fine", "b": ["also"]}) is None
