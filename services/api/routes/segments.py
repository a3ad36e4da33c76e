"""``/v1/segments``: how the book of customers splits by RFM segment, lifecycle stage, quadrant…"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from vitals.api.deps import ReadAccess, ReaderDep
from vitals.api.readiness import ProjectionReady

router = APIRouter(tags=["segments"], dependencies=[ReadAccess, ProjectionReady])


@router.get("/v1/segments")
async def segments(reader: ReaderDep) -> dict[str, Any]:
    """Customer counts: ``rfm`` (RFM segment), ``lifecycle`` (stage), ``quadrant``, ``risk_band``,
    ``owner`` and ``segment`` (profile segment), plus ``customers`` in total."""
    counts = await reader.counts()
    return {
        "customers": counts["customers"],
        "rfm": counts["rfm"],
        "lifecycle": counts["stage"],
        "quadrant": counts["quadrant"],
        "risk_band": counts["band"],
        "owner": counts["owner"],
        "segment": counts["segment"],
    }
