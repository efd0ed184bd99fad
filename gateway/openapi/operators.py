"""OpenAPI fragment: operator actions on users and the state of the queues
(accounts service), used by the ``shortener`` command line."""

from __future__ import annotations

from typing import Any, Final

from gateway.openapi.accounts import ADMIN_ONLY, USERS_TAG
from gateway.openapi.common import (
    answer,
    json_body,
    message,
    obj,
    operation,
    path_id,
    success,
)

PATHS: Final[dict[str, Any]] = {
    "/api/user/{id}/password": {
        "put": operation(
            "Set a user's password",
            tag=USERS_TAG,
            operation_id="resetUserPassword",
            description=ADMIN_ONLY + " Their signed-in sessions end.",
            parameters=[path_id("user")],
            body=json_body(
                obj({"password": {"type": "string", "minLength": 5}}, required=["password"]),
                example={"password": "n3w-s3cret!"},
            ),
            responses={"200": message("The password has been changed.")},
            errors=(400, 403, 404),
        )
    },
    "/api/user/{id}/apikey/revoke": {
        "post": operation(
            "Revoke a user's API keys",
            tag=USERS_TAG,
            operation_id="revokeUserKeys",
            description=ADMIN_ONLY
            + " Every live key stops working at once; the user regenerates one.",
            parameters=[path_id("user")],
            responses={
                "200": answer(
                    success(
                        {"message": {"type": "string"}, "revoked": {"type": "integer"}},
                        required=["message", "revoked"],
                    ),
                    example={"error": 0, "message": "API keys revoked.", "revoked": 1},
                )
            },
            errors=(403, 404),
        )
    },
    "/api/system/queues": {
        "get": operation(
            "Queue depths and worker lag",
            tag=USERS_TAG,
            operation_id="getQueues",
            description=ADMIN_ONLY
            + " Messages ready and consumers of each queue (null: not declared yet), and"
            " how many seconds the click counts are behind (0 while no click waits; null"
            " when the analytics service cannot say).",
            responses={
                "200": answer(
                    success(
                        {
                            "data": obj(
                                {
                                    "queues": {
                                        "type": "array",
                                        "items": obj(
                                            {
                                                "name": {"type": "string"},
                                                "messages": {"type": ["integer", "null"]},
                                                "consumers": {"type": ["integer", "null"]},
                                            },
                                            required=["name", "messages", "consumers"],
                                        ),
                                    },
                                    "workerLag": {"type": ["number", "null"]},
                                },
                                required=["queues", "workerLag"],
                            )
                        },
                        required=["data"],
                    ),
                    example={
                        "error": 0,
                        "data": {
                            "queues": [{"name": "analytics.clicks", "messages": 0, "consumers": 1}],
                            "workerLag": 0.0,
                        },
                    },
                )
            },
            errors=(403,),
        )
    },
}
