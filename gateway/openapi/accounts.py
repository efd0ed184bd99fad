"""OpenAPI fragment: the account (API.md section 2), plans and users (section 11)
and contacts (section 12), served by the accounts service, plus the add-contact
compatibility endpoint of the seed."""

from __future__ import annotations

from typing import Any, Final

from gateway.openapi.common import (
    PAGINATION_PARAMETERS,
    answer,
    data_answer,
    get_operation,
    id_answer,
    json_body,
    list_operation,
    message,
    obj,
    operation,
    path_id,
    query,
    ref,
    success,
)

ACCOUNT_TAG: Final = "Account"
PLANS_TAG: Final = "Plans"
USERS_TAG: Final = "Users"
CONTACTS_TAG: Final = "Contacts"
ADMIN_ONLY: Final = "Admin only: any other user gets 403."

TAGS: Final[list[dict[str, str]]] = [
    {"name": ACCOUNT_TAG, "description": "Your own account, API key and API secret."},
    {"name": PLANS_TAG, "description": "Plans and their limits; subscriptions. " + ADMIN_ONLY},
    {"name": USERS_TAG, "description": "The platform's users. " + ADMIN_ONLY},
    {
        "name": CONTACTS_TAG,
        "description": "Your address book: contacts, groups and custom fields.",
    },
]

_DATE: Final = {
    "type": "string",
    "description": "`YYYY-MM-DD HH:MM:SS`, UTC.",
    "examples": ["2026-11-22 10:00:00"],
}
_NULLABLE_DATE: Final = {**_DATE, "type": ["string", "null"]}
_FLAG: Final = {"enum": ["0", "1"], "description": '`"1"`: the feature is on.'}
_COUNT: Final = {
    "type": "string",
    "pattern": "^[0-9]+$",
    "description": 'How many the user may have (`"0"`: none, or unlimited where on).',
}


def _feature(counted: bool) -> dict[str, Any]:
    props: dict[str, Any] = {"enabled": _FLAG}
    if counted:
        props["count"] = _COUNT
    return obj(props, required=list(props))


STARTER_LIMITS: Final[dict[str, Any]] = {
    "links": 10,
    "clicks": 1000,
    "retention": 7,
    "custom": {"enabled": "0"},
    "team": {"enabled": "0", "count": "0"},
    "splash": {"enabled": "0", "count": "0"},
    "overlay": {"enabled": "0", "count": "10"},
    "pixels": {"enabled": "0", "count": "10"},
    "domain": {"enabled": "0", "count": "0"},
    "multiple": {"enabled": "0"},
    "alias": {"enabled": "0"},
    "device": {"enabled": "0"},
    "geo": {"enabled": "0"},
    "bundle": {"enabled": "0"},
    "parameters": {"enabled": "0"},
    "export": {"enabled": "0"},
    "api": {"enabled": "0"},
    "webhooks": {"enabled": "0", "count": "0"},
    "bio": {"enabled": "0", "count": "0"},
}
BUSINESS_LIMITS: Final[dict[str, Any]] = {
    **STARTER_LIMITS,
    "links": 100,
    "clicks": 100000,
    "retention": 60,
    "splash": {"enabled": "1", "count": "5"},
    "overlay": {"enabled": "1", "count": "10"},
    "pixels": {"enabled": "1", "count": "10"},
    "domain": {"enabled": "1", "count": "1"},
    "alias": {"enabled": "1"},
}
BUSINESS: Final = {
    "id": 2,
    "name": "Business",
    "free": False,
    "prices": {"monthly": 9.99, "yearly": 99.99, "lifetime": 999.99},
    "limits": BUSINESS_LIMITS,
}
STARTER: Final = {
    "id": 1,
    "name": "Starter",
    "free": True,
    "prices": None,
    "limits": STARTER_LIMITS,
}
USAGE_EXAMPLE: Final = {
    "links": {"used": 10, "limit": 10, "reached": True},
    "clicks": {"used": 812, "limit": 1000, "reached": False, "overQuota": 0},
}
USER_EXAMPLE: Final = {
    "id": 2,
    "email": "sample2@domain.com",
    "username": "sample2user",
    "avatar": "https://www.gravatar.com/avatar/5f1c0e7d3b8c4a0f?d=identicon",
    "status": "free",
    "planid": 1,
    "expires": None,
    "registered": "2020-11-10 18:01:43",
    "apikey": "AbC12dEf",
    "usage": USAGE_EXAMPLE,
}
CONTACT_EXAMPLE: Final = {
    "id": 12,
    "name": "Ayşe",
    "surname": "Yılmaz",
    "email": "ayse@example.com",
    "gsm": "+90 505 702 31 00",
    "groups": [7],
    "custom_fields": [{"id": 1, "value": "27/09/2024"}, {"id": 2, "value": "cip"}],
    "date": "2026-11-22 10:00:00",
    "updated": "2026-11-22 10:00:00",
}

SCHEMAS: Final[dict[str, Any]] = {
    "PlanLimits": obj(
        {
            "links": {
                "type": "integer",
                "minimum": 0,
                "description": "Links per user; 0 = no limit.",
            },
            "clicks": {
                "type": "integer",
                "minimum": 0,
                "description": "Tracked clicks per month; 0 = no limit.",
            },
            "retention": {
                "type": "integer",
                "minimum": 0,
                "description": "Days of click history kept; 0 = forever.",
            },
            "custom": _feature(False),
            "team": _feature(True),
            "splash": _feature(True),
            "overlay": _feature(True),
            "pixels": _feature(True),
            "domain": _feature(True),
            "multiple": _feature(False),
            "alias": _feature(False),
            "device": _feature(False),
            "geo": _feature(False),
            "bundle": _feature(False),
            "parameters": _feature(False),
            "export": _feature(False),
            "api": _feature(False),
            "webhooks": _feature(True),
            "bio": _feature(True),
        },
        description="A plan's limits, as published: numbers, and feature flags as strings.",
        example=BUSINESS_LIMITS,
    ),
    "Plan": obj(
        {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "free": {"type": "boolean"},
            "prices": {
                "type": ["object", "null"],
                "description": "`null` for a free plan.",
                "properties": {
                    k: {"type": ["number", "null"]} for k in ("monthly", "yearly", "lifetime")
                },
            },
            "limits": ref("PlanLimits"),
        },
        required=["id", "name", "free", "prices", "limits"],
        example=BUSINESS,
    ),
    "PlanDetail": {
        "allOf": [
            ref("Plan"),
            obj(
                {
                    "rate": obj(
                        {
                            "capacity": {"type": "integer", "minimum": 1},
                            "window": {"type": "integer", "minimum": 1},
                            "default": {
                                "type": "boolean",
                                "description": "true: the platform's default rate applies.",
                            },
                        },
                        description="(extension) The plan's API token bucket: "
                        "`capacity` requests per `window` seconds.",
                    )
                }
            ),
        ]
    },
    "Account": obj(
        {
            "id": {"type": "integer"},
            "email": {"type": "string", "format": "email"},
            "username": {"type": "string"},
            "avatar": {"type": "string", "format": "uri"},
            "status": {"enum": ["free", "pro"], "description": "`free` on a free plan."},
            "expires": {**_NULLABLE_DATE, "description": "End of the paid plan; null: never."},
            "registered": _DATE,
            "usage": ref("Usage"),
        },
        required=["id", "email", "username", "avatar", "status", "expires", "registered", "usage"],
    ),
    "Usage": obj(
        {
            "links": ref("UsageOfLimit"),
            "clicks": {
                "allOf": [
                    ref("UsageOfLimit"),
                    obj(
                        {
                            "overQuota": {
                                "type": ["integer", "null"],
                                "minimum": 0,
                                "description": "Clicks this month left out (not tracked) "
                                "because the quota was reached; null: unknown.",
                            }
                        },
                        required=["overQuota"],
                    ),
                ],
                "description": "Tracked clicks this calendar month (UTC).",
            },
        },
        required=["links", "clicks"],
        description="(extension) What the user has used of their plan's limits. Admins are "
        "never limited: their limits show as 0.",
        example=USAGE_EXAMPLE,
    ),
    "UsageOfLimit": obj(
        {
            "used": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "null: the service that counts it did not answer (never a false 0).",
            },
            "limit": {"type": "integer", "minimum": 0, "description": "0 = no limit."},
            "reached": {
                "type": ["boolean", "null"],
                "description": "true: the quota is used up; null: unknown.",
            },
        },
        required=["used", "limit", "reached"],
    ),
    "User": {
        "allOf": [
            ref("Account"),
            obj(
                {
                    "planid": {
                        "type": "integer",
                        "description": "The plan in force (an expired paid plan counts as free).",
                    },
                    "apikey": {
                        "type": ["string", "null"],
                        "description": "Only the first characters: keys are stored hashed.",
                    },
                },
                required=["planid", "apikey"],
            ),
        ],
        "examples": [USER_EXAMPLE],
    },
    "Contact": obj(
        {
            "id": {"type": "integer"},
            "name": {"type": ["string", "null"]},
            "surname": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"], "format": "email"},
            "gsm": {"type": ["string", "null"]},
            "groups": {"type": "array", "items": {"type": "integer"}},
            "custom_fields": {
                "type": "array",
                "items": obj({"id": {"type": "integer"}, "value": {"type": "string"}}),
            },
            "date": _DATE,
            "updated": _DATE,
        },
        required=["id", "name", "surname", "email", "gsm", "groups", "custom_fields", "date"],
        example=CONTACT_EXAMPLE,
    ),
}

_PLAN_INPUT: Final = obj(
    {
        "name": {"type": "string", "maxLength": 64, "description": "Unique (else 409)."},
        "free": {"type": "boolean", "default": False},
        "prices": {
            "type": ["object", "null"],
            "properties": {
                k: {"type": ["number", "null"], "minimum": 0}
                for k in ("monthly", "yearly", "lifetime")
            },
        },
        "limits": {
            "type": "object",
            "description": "Any part of the `limits` shape; the rest stays as it is "
            '(a new plan starts from Starter\'s limits). Flags take "1"/"0", 1/0 or booleans.',
        },
        "rate": {
            "type": ["object", "null"],
            "description": "(extension) The plan's API rate; `null`: the default (30 per 60 s).",
            "properties": {
                "capacity": {"type": "integer", "minimum": 1},
                "window": {"type": "integer", "minimum": 1, "maximum": 86400},
            },
        },
    }
)
_PLAN_EXAMPLE: Final = {
    "name": "Agency",
    "prices": {"monthly": 29.0, "yearly": 290.0, "lifetime": None},
    "limits": {"links": 1000, "alias": {"enabled": "1"}, "domain": {"enabled": "1", "count": 5}},
    "rate": {"capacity": 120, "window": 60},
}

_CONTACT_INPUT: Final = obj(
    {
        "name": {"type": ["string", "null"], "maxLength": 100},
        "surname": {"type": ["string", "null"], "maxLength": 100},
        "email": {"type": ["string", "null"], "format": "email", "maxLength": 254},
        "gsm": {"type": ["string", "null"], "maxLength": 32, "description": "A phone number."},
        "groups": {
            "type": ["array", "null"],
            "items": {"type": "integer", "minimum": 1},
            "maxItems": 100,
            "description": "Your group ids (each must exist, else 404). On update it replaces "
            "the membership.",
        },
        "custom_fields": {
            "type": ["array", "object"],
            "maxItems": 100,
            "items": obj(
                {
                    "id": {"type": "integer", "minimum": 1},
                    "value": {"type": ["string", "number", "null"]},
                },
                required=["id"],
            ),
            "description": 'Values of your custom fields, `[{"id", "value"}]` or '
            '`{"<id>": value}`; each field must exist (else 404) and the value fit its type. '
            'On update, `null` or `""` removes a value and fields not named are kept.',
        },
    },
    description="At least one of name, surname, gsm, email must be filled (else 400).",
)


# The seed's add-contact envelopes.
_V1_STATUS: Final = obj(
    {
        "code": {"type": "integer", "enum": [200, 400, 401, 404, 463, 472, 473]},
        "message": {"type": "string"},
    },
    required=["code", "message"],
)
_V1_ERRORS: Final[dict[int, tuple[str, str]]] = {
    400: ("İstek çözümlenemedi", "The body is not the JSON asked for."),
    401: ("Üyelik bilgileri hatalı", "Unknown key, or a wrong hash."),
    404: ("API istek yapılan yönteme sahip değil", "No such method (any other /v1 path)."),
    463: ("Böyle bir grup bulunamadı.", "A group id is not one of yours."),
    472: (
        "Ad, soyad, cep telefonu, email alanlarından en az biri dolu olmalıdır.",
        "None of name, surname, gsm, email was given.",
    ),
    473: ("Özel alan bulunamadı.", "A custom field id is not one of yours."),
}
_V1_ID: Final = {"type": ["string", "integer"]}
_V1_CONTACT_IN: Final = obj(
    {
        "name": {"type": "string"},
        "surname": {"type": "string"},
        "email": {"type": "string"},
        "gsm": {"type": "string"},
        "custom_fields": obj(
            {
                "custom_field": {
                    "type": ["array", "object"],
                    "items": obj({"id": _V1_ID, "value": {"type": ["string", "number"]}}),
                }
            }
        ),
        "groups": obj(
            {
                "group": {
                    "type": ["object", "array"],
                    "description": '`{"id": ...}` or a list of them.',
                }
            }
        ),
    }
)
_V1_AUTH: Final = obj(
    {"key": {"type": "string"}, "hash": {"type": "string"}}, required=["key", "hash"]
)
_V1_REQUEST: Final = obj(
    {
        "request": obj(
            {"authentication": _V1_AUTH, "contact": _V1_CONTACT_IN},
            required=["authentication", "contact"],
        )
    },
    required=["request"],
)
_V1_REQUEST_EXAMPLE: Final = {
    "request": {
        "authentication": {
            "key": "Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV6cXV1eg",
            "hash": "5d41402abc4b2a76b9719d911017c592ae1f0c5a1b2c3d4e5f60718293a4b5c6",
        },
        "contact": {
            "name": "Ayşe",
            "surname": "Yılmaz",
            "email": "ayse@example.com",
            "gsm": "5057023100",
            "custom_fields": {"custom_field": [{"id": "1", "value": "27/09/2024"}]},
            "groups": {"group": {"id": "7"}},
        },
    }
}
_V1_CONTACT_OUT: Final = obj(
    {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "surname": {"type": "string"},
        "gsm": {"type": "string"},
        "email": {"type": "string"},
        "custom_fields": {
            "type": "array",
            "items": obj({"id": {"type": "integer"}, "value": {"type": "string"}}),
        },
        "groups": {"type": "array", "items": {"type": "integer"}},
    }
)
_V1_ANSWER: Final = obj(
    {"response": obj({"status": _V1_STATUS, "contact": _V1_CONTACT_OUT}, required=["status"])},
    required=["response"],
)
_V1_ANSWER_EXAMPLE: Final = {
    "response": {
        "status": {"code": 200, "message": "İşlem başarılı"},
        "contact": {
            "id": 12,
            "name": "Ayşe",
            "surname": "Yılmaz",
            "gsm": "5057023100",
            "email": "ayse@example.com",
            "custom_fields": [{"id": 1, "value": "27/09/2024"}],
            "groups": [7],
        },
    }
}


def _v1_answer(code: int, text: str) -> dict[str, Any]:
    return answer(
        _V1_ANSWER,
        _V1_ERRORS[code][1],
        example={"response": {"status": {"code": code, "message": text}}},
    )


PATHS: Final[dict[str, Any]] = {
    # --- account ---------------------------------------------------------------
    "/api/account": {
        "get": operation(
            "Get your account",
            tag=ACCOUNT_TAG,
            operation_id="getAccount",
            responses={
                "200": data_answer(
                    ref("Account"),
                    {
                        "id": 1,
                        "email": "sample@domain.com",
                        "username": "sampleuser",
                        "avatar": "https://www.gravatar.com/avatar/9a1b2c3d?d=identicon",
                        "status": "pro",
                        "expires": "2022-11-15 15:00:00",
                        "registered": "2020-11-10 18:01:43",
                        "usage": USAGE_EXAMPLE,
                    },
                )
            },
        )
    },
    "/api/account/update": {
        "put": operation(
            "Update your email and/or password",
            tag=ACCOUNT_TAG,
            operation_id="updateAccount",
            description="A new password signs out your browser sessions.",
            body=json_body(
                obj(
                    {
                        "email": {
                            "type": "string",
                            "format": "email",
                            "description": "Valid and not used by another account (else 409).",
                        },
                        "password": {"type": "string", "minLength": 5, "maxLength": 256},
                    }
                ),
                example={"email": "newemail@google.com", "password": "newpassword"},
            ),
            responses={"200": message("Account has been successfully updated.")},
            errors=(400, 404, 409),
        )
    },
    "/api/account/apikey/regenerate": {
        "post": operation(
            "Regenerate your API key",
            tag=ACCOUNT_TAG,
            operation_id="regenerateApiKey",
            description="(extension) Issues a new key and revokes the old one at once. "
            "The new key is shown only in this answer.",
            body=json_body(
                obj(
                    {
                        "expiration": {
                            **_DATE,
                            "description": "Optional: the new key stops working then.",
                        }
                    }
                ),
                required=False,
                example={"expiration": "2027-12-31 23:59:59"},
            ),
            responses={
                "200": answer(
                    success({"apikey": {"type": "string"}}, required=["apikey"]),
                    example={"error": 0, "apikey": "Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV6cXV1eg"},
                )
            },
            errors=(400, 404),
        )
    },
    "/api/account/secret": {
        "get": operation(
            "Get your API secret",
            tag=ACCOUNT_TAG,
            operation_id="getApiSecret",
            description="(extension) The key of the `hash` of `POST /v1/add-contact/json`: "
            "hex HMAC-SHA256 of your API key under this secret.",
            responses={
                "200": answer(
                    success({"secret": {"type": "string"}}, required=["secret"]),
                    example={"error": 0, "secret": "3f7c9a0e5b2d4c6e8f1a3b5d7c9e1f2a"},
                )
            },
            errors=(404,),
        )
    },
    # --- plans -----------------------------------------------------------------
    "/api/plans": {
        "get": operation(
            "List plans",
            tag=PLANS_TAG,
            operation_id="listPlans",
            description=ADMIN_ONLY,
            responses={
                "200": data_answer({"type": "array", "items": ref("Plan")}, [BUSINESS, STARTER])
            },
            errors=(403,),
        )
    },
    "/api/plan/{id}": {
        "get": get_operation(
            "Get a plan with its API rate",
            tag=PLANS_TAG,
            operation_id="getPlan",
            description="(extension) " + ADMIN_ONLY,
            what="plan",
            schema=ref("PlanDetail"),
            example={**BUSINESS, "rate": {"capacity": 30, "window": 60, "default": True}},
            errors=(403, 404),
        )
    },
    "/api/plan/add": {
        "post": operation(
            "Create a plan",
            tag=PLANS_TAG,
            operation_id="addPlan",
            description="(extension) " + ADMIN_ONLY,
            body=json_body(_PLAN_INPUT, example=_PLAN_EXAMPLE),
            responses={
                "200": answer(
                    success(
                        {
                            "message": {"type": "string"},
                            "id": {"type": "integer"},
                            "data": ref("PlanDetail"),
                        },
                        required=["message", "id", "data"],
                    ),
                    example={
                        "error": 0,
                        "message": "Plan has been created.",
                        "id": 3,
                        "data": {"id": 3, "name": "Agency", "free": False},
                    },
                )
            },
            errors=(400, 403, 409),
        )
    },
    "/api/plan/{id}/update": {
        "put": operation(
            "Update a plan",
            tag=PLANS_TAG,
            operation_id="updatePlan",
            description="(extension) " + ADMIN_ONLY + " Users on the plan get its new limits "
            "within seconds.",
            parameters=[path_id("plan")],
            body=json_body(_PLAN_INPUT, example={"limits": {"links": 200}}),
            responses={
                "200": answer(
                    success(
                        {"message": {"type": "string"}, "data": ref("PlanDetail")},
                        required=["message", "data"],
                    ),
                    example={"error": 0, "message": "Plan has been updated.", "data": BUSINESS},
                )
            },
            errors=(400, 403, 404, 409),
        )
    },
    "/api/plan/{planid}/user/{userid}": {
        "put": operation(
            "Subscribe a user to a plan",
            tag=PLANS_TAG,
            operation_id="subscribeUser",
            description=ADMIN_ONLY + " Without `expiration` the subscription ends a month or a "
            "year from now, or never (lifetime). When a paid plan expires the user is on the "
            "free plan.",
            parameters=[path_id("plan", "planid"), path_id("user", "userid")],
            body=json_body(
                obj(
                    {
                        "type": {"enum": ["monthly", "yearly", "lifetime"]},
                        "expiration": {**_DATE, "description": "Optional end of the plan."},
                    },
                    required=["type"],
                ),
                example={"type": "monthly", "expiration": "2022-11-06 12:09:45"},
            ),
            responses={"200": message("User has been subscribed to this plan.")},
            errors=(400, 403, 404),
        )
    },
    # --- users -----------------------------------------------------------------
    "/api/users": {
        "get": operation(
            "List users",
            tag=USERS_TAG,
            operation_id="listUsers",
            description=ADMIN_ONLY + " Newest first.",
            parameters=[
                query(
                    "filter",
                    "Only admins, users on a free plan, or on a paid one.",
                    {"enum": ["admin", "free", "pro"]},
                ),
                query("email", "Users whose email contains this (case-insensitive)."),
                query(
                    "limit",
                    "(extension) Users per page (default 100, at most 1000).",
                    {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                ),
                query("page", "(extension) Page, from 1.", {"type": "integer", "minimum": 1}),
            ],
            responses={"200": data_answer({"type": "array", "items": ref("User")}, [USER_EXAMPLE])},
            errors=(400, 403),
        )
    },
    "/api/user/{id}": {
        "get": get_operation(
            "Get a user",
            tag=USERS_TAG,
            operation_id="getUser",
            description=ADMIN_ONLY,
            what="user",
            schema=ref("User"),
            example=USER_EXAMPLE,
            errors=(403, 404),
        )
    },
    "/api/user/add": {
        "post": operation(
            "Create a user",
            tag=USERS_TAG,
            operation_id="addUser",
            description=ADMIN_ONLY + " The answer holds the user's API key; it is never shown "
            "again.",
            body=json_body(
                obj(
                    {
                        "username": {
                            "type": "string",
                            "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$",
                            "description": "Unique, case-insensitively (else 409).",
                        },
                        "email": {
                            "type": "string",
                            "format": "email",
                            "description": "Unique (else 409).",
                        },
                        "password": {"type": "string", "minLength": 5, "maxLength": 256},
                        "planid": {
                            "type": "integer",
                            "minimum": 1,
                            "description": "Default: the free plan.",
                        },
                        "expiration": {**_DATE, "description": "End of a paid plan."},
                    },
                    required=["username", "email", "password"],
                ),
                example={
                    "username": "user",
                    "password": "1234567891011",
                    "email": "demo@yourwebsite.com",
                    "planid": 1,
                    "expiration": "2020-11-20 11:00:00",
                },
            ),
            responses={
                "200": answer(
                    success(
                        {
                            "message": {"type": "string"},
                            "data": obj(
                                {
                                    "id": {"type": "integer"},
                                    "email": {"type": "string"},
                                    "username": {"type": "string"},
                                    "apikey": {"type": "string"},
                                },
                                required=["id", "email", "username", "apikey"],
                            ),
                        },
                        required=["message", "data"],
                    ),
                    example={
                        "error": 0,
                        "message": "User has been registered.",
                        "data": {
                            "id": 3,
                            "email": "demo@yourwebsite.com",
                            "username": "user",
                            "apikey": "Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV6cXV1eg",
                        },
                    },
                )
            },
            errors=(400, 403, 404, 409),
        )
    },
    "/api/user/{id}/delete": {
        "delete": operation(
            "Delete a user",
            tag=USERS_TAG,
            operation_id="deleteUser",
            description=ADMIN_ONLY + " Their key stops working at once, their links stop "
            "resolving and all their data is removed.",
            parameters=[path_id("user")],
            responses={"200": message("User has been deleted.")},
            errors=(400, 403, 404),
        )
    },
    "/api/user/login/{id}": {
        "get": operation(
            "Make a single sign-on link for a user",
            tag=USERS_TAG,
            operation_id="loginUser",
            description=ADMIN_ONLY + " The link works once, within one hour.",
            parameters=[path_id("user")],
            responses={
                "200": answer(
                    success({"url": {"type": "string", "format": "uri"}}, required=["url"]),
                    example={
                        "error": 0,
                        "url": "https://we.pn/user/login/sso/dqmpbqmryepaqcmtrvqqtqaprxqbfhcl",
                    },
                )
            },
            errors=(403, 404),
        )
    },
    # --- contacts --------------------------------------------------------------
    "/api/contacts": {
        "get": list_operation(
            "List contacts",
            tag=CONTACTS_TAG,
            operation_id="listContacts",
            description="Newest first.",
            parameters=[
                *PAGINATION_PARAMETERS,
                query(
                    "group",
                    "Only members of this group (404 if it is not yours).",
                    {"type": "integer", "minimum": 1},
                ),
                query("q", "Contacts whose name, surname, email or gsm contains this."),
            ],
            key="contacts",
            item=ref("Contact"),
            examples=[CONTACT_EXAMPLE],
            errors=(400, 404),
        )
    },
    "/api/contact/{id}": {
        "get": get_operation(
            "Get a contact",
            tag=CONTACTS_TAG,
            operation_id="getContact",
            what="contact",
            schema=ref("Contact"),
            example=CONTACT_EXAMPLE,
        )
    },
    "/api/contact/add": {
        "post": operation(
            "Add a contact",
            tag=CONTACTS_TAG,
            operation_id="addContact",
            body=json_body(
                _CONTACT_INPUT,
                example={
                    "name": "Ayşe",
                    "surname": "Yılmaz",
                    "email": "ayse@example.com",
                    "gsm": "+90 505 702 31 00",
                    "groups": [7],
                    "custom_fields": [{"id": 1, "value": "27/09/2024"}],
                },
            ),
            responses={"200": id_answer(12)},
            errors=(400, 404),
        )
    },
    "/api/contact/{id}/update": {
        "put": operation(
            "Update a contact",
            tag=CONTACTS_TAG,
            operation_id="updateContact",
            description='Only the fields sent change; `null` or `""` clears one.',
            parameters=[path_id("contact")],
            body=json_body(_CONTACT_INPUT, example={"gsm": "+90 505 000 00 00", "groups": []}),
            responses={"200": message("Contact has been updated successfully.")},
            errors=(400, 404),
        )
    },
    "/api/contact/{id}/delete": {
        "delete": operation(
            "Delete a contact",
            tag=CONTACTS_TAG,
            operation_id="deleteContact",
            parameters=[path_id("contact")],
            responses={"200": message("Contact has been deleted successfully.")},
            errors=(404,),
        )
    },
    "/api/contact/groups": {
        "get": list_operation(
            "List contact groups",
            tag=CONTACTS_TAG,
            operation_id="listContactGroups",
            key="groups",
            item=obj(
                {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "contacts": {"type": "integer", "description": "Members."},
                    "date": _DATE,
                }
            ),
            examples=[
                {"id": 7, "name": "Customers", "contacts": 42, "date": "2026-11-22 10:00:00"}
            ],
        )
    },
    "/api/contact/group/add": {
        "post": operation(
            "Add a contact group",
            tag=CONTACTS_TAG,
            operation_id="addContactGroup",
            body=json_body(
                obj({"name": {"type": "string", "maxLength": 100}}, required=["name"]),
                example={"name": "Customers"},
            ),
            responses={"200": id_answer(7)},
            errors=(400, 409),
        )
    },
    "/api/contact/group/{id}/delete": {
        "delete": operation(
            "Delete a contact group",
            tag=CONTACTS_TAG,
            operation_id="deleteContactGroup",
            description="Its contacts are kept; they leave the group.",
            parameters=[path_id("group")],
            responses={"200": message("Group has been deleted successfully.")},
            errors=(404,),
        )
    },
    "/api/contact/fields": {
        "get": list_operation(
            "List custom fields",
            tag=CONTACTS_TAG,
            operation_id="listContactFields",
            key="fields",
            item=obj(
                {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "type": {"enum": ["text", "number", "date"]},
                    "date": _DATE,
                }
            ),
            examples=[{"id": 1, "name": "Birthday", "type": "date", "date": "2026-11-22 10:00:00"}],
        )
    },
    "/api/contact/field/add": {
        "post": operation(
            "Add a custom field",
            tag=CONTACTS_TAG,
            operation_id="addContactField",
            body=json_body(
                obj(
                    {
                        "name": {"type": "string", "maxLength": 100},
                        "type": {"enum": ["text", "number", "date"]},
                    },
                    required=["name", "type"],
                ),
                example={"name": "Birthday", "type": "date"},
            ),
            responses={"200": id_answer(1)},
            errors=(400, 409),
        )
    },
    "/api/contact/field/{id}/delete": {
        "delete": operation(
            "Delete a custom field",
            tag=CONTACTS_TAG,
            operation_id="deleteContactField",
            description="(extension) Its values are removed from every contact.",
            parameters=[path_id("custom field")],
            responses={"200": message("Custom field has been deleted successfully.")},
            errors=(404,),
        )
    },
    # --- the seed's add-contact API -------------------------------------------------
    "/v1/add-contact/json": {
        "post": operation(
            "Add a contact (compatibility API)",
            tag=CONTACTS_TAG,
            operation_id="addContactV1",
            description=(
                'The published "add contact" API, envelopes and codes as published. No bearer '
                "key: `authentication.key` is your API key and `authentication.hash` the hex "
                "HMAC-SHA256 of that key under your API secret (`GET /api/account/secret`). "
                "The HTTP status is `status.code`. Rate-limited per client address."
            ),
            security=(),
            body=json_body(_V1_REQUEST, example=_V1_REQUEST_EXAMPLE),
            responses={
                "200": answer(_V1_ANSWER, "The contact was added.", example=_V1_ANSWER_EXAMPLE),
                **{str(code): _v1_answer(code, text) for code, (text, _) in _V1_ERRORS.items()},
            },
        )
    },
}
