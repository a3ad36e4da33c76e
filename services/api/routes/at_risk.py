"""``/v1/at-risk``: ranked, filtered, paged lists of customers, most at risk first."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query
from starlette.responses import Response

from vitals.api.deps import PageCacheDep, ReadAccess, ReaderDep
from vitals.api.readiness import ProjectionReady
from vitals.platform.keyspace import Order
from vitals.platform.problems import Problem
from vitals.projector.reader import DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, InvalidCursor

router = APIRouter(tags=["at-risk"], dependencies=[ReadAccess, ProjectionReady])

# Filter values are owner names, segments, quadrants or bands: short labels.
MAX_FILTER_LENGTH = 128
# Cursors are base64 of (order, value, customer id ≤ 128 chars): far below this.
MAX_CURSOR_LENGTH = 1024
Filter = Annotated[str | None, Query(min_length=1, max_length=MAX_FILTER_LENGTH)]


@router.get(
    "/v1/at-risk",
    response_class=Response,
    responses={
        200: {
            "description": '{"items": [snapshot, ...], "next_cursor": str | null}',
            "content": {"application/json": {}},
        }
    },
)
async def at_risk(
    reader: ReaderDep,
    cache: PageCacheDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_LIMIT)] = DEFAULT_PAGE_LIMIT,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
    order: Order = "risk",
    owner: Filter = None,
    segment: Filter = None,
    quadrant: Filter = None,
    band: Filter = None,
    status: Literal["active", "churned", "all"] = "active",
) -> Response:
    """Customers ordered by risk (0–100) or by revenue at risk (risk/100 × MRR), highest first;
    ties by customer id. Filters combine (all must hold). Pass ``next_cursor`` back as ``cursor``
    for the next page; it is null on the last page. Paging is by position (value, id), not offset:
    customers whose scores do not change while you page are listed exactly once. ``status``:
    "active" (default) leaves out churned customers (lifecycle stage churned), "churned" lists only
    them (win-back), "all" both. Each single filter (with a status) is one ranked list kept by the
    projection, so a page costs the same at any size; two or more of owner/segment/quadrant/band
    at once are checked while walking the most selective list, so such a page may hold fewer than
    ``limit`` items and still have a ``next_cursor``: page until it is null."""
    key = ("at-risk", order, limit, cursor, owner, segment, quadrant, band, status)
    cached = cache.get(key)
    if cached is not None:
        return Response(cached, media_type="application/json")
    generation = cache.generation
    try:
        page = await reader.at_risk(
            order=order,
            limit=limit,
            cursor=cursor,
            filters={
                "owner": owner,
                "segment": segment,
                "quadrant": quadrant,
                "band": band,
                "status": None if status == "all" else status,
            },
        )
    except InvalidCursor as exc:
        raise Problem(400, "Invalid cursor", str(exc)) from None
    body = (
        b'{"items":['
        + b",".join(page.items)
        + b'],"next_cursor":'
        + orjson.dumps(page.next_cursor)
        + b"}"
    )
    cache.put(key, body, generation)
    return Response(body, media_type="application/json")
