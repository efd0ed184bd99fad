"""What crosses the gateway: routing, headers, bodies, and every way a service can fail."""

from __future__ import annotations

from collections.abc import AsyncIterator

from yarl import URL

from shared import identity
from shared.settings import Settings
from tests.gateway.conftest import Gateway, StartGateway, body_of, closed_port, unique_ip
from tests.gateway.standin import StandIn


async def test_routes_by_longest_prefix(
    gateway: Gateway, accounts: StandIn, links: StandIn
) -> None:
    key, _ = accounts.issue(rate={"capacity": 100, "window": 60})
    expected = {
        "/api/account": "accounts",
        "/api/account/update": "accounts",
        "/api/plans": "accounts",
        "/api/plan/3/user/4": "accounts",
        "/api/users": "accounts",
        "/api/user/9/delete": "accounts",
        "/api/contacts": "accounts",
        "/api/contact/groups": "accounts",
        "/api/urls": "links",
        "/api/url/5": "links",
        "/api/domains": "links",
        "/api/qr": "links",
        "/api/qr/12": "links",
        "/api/campaigns": "links",
        "/api/campaign/1/assign/2": "links",
        "/api/channel/1/assign/links/2": "links",
        "/api/pixels": "links",
        "/api/splash": "links",
        "/api/overlay/3/update": "links",
    }
    for path, service in expected.items():
        resp = await gateway.get(path, key)
        assert resp.status == 200, path
        assert (await body_of(resp))["service"] == service, path
    for path in ("/api", "/api/", "/api/qrcodes", "/api/accounts", "/api/internal/principal"):
        resp = await gateway.get(path, key)
        assert resp.status == 404, path
        assert await body_of(resp) == {"error": 1, "message": "No such endpoint."}
    for path in ("/api/account/../users", "/api/account/%2e%2E/users", "/api/url/./1"):
        # sent as is (a client library would normalise the dots away)
        url = URL(f"http://127.0.0.1:{gateway.client.port}{path}", encoded=True)
        resp = await gateway.client.session.get(url, headers={"Authorization": f"Bearer {key}"})
        assert resp.status == 404, path
    assert {s.raw_path for s in accounts.hits()} | {s.raw_path for s in links.hits()} == set(
        expected
    )


async def test_request_is_relayed_signed_and_stripped(gateway: Gateway, accounts: StandIn) -> None:
    key, uid = accounts.issue()
    payload = b'{"email": "a@example.com"}'
    resp = await gateway.call(
        "PUT",
        "/api/account/update?x=1&y=%20z",
        key,
        data=payload,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Language": "lv",
            "User-Agent": "curl/8.0",
            "Connection": "keep-alive, X-Hop-Secret",
            "X-Hop-Secret": "do not forward",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Proxy-Authorization": "Basic eDp5",
            "X-Internal-Identity": "forged.signature",
            "Cookie": "session=1",
            "X-Request-Id": "client-chosen-id-1",
        },
    )
    assert resp.status == 200
    assert resp.headers["X-Request-Id"] == "client-chosen-id-1"
    [seen] = accounts.hits()
    assert seen.method == "PUT"
    assert seen.raw_path == "/api/account/update?x=1&y=%20z"
    assert seen.body == payload
    # the stand-in only ran its handler because the signature verified; it is
    # the gateway's, for this user, over the path exactly as forwarded
    assert seen.principal["uid"] == uid
    assert seen.principal["rid"] == "client-chosen-id-1"
    assert seen.principal["limits"]["links"] == 10
    assert seen.headers["X-Internal-Identity"] != "forged.signature"
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    assert headers["accept-language"] == "lv"
    assert headers["user-agent"] == "curl/8.0"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == f"127.0.0.1:{gateway.client.port}"
    assert headers["x-request-id"] == "client-chosen-id-1"
    for gone in (
        "authorization",
        "x-hop-secret",
        "keep-alive",
        "te",
        "proxy-authorization",
        "cookie",
    ):
        assert gone not in headers, gone


async def test_signature_verifies_only_for_that_request(
    gateway: Gateway, accounts: StandIn, settings: Settings
) -> None:
    settings_secret = settings.internal_secret
    key, uid = accounts.issue()
    assert (await gateway.get("/api/users?filter=admin", key)).status == 200
    [seen] = accounts.hits()
    header = seen.headers["X-Internal-Identity"]
    found = identity.verify(header, settings_secret, "GET", "/api/users?filter=admin")
    assert found is not None
    assert found.user_id == uid
    assert identity.verify(header, settings_secret, "DELETE", "/api/users?filter=admin") is None
    assert identity.verify(header, settings_secret, "GET", "/api/user/1/delete") is None
    # the query and the body are signed too
    assert identity.verify(header, settings_secret, "GET", "/api/users") is None
    assert identity.verify(header, settings_secret, "GET", "/api/users?filter=user") is None
    assert identity.verify(header, settings_secret, "GET", "/api/users?filter=admin", b"{}") is None


async def test_request_id_is_generated_when_absent_or_unsafe(
    gateway: Gateway, accounts: StandIn
) -> None:
    key, _ = accounts.issue()
    first = await gateway.get("/api/account", key)
    second = await gateway.get("/api/account", key, headers={"X-Request-Id": "bad id\twith <tags>"})
    ids = [first.headers["X-Request-Id"], second.headers["X-Request-Id"]]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids[0] != ids[1]
    assert [s.principal["rid"] for s in accounts.hits()] == ids
    assert [
        {k.lower(): v for k, v in s.headers.items()}["x-request-id"] for s in accounts.hits()
    ] == ids


async def test_forwarded_for_with_a_trusted_proxy(
    start_gateway: StartGateway, accounts: StandIn
) -> None:
    gateway = await start_gateway(trusted_proxy_hops=1)
    key, _ = accounts.issue()
    client = unique_ip()
    resp = await gateway.get(
        "/api/account",
        key,
        headers={
            "X-Forwarded-For": f"6.6.6.6, {client}",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "api.example.com",
        },
    )
    assert resp.status == 200
    [seen] = accounts.hits()
    # only the hop the trusted proxy added is kept; the client's own claim is dropped
    assert seen.headers["X-Forwarded-For"] == f"{client}, 127.0.0.1"
    assert seen.headers["X-Forwarded-Proto"] == "https"
    assert seen.headers["X-Forwarded-Host"] == "api.example.com"


async def test_response_hop_by_hop_headers_are_stripped(
    gateway: Gateway, accounts: StandIn
) -> None:
    key, _ = accounts.issue()
    resp = await gateway.get("/api/account/hop-by-hop", key)
    assert resp.status == 200
    assert resp.headers["X-Upstream-Kept"] == "yes"
    for gone in ("Keep-Alive", "Proxy-Authenticate", "X-Upstream-Private"):
        assert gone not in resp.headers, gone
    assert resp.headers["X-RateLimit-Limit"] == "30"


async def test_body_over_the_limit_is_413_and_not_forwarded(
    start_gateway: StartGateway, accounts: StandIn
) -> None:
    gateway = await start_gateway(max_body_bytes=1024)
    key, _ = accounts.issue()
    resp = await gateway.call("POST", "/api/user/add", key, data=b"x" * 5000)
    assert resp.status == 413
    assert await body_of(resp) == {"error": 1, "message": "Request body too large."}
    assert "X-RateLimit-Remaining" in resp.headers

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: found while reading
        for _ in range(5):
            yield b"y" * 1000

    resp = await gateway.call("POST", "/api/user/add", key, data=chunks())
    assert resp.status == 413
    assert await body_of(resp) == {"error": 1, "message": "Request body too large."}
    assert accounts.hits() == []
    resp = await gateway.call("POST", "/api/user/add", key, data=b"z" * 1024)
    assert resp.status == 200
    assert accounts.hits()[0].body == b"z" * 1024


async def test_large_answers_are_streamed_whole(gateway: Gateway, accounts: StandIn) -> None:
    key, _ = accounts.issue()
    resp = await gateway.get("/api/account/big", key)
    assert resp.status == 200
    body = await resp.read()
    assert body == b"".join(bytes([i]) * 65536 for i in range(48))
    assert resp.headers["X-RateLimit-Limit"] == "30"


async def test_service_down_is_json_503(start_gateway: StartGateway, accounts: StandIn) -> None:
    gateway = await start_gateway(links_url=f"http://127.0.0.1:{closed_port()}")
    key, _ = accounts.issue()
    for method in ("GET", "POST"):
        resp = await gateway.call(method, "/api/urls", key)
        assert resp.status == 503
        assert await body_of(resp) == {
            "error": 1,
            "message": "The links service is unavailable. Please retry later.",
        }
        assert resp.headers["X-RateLimit-Limit"] == "30"
        assert resp.headers["Retry-After"] == "5"


async def test_a_service_answering_503_is_relayed_unchanged(
    gateway: Gateway, accounts: StandIn
) -> None:
    key, _ = accounts.issue()
    resp = await gateway.get("/api/account/unavailable", key)
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "5"
    assert await body_of(resp) == {
        "error": 1,
        "message": "Service unavailable. Please retry later.",
    }
    assert resp.headers["X-RateLimit-Limit"] == "30"


async def test_slow_service_is_json_504(start_gateway: StartGateway, accounts: StandIn) -> None:
    gateway = await start_gateway(upstream_timeout=0.2)
    key, _ = accounts.issue()
    resp = await gateway.get("/api/account/slow?delay=1", key)
    assert resp.status == 504
    body = await body_of(resp)
    assert body["error"] == 1
    assert "did not answer in time" in body["message"]


async def test_garbage_from_a_service_is_json_502(
    start_gateway: StartGateway, accounts: StandIn, garbage_upstream: str
) -> None:
    gateway = await start_gateway(links_url=garbage_upstream)
    key, _ = accounts.issue()
    resp = await gateway.get("/api/urls", key)
    assert resp.status == 502
    assert await body_of(resp) == {
        "error": 1,
        "message": "Bad gateway: the links service sent a broken answer.",
    }


async def test_html_error_page_from_a_service_becomes_json(
    gateway: Gateway, accounts: StandIn
) -> None:
    key, _ = accounts.issue()
    resp = await gateway.get("/api/account/html-error", key)
    assert resp.status == 502
    assert (await body_of(resp))["error"] == 1


async def test_non_api_paths_are_json_404(gateway: Gateway) -> None:
    resp = await gateway.get("/")
    assert resp.status == 404
    assert await body_of(resp) == {"error": 1, "message": "No such endpoint."}
