"""Is the projection whole? The read routes answer 503 "rebuilding" while it is not.

Redis is a projection of the `scores` topic. After a FLUSHALL, a lost Redis or while
``vitals rebuild-redis`` runs, it holds only part of the book: customers that exist would be 404
and lists short. The projection's completeness marker (``keys.ready``) is absent then, and the
read routes say so with a 503 problem and Retry-After instead of answering from partial data.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import Depends, Request
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from vitals.platform import keyspace as keys
from vitals.platform.problems import Problem

# The marker is read at most this often per API process: one EXISTS per second, not per request.
READY_CACHE_S = 1.0
# What a client is told to wait: a rebuild applies tens of thousands of snapshots per second, so
# most books are back within seconds to a minute.
REBUILDING_RETRY_AFTER_S = 10


class ProjectionReadiness:
    def __init__(
        self, redis: Redis | RedisCluster, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._redis = redis
        self._monotonic = monotonic
        self._checked_at = float("-inf")
        self._ready = False

    async def ready(self) -> bool:
        now = self._monotonic()
        if now - self._checked_at >= READY_CACHE_S:
            self._ready = bool(await self._redis.exists(keys.ready()))
            self._checked_at = now
        return self._ready


async def require_projection(request: Request) -> None:
    """Dependency of the routes that read the projection: 503 while it is incomplete."""
    readiness: ProjectionReadiness = request.app.state.readiness
    if not await readiness.ready():
        request.app.state.page_cache.invalidate()
        raise Problem(
            503,
            "Rebuilding",
            "the score projection in Redis is incomplete (flushed, lost or being rebuilt); "
            "retry later. Operators: run `vitals rebuild-redis` if no rebuild is running.",
            headers={"Retry-After": str(REBUILDING_RETRY_AFTER_S)},
        )


ProjectionReady = Depends(require_projection)
