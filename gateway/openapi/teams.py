"""OpenAPI fragment: teams (extension), served by the accounts service; the
workspace header and the permission table are the gateway's."""

from __future__ import annotations

from typing import Any, Final

from gateway.openapi.common import (
    BEARER_AUTH,
    DATE,
    answer,
    json_body,
    list_operation,
    message,
    obj,
    operation,
    page_example,
    paginated,
    path_id,
    ref,
    success,
)

TAG: Final = "Teams"
TAGS: Final[list[dict[str, str]]] = [
    {
        "name": TAG,
        "description": (
            "An account owner invites members by email; each member has permissions: "
            "`analytics` (view statistics, read links), `links` (manage links, QR codes, tags, "
            "campaigns, channels), `assets` (manage branded domains, pixels, splash and overlay "
            "pages, bio pages, contacts, webhooks), `team` (manage the team). Shorthands: "
            "`role` `viewer` (analytics), `editor` (analytics, links), `manager` (all).\n\n"
            "A member works in the owner's workspace with their own API key and the header "
            "`X-Workspace: <owner's user id>`: objects they make belong to the owner (links "
            "record the member in `createdby`), the owner's plan applies, and a request "
            "their permissions do not allow is a 403 saying which permission it needs. "
            "Account, user and plan endpoints are not available in a workspace. Removing a "
            "member or changing their permissions applies at once.\n\n"
            "Plan: `team` (`team.count`: members plus open invitations, 0 = unlimited)."
        ),
    }
]

PERMISSION: Final = {"enum": ["analytics", "links", "assets", "team"]}
PERMISSIONS: Final = {"type": "array", "items": PERMISSION, "minItems": 1}
ROLE: Final = {
    "enum": ["viewer", "editor", "manager"],
    "description": "Instead of `permissions`: viewer, editor or manager.",
}
MEMBER_EXAMPLE: Final = {
    "id": 3,
    "userid": 42,
    "username": "ana",
    "email": "ana@example.com",
    "permissions": ["analytics", "links"],
    "date": "2026-12-01 10:00:00",
    "updated": "2026-12-01 10:00:00",
}
INVITATION_EXAMPLE: Final = {
    "id": 7,
    "email": "bo@example.com",
    "permissions": ["analytics"],
    "expires": "2026-12-08 10:00:00",
    "date": "2026-12-01 10:00:00",
}

SCHEMAS: Final[dict[str, Any]] = {
    "TeamMember": obj(
        {
            "id": {"type": "integer", "description": "The membership's id (for update/delete)."},
            "userid": {"type": "integer"},
            "username": {"type": "string"},
            "email": {"type": "string"},
            "permissions": PERMISSIONS,
            "date": DATE,
            "updated": DATE,
        },
        required=["id", "userid", "username", "email", "permissions", "date"],
        example=MEMBER_EXAMPLE,
    ),
    "TeamInvitation": obj(
        {
            "id": {"type": "integer"},
            "email": {"type": "string"},
            "permissions": PERMISSIONS,
            "expires": DATE,
            "date": DATE,
        },
        required=["id", "email", "permissions", "expires"],
        example=INVITATION_EXAMPLE,
    ),
}

_LIST_EXAMPLE: Final = page_example("members", [MEMBER_EXAMPLE])
_LIST_EXAMPLE["data"] |= {"invitations": [INVITATION_EXAMPLE], "limit": 5}
_PERMISSIONS_BODY: Final = obj({"permissions": PERMISSIONS, "role": ROLE})

PATHS: Final[dict[str, Any]] = {
    "/api/team": {
        "get": operation(
            "List team members",
            tag=TAG,
            operation_id="listTeam",
            description=(
                "Members (paginated) and, beside them, the open invitations and the plan's "
                "`limit` (0: unlimited)."
            ),
            parameters=[
                {"$ref": "#/components/parameters/limit"},
                {"$ref": "#/components/parameters/page"},
            ],
            responses={
                "200": answer(
                    {
                        "allOf": [
                            paginated("members", ref("TeamMember")),
                            obj(
                                {
                                    "data": obj(
                                        {
                                            "invitations": {
                                                "type": "array",
                                                "items": ref("TeamInvitation"),
                                            },
                                            "limit": {"type": "integer"},
                                        }
                                    )
                                }
                            ),
                        ]
                    },
                    example=_LIST_EXAMPLE,
                )
            },
            errors=(400, 403),
        )
    },
    "/api/team/workspaces": {
        "get": list_operation(
            "List the workspaces I am a member of",
            tag=TAG,
            operation_id="listTeamWorkspaces",
            description=(
                "The teams your key belongs to: `workspace` is the id to send as "
                "`X-Workspace`. Not available in a workspace."
            ),
            key="workspaces",
            item=obj(
                {
                    "workspace": {"type": "integer"},
                    "owner": {"type": "string"},
                    "permissions": PERMISSIONS,
                    "date": DATE,
                },
                required=["workspace", "owner", "permissions"],
            ),
            examples=[
                {
                    "workspace": 12,
                    "owner": "ana",
                    "permissions": ["links"],
                    "date": "2026-12-01 10:00:00",
                }
            ],
            errors=(400, 403),
        )
    },
    "/api/team/invite": {
        "post": operation(
            "Invite a team member",
            tag=TAG,
            operation_id="inviteTeamMember",
            description=(
                "Answers an invitation `link` with a single-use `token` (shown only here, "
                "stored hashed) that expires after 7 days; send it to the invitee. 403 when "
                "the plan lacks `team` or its `team.count` seats (members and open "
                "invitations) are taken; 409 when the address is a member or already invited."
            ),
            body=json_body(
                obj(
                    {
                        "email": {"type": "string", "format": "email"},
                        "permissions": PERMISSIONS,
                        "role": ROLE,
                    },
                    required=["email"],
                ),
                example={"email": "bo@example.com", "permissions": ["links"]},
            ),
            responses={
                "200": answer(
                    success(
                        {
                            "message": {"type": "string"},
                            "id": {"type": "integer"},
                            "data": obj(
                                {
                                    "id": {"type": "integer"},
                                    "email": {"type": "string"},
                                    "permissions": PERMISSIONS,
                                    "token": {"type": "string"},
                                    "link": {"type": "string", "format": "uri"},
                                    "expires": DATE,
                                }
                            ),
                        },
                        required=["id", "data"],
                    ),
                    example={
                        "error": 0,
                        "message": "Invitation created: send the link to the invitee "
                        "(it works once).",
                        "id": 7,
                        "data": {
                            "id": 7,
                            "email": "bo@example.com",
                            "permissions": ["links"],
                            "token": "q3Xv…",
                            "link": "https://api.example.com/api/team/accept?token=q3Xv…",
                            "expires": "2026-12-08 10:00:00",
                        },
                    },
                )
            },
            errors=(400, 403, 409),
        )
    },
    "/api/team/accept": {
        "post": operation(
            "Accept a team invitation",
            tag=TAG,
            operation_id="acceptTeamInvitation",
            description=(
                "Without an API key: a new account for the invited address, with `password` "
                "(and optionally `username`); the answer shows its `apikey` once (409 when an "
                "account with that address exists: accept with its key instead). With an API "
                "key: that account joins (its email must be the invited one). The token may "
                "also come as `?token=` (the invitation link). An unknown token is a 404, a "
                "used or expired one a 410; 403 when the team is full."
            ),
            security=({}, *BEARER_AUTH),
            body=json_body(
                obj(
                    {
                        "token": {"type": "string"},
                        "password": {"type": "string", "minLength": 5},
                        "username": {"type": "string"},
                    },
                    required=["token"],
                ),
                example={"token": "q3Xv…", "password": "s3cret!"},
            ),
            responses={
                "200": answer(
                    success(
                        {
                            "message": {"type": "string"},
                            "data": obj(
                                {
                                    "id": {"type": "integer"},
                                    "workspace": {"type": "integer"},
                                    "userid": {"type": "integer"},
                                    "permissions": PERMISSIONS,
                                    "username": {"type": "string"},
                                    "apikey": {"type": "string"},
                                },
                                required=["id", "workspace", "userid", "permissions"],
                            ),
                        },
                        required=["data"],
                    ),
                    example={
                        "error": 0,
                        "message": "You have joined the team of ana. Send 'X-Workspace: 12' "
                        "with your API key to work in it.",
                        "data": {
                            "id": 3,
                            "workspace": 12,
                            "userid": 42,
                            "permissions": ["links"],
                            "username": "bo-1a2b3c",
                            "apikey": "Yk9…",
                        },
                    },
                )
            },
            errors=(400, 403, 404, 409, 410),
        )
    },
    "/api/team/{id}/update": {
        "put": operation(
            "Change a member's permissions",
            tag=TAG,
            operation_id="updateTeamMember",
            description="Applies at the gateway before this answer returns.",
            parameters=[path_id("team membership")],
            body=json_body(_PERMISSIONS_BODY, example={"permissions": ["analytics"]}),
            responses={
                "200": answer(
                    success(
                        {"message": {"type": "string"}, "data": ref("TeamMember")},
                        required=["data"],
                    ),
                    example={
                        "error": 0,
                        "message": "Team member has been updated.",
                        "data": MEMBER_EXAMPLE,
                    },
                )
            },
            errors=(400, 403, 404),
        )
    },
    "/api/team/invitation/{id}/delete": {
        "delete": operation(
            "Withdraw an invitation",
            tag=TAG,
            operation_id="withdrawTeamInvitation",
            description=(
                "An open invitation (an `id` of `invitations` in `GET /api/team`): its link "
                "stops working and its seat is free again. A used one is not found."
            ),
            parameters=[path_id("invitation")],
            responses={"200": message("Invitation has been withdrawn.")},
            errors=(403, 404),
        )
    },
    "/api/team/{id}/delete": {
        "delete": operation(
            "Remove a team member",
            tag=TAG,
            operation_id="deleteTeamMember",
            description=(
                "Their key stops working in the workspace at once; their own account stays."
            ),
            parameters=[path_id("team membership")],
            responses={"200": message("Team member has been removed.")},
            errors=(403, 404),
        )
    },
}
