"""Schemathesis over the OpenAPI document the API serves, against the running API on a real Redis
with projected customers: no 5xx and no response that breaks its documented schema, for every
operation, on generated valid and invalid requests. Bounded: a fixed number of examples per
operation, no deadline (2 shared cores), no shrinking past the first failure's report."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from .conftest import ServedApi

pytestmark = pytest.mark.integration

# Examples per operation and mode: 18 operations x 2 modes x 12 examples, ~30 s on 2 busy cores.
EXAMPLES_PER_OPERATION = 12
SNAPSHOT_SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas" / "score-snapshot.schema.json").read_text()
)


def snapshots_follow_the_published_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    """The snapshot routes document their body by reference (schemas/score-snapshot.schema.json),
    not in OpenAPI: check it here."""
    if response.status_code != 200:
        return None
    path = case.operation.path
    if path == "/v1/customers/{customer_id}":
        jsonschema.validate(response.json(), SNAPSHOT_SCHEMA)
    elif path == "/v1/at-risk":
        for item in response.json()["items"]:
            jsonschema.validate(item, SNAPSHOT_SCHEMA)
    return None


# One Hypothesis run per operation and generation mode (valid, then invalid requests); failures
# are collected so one report names every operation at fault.
RUN = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
CHECKS = [not_a_server_error, response_schema_conformance, snapshots_follow_the_published_schema]


def test_every_operation_answers_without_5xx_or_schema_violations(
    served_api: ServedApi, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = schemathesis.openapi.from_url(f"{served_api.url}/openapi.json")
    failures: list[str] = []
    tested: list[str] = []
    timings: dict[str, float] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        # It sends a message to the destination's URL: generated URLs would leave this machine.
        if operation.path.endswith("/test"):
            continue
        tested.append(label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @RUN
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                case.call_and_validate(checks=CHECKS)

            started = time.monotonic()
            try:
                run()
            except Unsatisfiable:
                pass  # no invalid request exists for an operation without parameters
            except Exception as exc:  # every failing operation is reported, not only the first
                failures.append(f"{label} ({mode.value}): {exc}")
            timings[f"{label} {mode.value}"] = time.monotonic() - started
    assert len(tested) >= 15, tested
    assert not failures, "\n\n".join(failures)
    with capsys.disabled():
        slowest = sorted(timings.items(), key=lambda kv: -kv[1])[:5]
        print(
            f"\n[outside] schemathesis: {len(tested)} operations, both modes, no failure; "
            f"slowest: " + ", ".join(f"{k} {v:.1f} s" for k, v in slowest)
        )
