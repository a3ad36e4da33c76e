"""``/v1/status``: is scoring keeping up? Scorer consumer lag and the projection's freshness.

Always answers 200 while the API runs: the body says what is wrong (``kafka.ok`` false with the
error, ``projection`` null fields before the first snapshot). Status is a report for people and
dashboards; probes belong to ``/readyz``. Redis down is the exception: then the API cannot serve
anything and this answers 503 like ``/readyz``.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from redis.exceptions import RedisError

from vitals.api.deps import LagProbeDep, ReadAccess, ReaderDep
from vitals.platform import keyspace as keys
from vitals.platform.problems import Problem

router = APIRouter(tags=["status"], dependencies=[ReadAccess])


@router.get("/v1/status")
async def status(reader: ReaderDep, probe: LagProbeDep) -> dict[str, Any]:
    """``kafka``: lag of the scorer group on the events topic (total and per partition) or the
    error that prevented reading it. ``projection``: stream watermark (latest as_of_ts projected,
    Unix s), last projection wall time, seconds since then, snapshots applied."""
    lag = await probe.check()
    try:
        meta = await reader.meta()
    except RedisError as exc:
        raise Problem(503, "Redis unavailable", f"cannot read the projection: {exc}") from None
    last = meta[keys.META_LAST_PROJECTION]
    return {
        "kafka": lag,
        "projection": {
            **meta,
            "seconds_since_last_projection": None if last is None else round(time.time() - last, 3),
        },
    }
