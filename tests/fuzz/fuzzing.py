"""Schemathesis over the published description, against the running processes.

Every operation of ``GET /api/openapi.json`` gets cases generated from its
description (schema-valid ones and schema-violating ones), sent through the
gateway with a key whose plan enables every feature. Each answer is checked as a
client of the contract would check it: never a 5xx, JSON unless the description
says otherwise (the CSV export, the HTML reference), and every error in the
``{"error": 1, "message": ...}`` envelope (the add-contact compatibility API: the
seed's own envelope). Findings are collected, not raised at the first one, so one
run shows all of them."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import hypothesis
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.schemas import OpenApiSchema
from schemathesis.transport.prepare import get_exclude_headers

from tests.support.system import RunningSystem

AnyCase = schemathesis.Case[Any]
DEFAULT_SEED: Final = 20261202
# Left out: it revokes the very key every later case sends. (Operations that could
# delete, lock out or throttle the admin by id are fuzzed on a stand-in: Steering.)
EXCLUDED: Final = frozenset({"POST /api/account/apikey/regenerate"})
JSON: Final = "application/json"
MAX_FINDINGS_SHOWN: Final = 30
REQUEST_TIMEOUT: Final = 15.0
QUEUED_CASES: Final = 200  # generated, not yet sent


@dataclass(frozen=True, slots=True)
class FuzzTarget:
    system: RunningSystem
    key: str
    admin_id: int
    plan_id: int  # the admin's own plan
    spare_user_id: int  # a user the fuzzer may change at will
    spare_plan_id: int  # a plan the fuzzer may change at will


@dataclass(frozen=True, slots=True)
class Finding:
    operation: str
    problem: str  # what is wrong with the answer
    status: int
    request: str  # enough to replay it: method, URL, body

    def __str__(self) -> str:
        return f"{self.operation}: {self.problem} (HTTP {self.status})\n      {self.request}"


@dataclass(slots=True)
class FuzzReport:
    seed: int = DEFAULT_SEED
    cases: int = 0
    described: int = 0  # operations in the description
    operations: int = 0  # operations fuzzed
    seconds: float = 0.0
    seconds_sending: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    by_operation: dict[str, Counter[int]] = field(default_factory=dict)
    failures: int = 0  # failing answers
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)  # first of each kind
    skipped: dict[str, str] = field(default_factory=dict)  # operation (mode) → why nothing ran

    def record(self, label: str, status: int) -> None:
        self.cases += 1
        self.statuses[status] += 1
        self.by_operation.setdefault(label, Counter())[status] += 1

    def add(self, finding: Finding) -> None:
        self.failures += 1
        self.findings.setdefault((finding.operation, finding.problem), finding)

    def summary(self) -> str:
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        lines = [
            f"schemathesis {schemathesis.__version__}, seed {self.seed}: {self.cases} cases, "
            f"{self.operations} of {self.described} operations (excluded: key regeneration), "
            f"{self.failures} failures of {len(self.findings)} kinds, "
            f"{self.seconds:.0f} s",
            f"  answers: {statuses}; {self.seconds_sending:.0f} s of the run waiting for them",
        ]
        lines += [f"  nothing generated for {name}: {why}" for name, why in self.skipped.items()]
        unreached = [label for label, seen in self.by_operation.items() if not _succeeded(seen)]
        if unreached:
            lines.append(f"  no success answer from: {', '.join(sorted(unreached))}")
        throttled = {label: seen[429] for label, seen in self.by_operation.items() if seen[429]}
        if throttled:
            lines.append(f"  answered 429: {', '.join(f'{k} ({n})' for k, n in throttled.items())}")
        lines += [f"  {finding}" for finding in list(self.findings.values())[:MAX_FINDINGS_SHOWN]]
        return "\n".join(lines)


def _succeeded(statuses: Counter[int]) -> bool:
    return any(200 <= status < 300 for status in statuses)


def described_media_types(operation: Any, status: int) -> set[str]:
    """The media types the description gives for this status (inline ones; JSON always)."""
    responses = operation.definition.raw.get("responses", {})
    described = responses.get(str(status)) or responses.get(f"{status // 100}XX") or {}
    return {JSON, *described.get("content", {})}


def problem_with(
    path: str, status: int, content_type: str, body: bytes, allowed: set[str]
) -> str | None:
    """What a client of the contract would object to in this answer (None: nothing)."""
    if status >= 500:
        return f"server error {status}: {body[:120]!r}"
    media_type = content_type.split(";")[0].strip()
    if media_type not in allowed:
        return f"content type {content_type!r}, not {' or '.join(sorted(allowed))}"
    if media_type != JSON:
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return f"body is not JSON: {body[:120]!r}"
    if status < 400:
        return None
    if path.startswith("/v1/"):
        # The add-contact compatibility API answers the seed's own envelope.
        inner = parsed.get("response") if isinstance(parsed, dict) else None
        block = inner.get("status") if isinstance(inner, dict) else None
        if not isinstance(block, dict) or not isinstance(block.get("message"), str):
            return f"error not in the add-contact envelope: {body[:120]!r}"
        return None
    if (
        not isinstance(parsed, dict)
        or parsed.get("error") != 1
        or not isinstance(parsed.get("message"), str)
    ):
        return f"error not in the envelope: {body[:120]!r}"
    return None


def describe(request: requests.PreparedRequest) -> str:
    body = request.body
    if isinstance(body, bytes):
        body = body[:300].decode(errors="replace")
    return f"{request.method} {request.url} {body or ''}".strip()


@dataclass(frozen=True, slots=True)
class Steering:
    """Path parameters the generator may use instead of its own numbers: ids of
    objects that exist, so cases reach the handlers' deeper paths, not only the 404.
    ``protected`` swaps a path parameter value that would lock out, delete or
    throttle the fuzzing admin (its own user, its own plan) for a stand-in's, so
    those operations are fuzzed too, on someone else."""

    ids: tuple[int, ...]
    # (path template prefix, parameter) → {value: stand-in}
    protected: Mapping[tuple[str, str], Mapping[str, str]]

    def apply(self, case: AnyCase, picks: Mapping[str, int | None]) -> None:
        for name, pick in picks.items():
            if pick is not None:
                case.path_parameters[name] = pick
        for (prefix, name), swap in self.protected.items():
            if case.operation.path.startswith(prefix) and name in case.path_parameters:
                value = case.path_parameters[name]
                case.path_parameters[name] = swap.get(str(value), value)


class Fuzzer:
    def __init__(
        self, gateway_url: str, key: str, steering: Steering, seed: int = DEFAULT_SEED
    ) -> None:
        self.gateway_url = gateway_url
        # Fixed on every case: a generated or dropped Authorization header would
        # count as a failed login of this address and lock the whole run out.
        self.headers = {"Authorization": f"Bearer {key}"}
        self.steering = steering
        self.session = requests.Session()
        self.report = FuzzReport(seed=seed)

    def load(self) -> OpenApiSchema:
        document = requests.get(f"{self.gateway_url}/api/openapi.json", timeout=10).json()
        return schemathesis.openapi.from_dict(document)

    def operations(self, schema: OpenApiSchema) -> list[Any]:
        """Every described operation but the excluded ones; deletions last, so the
        objects they remove serve the other operations' cases first."""
        found = []
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operation = result.ok()
            if operation.label not in EXCLUDED:
                found.append(operation)
        return sorted(found, key=lambda op: (op.method.upper() == "DELETE", op.label))

    def send(self, case: AnyCase) -> None:
        label = case.operation.label
        started = time.monotonic()
        try:
            response = case.call(
                base_url=self.gateway_url,
                session=self.session,
                headers=self.headers,
                timeout=REQUEST_TIMEOUT,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            self.report.add(Finding(label, f"no answer: {exc!r}"[:200], 0, case.formatted_path))
            return
        finally:
            self.report.seconds_sending += time.monotonic() - started
        self.report.record(label, response.status_code)
        content_type = (response.headers.get("content-type") or [""])[0]
        allowed = described_media_types(case.operation, response.status_code)
        problem = problem_with(
            case.path, response.status_code, content_type, response.content, allowed
        )
        if problem is not None:
            self.report.add(
                Finding(label, problem, response.status_code, describe(response.request))
            )

    def send_all(self, cases: queue.Queue[AnyCase | None]) -> None:
        while (case := cases.get()) is not None:
            self.send(case)

    def generate(
        self,
        operation: Any,
        mode: GenerationMode,
        examples: int,
        cases: queue.Queue[AnyCase | None],
    ) -> None:
        picks = st.fixed_dictionaries(
            {
                p.name: st.one_of(st.none(), st.sampled_from(self.steering.ids))
                for p in operation.path_parameters
                if "integer" in json.dumps(p.definition.get("schema", {}))
            }
        )

        @hypothesis.seed(self.report.seed)
        @hypothesis.settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
            verbosity=hypothesis.Verbosity.quiet,
            print_blob=False,
        )
        @hypothesis.given(
            case=operation.as_strategy(generation_mode=mode, headers=self.headers), chosen=picks
        )
        def run(case: AnyCase, chosen: dict[str, int | None]) -> None:
            self.steering.apply(case, chosen)
            cases.put(case)

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            # e.g. no schema-violating request exists for an operation without inputs
            self.report.skipped[f"{operation.label} ({mode.value})"] = "no such input"

    def boundaries(
        self, schema: OpenApiSchema, operation: Any, cases: queue.Queue[AnyCase | None]
    ) -> None:
        """Schemathesis's coverage phase: each input at and past its declared limits,
        missing, of the wrong type (deterministic, no seed needed)."""
        for case in schema.iter_coverage_cases(
            operation,
            generation_modes=list(GenerationMode),
            generation_config=schema.config.generation_for(operation=operation),
        ):
            if "Authorization" in get_exclude_headers(case):
                continue  # a request without the key: failed logins would lock the run out
            self.steering.apply(case, {})
            cases.put(case)

    def run(self, examples: Mapping[GenerationMode, int], *, coverage: bool = False) -> FuzzReport:
        started = time.monotonic()
        schema = self.load()
        operations = self.operations(schema)
        self.report.described = sum(1 for _ in schema.get_all_operations())
        self.report.operations = len(operations)
        # Generating costs this process's CPU, answering the services': one thread
        # sends while the next cases are generated, in generation order (so the
        # same seed sends the same requests in the same order).
        cases: queue.Queue[AnyCase | None] = queue.Queue(maxsize=QUEUED_CASES)
        sender = threading.Thread(target=self.send_all, args=(cases,), name="fuzz-sender")
        sender.start()
        try:
            for operation in operations:
                if coverage:
                    self.boundaries(schema, operation, cases)
                for mode, count in examples.items():
                    self.generate(operation, mode, count, cases)
        finally:
            cases.put(None)
            sender.join()
        self.report.seconds = time.monotonic() - started
        return self.report
