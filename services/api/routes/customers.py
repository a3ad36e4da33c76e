"""``/v1/customers``: one customer's current snapshot and its score history."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from vitals.api.deps import ReadAccess, ReaderDep
from vitals.api.readiness import ProjectionReady
from vitals.core.events import MAX_ID_LENGTH
from vitals.platform.problems import Problem
from vitals.projector.reader import MAX_HISTORY_LIMIT

router = APIRouter(
    prefix="/v1/customers", tags=["customers"], dependencies=[ReadAccess, ProjectionReady]
)

# Points a history request returns when it names no limit: every day kept (one point per day).
DEFAULT_HISTORY_LIMIT = MAX_HISTORY_LIMIT

CustomerId = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH)]
SNAPSHOT_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The score snapshot (schemas/score-snapshot.schema.json), as published.",
        "content": {"application/json": {}},
    },
    404: {
        "description": "No snapshot for this customer id.",
        "content": {"application/problem+json": {}},
    },
}


def _unknown(customer_id: str) -> Problem:
    return Problem(
        404, "Unknown customer", f"no scores for customer {customer_id!r} yet; check the id"
    )


@router.get("/{customer_id}", response_class=Response, responses=SNAPSHOT_DOC)
async def get_customer(customer_id: CustomerId, reader: ReaderDep) -> Response:
    """The customer's current scores: temperature, health, risk with components, bands and reasons,
    quadrant, RFM, CLV, lifecycle, repurchase, profile (owner, segment)."""
    snapshot = await reader.snapshot(customer_id)
    if snapshot is None:
        raise _unknown(customer_id)
    return Response(snapshot, media_type="application/json")


@router.get(
    "/{customer_id}/history",
    response_class=Response,
    responses={
        200: {
            "description": '{"customer_id", "points": [{as_of_ts, temperature, health, '
            "risk, quadrant, stage, reasons}]}, oldest first: one point per UTC day (the day's "
            "last scores), the last 90 days. Values are in half-point steps and may be null; "
            "an older day's as_of_ts is the end of that day; reasons is empty (the current "
            "reasons are in the snapshot).",
            "content": {"application/json": {}},
        }
    },
)
async def get_history(
    customer_id: CustomerId,
    reader: ReaderDep,
    limit: Annotated[int, Query(ge=1, le=MAX_HISTORY_LIMIT)] = DEFAULT_HISTORY_LIMIT,
) -> Response:
    """The last ``limit`` daily score points of the customer, oldest first (Unix seconds)."""
    points = await reader.history(customer_id, limit)
    if points is None:
        raise _unknown(customer_id)
    body = b'{"customer_id":' + orjson.dumps(customer_id) + b',"points":' + points + b"}"
    return Response(body, media_type="application/json")
