"""Issue 9, proof: schemathesis over ``/api/openapi.json`` against the running
processes finds no server error and no answer outside the JSON envelope."""

from __future__ import annotations

import asyncio
from typing import Final

import pytest
from schemathesis import GenerationMode

from tests.fuzz.fuzzing import EXCLUDED, Fuzzer, FuzzTarget, Steering
from tests.support.figures import report_figure

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz]

# Examples per operation and mode. Operations with few inputs run out of distinct
# cases sooner, so the total is counted, not assumed.
EXAMPLES: Final = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 15}
MIN_CASES: Final = 2_000
MIN_OPERATIONS: Final = 60
SEEDED_IDS: Final = (1, 2, 3)  # each kind's first objects in the fresh namespace


@pytest.mark.timeout(600)  # a safety net: the run takes 1-3 minutes
async def test_generated_requests_get_no_server_error_and_only_json_envelopes(
    fuzz_target: FuzzTarget, pytestconfig: pytest.Config
) -> None:
    admin, plan = str(fuzz_target.admin_id), str(fuzz_target.plan_id)
    steering = Steering(
        ids=SEEDED_IDS,
        protected={
            # never the admin's own plan (a rate of 1 would throttle the rest of the
            # run), never the admin itself as the user moved to another plan
            ("PUT /api/plan/{id}/update", "id"): {plan: str(fuzz_target.spare_plan_id)},
            ("PUT /api/plan/{planid}/user/{userid}", "userid"): {
                admin: str(fuzz_target.spare_user_id)
            },
        },
    )
    fuzzer = Fuzzer(fuzz_target.system.gateway_url, fuzz_target.key, steering)
    report = await asyncio.to_thread(fuzzer.run, EXAMPLES)
    report_figure(pytestconfig, report.summary())

    assert report.operations == report.described - len(EXCLUDED) >= MIN_OPERATIONS
    assert report.cases >= MIN_CASES
    assert not report.findings, report.summary()
