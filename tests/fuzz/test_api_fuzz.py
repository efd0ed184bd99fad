"""Issue 9, proof: schemathesis over ``/api/openapi.json`` against the running
processes finds no server error and no answer outside the JSON envelope."""

from __future__ import annotations

import asyncio
import os
from functools import partial
from typing import Final

import pytest
from schemathesis import GenerationMode

from tests.fuzz.fuzzing import DEFAULT_SEED, EXCLUDED, Fuzzer, FuzzTarget, Steering
from tests.support.figures import report_figure

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz]

# Examples per operation and mode. Operations with few inputs run out of distinct
# cases sooner, so the total is counted, not assumed. A longer or another search:
# FUZZ_EXAMPLES=100 FUZZ_SEED=7 pytest tests/fuzz; FUZZ_COVERAGE=1 adds schemathesis's
# coverage phase (about 5,000 boundary cases).
PER_MODE: Final = int(os.environ.get("FUZZ_EXAMPLES", "15"))
EXAMPLES: Final = {GenerationMode.POSITIVE: PER_MODE, GenerationMode.NEGATIVE: PER_MODE}
SEED: Final = int(os.environ.get("FUZZ_SEED", DEFAULT_SEED))
COVERAGE: Final = os.environ.get("FUZZ_COVERAGE") == "1"
MIN_CASES: Final = 2_000
MIN_OPERATIONS: Final = 60
SEEDED_IDS: Final = (1, 2, 3)  # each kind's first objects in the fresh namespace


@pytest.mark.timeout(
    40 * PER_MODE + 1200 * COVERAGE
)  # a safety net: the default run takes 1-3 minutes
async def test_generated_requests_get_no_server_error_and_only_json_envelopes(
    fuzz_target: FuzzTarget, pytestconfig: pytest.Config
) -> None:
    admin, plan = str(fuzz_target.admin_id), str(fuzz_target.plan_id)
    spare_user, spare_plan = str(fuzz_target.spare_user_id), str(fuzz_target.spare_plan_id)
    steering = Steering(
        ids=SEEDED_IDS,
        protected={
            # the admin's own user is never deleted, locked out (keys revoked,
            # password changed) or moved to another plan: a spare user is
            ("/api/user/{id}", "id"): {admin: spare_user},
            ("/api/plan/{planid}/user/{userid}", "userid"): {admin: spare_user},
            # nor is its plan changed (a rate of 1 would throttle the rest of the run)
            ("/api/plan/{id}", "id"): {plan: spare_plan},
        },
    )
    fuzzer = Fuzzer(fuzz_target.system.gateway_url, fuzz_target.key, steering, SEED)
    report = await asyncio.to_thread(partial(fuzzer.run, EXAMPLES, coverage=COVERAGE))
    report_figure(pytestconfig, report.summary())

    assert report.operations == report.described - len(EXCLUDED) >= MIN_OPERATIONS
    # the key worked throughout: otherwise every later answer was a 401/429 envelope
    # and the run proved nothing (the add-contact API takes no key, and limits per address)
    refused = {
        label: seen[401] + seen[429]
        for label, seen in report.by_operation.items()
        if label != "POST /v1/add-contact/json" and seen[401] + seen[429]
    }
    assert not refused, refused
    assert report.cases >= MIN_CASES
    assert not report.findings, report.summary()
