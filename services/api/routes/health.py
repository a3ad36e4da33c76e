"""Probes and metrics: ``/healthz`` (process alive), ``/readyz`` (Redis answers), ``/metrics``."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError
from starlette.responses import Response

from vitals.api.deps import RedisDep
from vitals.platform.problems import problem

router = APIRouter(tags=["operations"])

# A readiness probe must answer before the orchestrator's own timeout (typically 1 s).
READY_PING_TIMEOUT_S = 0.5


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """200 while the process serves requests (liveness)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(redis: RedisDep) -> dict[str, str] | Response:
    """200 when Redis answers a PING within 0.5 s, else 503 (take this replica out of rotation)."""
    try:
        await asyncio.wait_for(redis.ping(), READY_PING_TIMEOUT_S)
    except (RedisError, OSError, TimeoutError) as exc:
        not_ready: Response = problem(503, "Not ready", f"Redis does not answer: {exc!r}")
        return not_ready
    return {"status": "ready"}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition of this API's metrics."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
