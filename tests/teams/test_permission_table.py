"""The gateway's permission table against every operation the API describes:
each one is either given to a permission or deliberately kept out of workspaces,
so a new endpoint cannot slip in without a decision."""

from __future__ import annotations

import re

from gateway.openapi import build_document
from gateway.permissions import NOT_IN_WORKSPACE, refusal

# Each member's own business, or the administrators': never in an owner's workspace.
OUTSIDE_WORKSPACES = re.compile(
    r"/api/(account(/.*)?|users?(/.*)?|plans?(/.*)?|system/.*|team/accept|team/workspaces|docs"
    r"|openapi\.json)"
)
METHODS = ("get", "post", "put", "delete")


def test_every_operation_is_decided() -> None:
    for path, item in build_document()["paths"].items():
        if not path.startswith("/api/"):
            continue
        concrete = re.sub(r"{\w+}", "7", path)
        for method in (m for m in METHODS if m in item):
            outcome = refusal(method.upper(), concrete, ())
            kept_out = outcome == NOT_IN_WORKSPACE
            assert kept_out == bool(OUTSIDE_WORKSPACES.fullmatch(path)), (method, path, outcome)


def test_what_each_permission_allows() -> None:
    allowed = {
        ("analytics",): [("GET", "/api/url/7/stats"), ("GET", "/api/urls"), ("GET", "/api/qr")],
        ("links",): [("POST", "/api/url/add"), ("PUT", "/api/qr/7/update"), ("GET", "/api/tags")],
        ("assets",): [("POST", "/api/domain/add"), ("GET", "/api/pixels"), ("GET", "/api/bio")],
        ("team",): [("POST", "/api/team/invite"), ("DELETE", "/api/team/7/delete")],
    }
    for granted, requests in allowed.items():
        for method, path in requests:
            assert refusal(method, path, granted) is None, (granted, method, path)
    refused = {
        ("analytics",): [("POST", "/api/url/add"), ("GET", "/api/domains")],
        ("links",): [("GET", "/api/url/7/stats"), ("GET", "/api/domains"), ("GET", "/api/team")],
        ("assets",): [("POST", "/api/url/add"), ("GET", "/api/urls/stats")],
        ("team",): [("GET", "/api/urls"), ("GET", "/api/webhooks")],
    }
    for granted, requests in refused.items():
        for method, path in requests:
            message = refusal(method, path, granted)
            assert message is not None
            assert message.startswith("Your role in this workspace does not allow this"), message
