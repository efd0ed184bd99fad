"""Plans (API.md §11): the published list, admins' own plans, subscriptions and
what an expired subscription means."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import asyncpg

from services.accounts.plans import add_months
from shared.dates import format_datetime, parse_datetime
from tests.accounts.conftest import AccountsApi, EventTap, SamplePlans
from tests.support import principals
from tests.support.principals import BUSINESS_LIMITS, STARTER_LIMITS, UNLIMITED_LIMITS


async def test_the_documented_sample_plans_are_the_published_ones(
    api: AccountsApi, plans: SamplePlans
) -> None:
    """docs/plans.md's JSON, posted as it stands, makes the seed's Starter and Business."""
    got = await api.call("GET", "/api/plans", principals.admin())
    assert got.status == 200
    assert got.body["error"] == 0
    by_id = {p["id"]: p for p in got.body["data"]}
    assert by_id[plans.business]["name"].startswith("Business ")
    assert {k: v for k, v in by_id[plans.business].items() if k != "name"} == {
        "id": plans.business,
        "free": False,
        "prices": {"monthly": 9.99, "yearly": 99.99, "lifetime": 999.99},
        "limits": BUSINESS_LIMITS,
    }
    assert {k: v for k, v in by_id[plans.starter].items() if k != "name"} == {
        "id": plans.starter,
        "free": True,
        "prices": None,
        "limits": STARTER_LIMITS,
    }
    assert list(by_id[plans.business]) == ["id", "name", "free", "prices", "limits"]
    assert list(by_id[plans.business]["limits"]) == list(BUSINESS_LIMITS)  # published order


async def test_plan_endpoints_are_admin_only(api: AccountsApi, plans: SamplePlans) -> None:
    _, who = await api.new_principal(planid=plans.business)
    for method, path, body in (
        ("GET", "/api/plans", None),
        ("GET", "/api/plan/1", None),
        ("POST", "/api/plan/add", {"name": "Mine"}),
        ("PUT", "/api/plan/1/update", {"name": "Mine"}),
        ("PUT", f"/api/plan/{plans.business}/user/{who.user_id}", {"type": "lifetime"}),
    ):
        got = await api.call(method, path, who, body)
        assert got.status == 403, path
        assert got.body == {"error": 1, "message": "Only administrators may use this endpoint."}


async def test_add_plan_merges_limits_over_the_defaults(api: AccountsApi) -> None:
    name = f"Agency {secrets.token_hex(3)}"
    got = await api.call(
        "POST",
        "/api/plan/add",
        principals.admin(),
        {
            "name": name,
            "prices": {"monthly": 29, "yearly": "290.5", "lifetime": None},
            "limits": {
                "links": 1000,
                "alias": {"enabled": True},
                "domain": {"enabled": 1, "count": 5},
            },
            "rate": {"capacity": 120, "window": 30},
        },
    )
    assert got.status == 200, got.body
    assert got.body["message"] == "Plan has been created."
    plan_id = got.body["id"]
    expected_limits = {
        **STARTER_LIMITS,
        "api": {"enabled": "1"},  # on in a new plan: its users' keys work
        "links": 1000,
        "alias": {"enabled": "1"},
        "domain": {"enabled": "1", "count": "5"},
    }
    assert got.body["data"] == {
        "id": plan_id,
        "name": name,
        "free": False,
        "prices": {"monthly": 29.0, "yearly": 290.5, "lifetime": None},
        "limits": expected_limits,
        "rate": {"capacity": 120, "window": 30, "default": False},
    }
    listed = (await api.call("GET", "/api/plans", principals.admin())).body["data"]
    mine = next(p for p in listed if p["id"] == plan_id)
    assert mine == {k: v for k, v in got.body["data"].items() if k != "rate"}
    # a user on it gets the plan's rate and limits
    user = await api.add_user(planid=plan_id)
    resolved = (await api.resolve(user.apikey)).body
    assert resolved["rate"] == {"capacity": 120, "window": 30}
    assert resolved["limits"] == expected_limits
    assert resolved["plan_id"] == plan_id


async def test_add_plan_refuses_bad_input_and_stores_nothing(
    api: AccountsApi, pg_pool: asyncpg.Pool
) -> None:
    name = f"Bad {secrets.token_hex(3)}"
    for body, message in (
        ({}, "The field 'name' is required."),
        ({"name": ""}, "The field 'name' must not be empty."),
        (
            {"name": name, "limits": {"links": -1}},
            "The limit 'links' must be between 0 and 2000000000.",
        ),
        (
            {"name": name, "limits": {"links": "many"}},
            "The limit 'links' must be a whole number (0 = unlimited).",
        ),
        (
            {"name": name, "limits": {"teleport": {"enabled": "1"}}},
            "Unknown plan limit 'teleport'.",
        ),
        ({"name": name, "limits": {"alias": {"count": 3}}}, "Unknown plan limit 'alias.count'."),
        (
            {"name": name, "limits": {"alias": {"enabled": "yes"}}},
            'The limit \'alias.enabled\' must be "1" or "0".',
        ),
        ({"name": name, "limits": [1]}, "The field 'limits' must be an object."),
        ({"name": name, "prices": {"monthly": -5}}, None),
        (
            {"name": name, "prices": {"weekly": 1}},
            "Unknown price 'weekly': use monthly, yearly, lifetime.",
        ),
        ({"name": name, "rate": {"capacity": 0}}, "The field 'capacity' must be at least 1."),
        ({"name": name, "free": "maybe"}, "The field 'free' must be a boolean."),
        (b"{", "Malformed JSON body."),
    ):
        got = await api.call("POST", "/api/plan/add", principals.admin(), body)
        assert got.status == 400, body
        if message:
            assert got.body == {"error": 1, "message": message}
    assert await pg_pool.fetchval("SELECT count(*) FROM accounts.plans WHERE name = $1", name) == 0


async def test_duplicate_plan_name_is_409(api: AccountsApi) -> None:
    got = await api.call("POST", "/api/plan/add", principals.admin(), {"name": "default"})
    assert got.status == 409
    assert got.body == {"error": 1, "message": "A plan with this name already exists."}


async def test_update_plan_invalidates_and_announces(api: AccountsApi, events: EventTap) -> None:
    admin = principals.admin()
    plan_id = (
        await api.call("POST", "/api/plan/add", admin, {"name": f"P {secrets.token_hex(3)}"})
    ).body["id"]
    user = await api.add_user(planid=plan_id)
    got = await api.call(
        "PUT",
        f"/api/plan/{plan_id}/update",
        admin,
        {"limits": {"links": 55, "geo": {"enabled": "1"}}, "rate": {"capacity": 5}},
    )
    assert got.status == 200, got.body
    assert got.body["message"] == "Plan has been updated."
    assert got.headers["X-Principal-Invalidate"] == f"plan:{plan_id}"
    # a new plan starts with API access on (its users' keys work)
    limits = {**STARTER_LIMITS, "api": {"enabled": "1"}, "links": 55, "geo": {"enabled": "1"}}
    assert got.body["data"]["limits"] == limits
    assert got.body["data"]["rate"] == {"capacity": 5, "window": 60, "default": False}
    event = await events.wait_for("plan.changed", plan_id=plan_id, user_id=None)
    assert event["payload"]["limits"] == limits
    resolved = (await api.resolve(user.apikey)).body
    assert resolved["limits"] == limits
    assert resolved["rate"] == {"capacity": 5, "window": 60}
    # back to the default rate
    cleared = await api.call("PUT", f"/api/plan/{plan_id}/update", admin, {"rate": None})
    assert cleared.body["data"]["rate"] == {"capacity": 30, "window": 60, "default": True}
    one = await api.call("GET", f"/api/plan/{plan_id}", admin)
    assert one.body["data"] == cleared.body["data"]


async def test_update_plan_failures(
    api: AccountsApi, pg_pool: asyncpg.Pool, plans: SamplePlans
) -> None:
    admin = principals.admin()
    select = "SELECT * FROM accounts.plans WHERE id = $1"
    before = await pg_pool.fetchrow(select, plans.business)
    assert (await api.call("PUT", "/api/plan/999999/update", admin, {"name": "X"})).status == 404
    assert (await api.call("GET", "/api/plan/999999", admin)).status == 404
    path = f"/api/plan/{plans.business}/update"
    dup = await api.call("PUT", path, admin, {"name": "Default"})
    assert dup.status == 409
    bad = await api.call("PUT", path, admin, {"limits": {"links": 1.5}})
    assert bad.status == 400
    assert await pg_pool.fetchrow(select, plans.business) == before


async def test_subscribe_monthly_yearly_lifetime(
    api: AccountsApi, events: EventTap, plans: SamplePlans
) -> None:
    admin = principals.admin()
    user = await api.add_user()
    for kind, months in (("monthly", 1), ("yearly", 12), ("lifetime", None)):
        before = datetime.now(UTC).replace(microsecond=0)
        path = f"/api/plan/{plans.business}/user/{user.id}"
        got = await api.call("PUT", path, admin, {"type": kind})
        after = datetime.now(UTC)
        assert got.status == 200
        assert got.body == {"error": 0, "message": "User has been subscribed to this plan."}
        assert got.headers["X-Principal-Invalidate"] == f"user:{user.id}"
        data = (await api.call("GET", f"/api/user/{user.id}", admin)).body["data"]
        assert data["status"] == "pro"
        assert data["planid"] == plans.business
        if months is None:
            assert data["expires"] is None
        else:
            expires = parse_datetime(data["expires"])
            assert expires is not None
            assert add_months(before, months) <= expires <= add_months(after, months)
    event = await events.wait_for("plan.changed", plan_id=plans.business, user_id=user.id)
    assert event["payload"]["limits"] == BUSINESS_LIMITS
    assert event["payload"]["role"] == "user"
    assert (await api.resolve(user.apikey)).body["limits"] == BUSINESS_LIMITS


async def test_subscribe_with_expiration_and_expiry_means_free(
    api: AccountsApi, events: EventTap, plans: SamplePlans
) -> None:
    admin = principals.admin()
    user = await api.add_user()
    future = format_datetime(datetime.now(UTC) + timedelta(days=3))
    path = f"/api/plan/{plans.business}/user/{user.id}"
    got = await api.call("PUT", path, admin, {"type": "monthly", "expiration": future})
    assert got.status == 200
    assert (await api.call("GET", f"/api/user/{user.id}", admin)).body["data"]["expires"] == future
    # the published example's date is in the past: the plan has expired, so the user is on
    # the lowest-numbered free plan (the install's default plan)
    got = await api.call(
        "PUT", path, admin, {"type": "monthly", "expiration": "2022-11-06 12:09:45"}
    )
    assert got.status == 200
    data = (await api.call("GET", f"/api/user/{user.id}", admin)).body["data"]
    assert data["status"] == "free"
    assert data["planid"] == 1
    assert data["expires"] == "2022-11-06 12:09:45"
    resolved = (await api.resolve(user.apikey)).body
    assert resolved["plan_id"] == 1
    assert resolved["limits"] == UNLIMITED_LIMITS
    await events.wait_for("plan.changed", plan_id=1, user_id=user.id)
    who = await api.principal(user.apikey)
    assert (await api.call("GET", "/api/account", who)).body["data"]["status"] == "free"


async def test_subscription_running_out_makes_the_user_free(
    api: AccountsApi, pg_pool: asyncpg.Pool, plans: SamplePlans
) -> None:
    user = await api.add_user(planid=plans.business, expiration="2099-01-01 00:00:00")
    assert (await api.resolve(user.apikey)).body["plan_id"] == plans.business
    await pg_pool.execute(
        "UPDATE accounts.users SET expires_at = now() - interval '1 second' WHERE id = $1", user.id
    )
    resolved = (await api.resolve(user.apikey)).body
    assert resolved["plan_id"] == 1
    assert resolved["limits"] == UNLIMITED_LIMITS


async def test_subscribe_to_the_free_plan_clears_the_expiry(
    api: AccountsApi, plans: SamplePlans
) -> None:
    admin = principals.admin()
    user = await api.add_user(planid=plans.business, expiration="2099-01-01 00:00:00")
    path = f"/api/plan/{plans.starter}/user/{user.id}"
    got = await api.call("PUT", path, admin, {"type": "monthly"})
    assert got.status == 200
    data = (await api.call("GET", f"/api/user/{user.id}", admin)).body["data"]
    assert (data["status"], data["planid"], data["expires"]) == ("free", plans.starter, None)
    assert (await api.resolve(user.apikey)).body["limits"] == STARTER_LIMITS


async def test_subscribe_failures(
    api: AccountsApi, pg_pool: asyncpg.Pool, plans: SamplePlans
) -> None:
    admin = principals.admin()
    user = await api.add_user()
    before = await pg_pool.fetchrow("SELECT * FROM accounts.users WHERE id = $1", user.id)
    for path, body, status, message in (
        (f"/api/plan/999999/user/{user.id}", {"type": "monthly"}, 404, "Plan not found."),
        (
            f"/api/plan/{plans.business}/user/999999999999",
            {"type": "monthly"},
            404,
            "User not found.",
        ),
        (f"/api/plan/{plans.business}/user/{user.id}", {}, 400, "The field 'type' is required."),
        (
            f"/api/plan/{plans.business}/user/{user.id}",
            {"type": "weekly"},
            400,
            "The field 'type' must be one of: monthly, yearly, lifetime.",
        ),
        (
            f"/api/plan/{plans.business}/user/{user.id}",
            {"type": "monthly", "expiration": "soon"},
            400,
            "The field 'expiration' must be a date as YYYY-MM-DD HH:MM:SS.",
        ),
        (
            f"/api/plan/{plans.business}/user/{user.id}",
            b"type=monthly",
            400,
            "Malformed JSON body.",
        ),
    ):
        got = await api.call("PUT", path, admin, body)
        assert got.status == status, (path, body)
        assert got.body == {"error": 1, "message": message}
    after = await pg_pool.fetchrow("SELECT * FROM accounts.users WHERE id = $1", user.id)
    assert after == before


def test_add_months_keeps_the_day_when_it_can() -> None:
    jan31 = datetime(2025, 1, 31, 10, 0, tzinfo=UTC)
    assert add_months(jan31, 1) == datetime(2025, 2, 28, 10, 0, tzinfo=UTC)
    assert add_months(jan31, 12) == datetime(2026, 1, 31, 10, 0, tzinfo=UTC)
    assert add_months(datetime(2024, 2, 29, tzinfo=UTC), 12) == datetime(2025, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2025, 12, 5, tzinfo=UTC), 1) == datetime(2026, 1, 5, tzinfo=UTC)
