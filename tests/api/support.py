"""Score snapshots for API tests: the projection tests' factory, plus seeding Redis with them."""

from __future__ import annotations

from typing import Any

from projector.support import make_snapshot
from redis.asyncio import Redis

from vitals.projector.writer import ScoreProjection

__all__ = ["make_snapshot", "seed"]


async def seed(redis: Redis, items: list[tuple[dict[str, Any], bytes]]) -> None:
    await ScoreProjection(redis).apply(items)
