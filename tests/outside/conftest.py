"""The API as a client sees it: `vitals api` served by uvicorn on a free port, over the real Redis
with a book of customers projected by the project's own ``ScoreProjection`` from offline-scorer
snapshots (a day-by-day history each), as the scorer would have published them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from e2e.services import running, with_api_port
from redis.asyncio import Redis

from vitals.core.events import parse_event
from vitals.platform.settings import Settings
from vitals.projector.writer import ScoreProjection
from vitals.scorer.offline import OfflineScorer
from vitals.tools.sim.generator import simulate
from vitals.tools.stackctl import run_blocking

CUSTOMERS = 16
DAYS = 60
DAY = 86_400.0


@dataclass(frozen=True)
class ServedApi:
    url: str
    settings: Settings
    # Each customer's latest snapshot, as served by GET /v1/customers/{id}.
    latest: dict[str, dict[str, Any]]


def daily_snapshots(events: list[dict[str, Any]]) -> list[tuple[dict[str, Any], bytes]]:
    """Snapshots of every customer at the end of each simulated day, oldest first."""
    engine = OfflineScorer()
    out: list[tuple[dict[str, Any], bytes]] = []
    day_end: float | None = None
    for raw in events:
        event = parse_event(raw)
        if day_end is None:
            day_end = (event.ts // DAY + 1) * DAY
        while event.ts >= day_end:
            out += [(s, orjson.dumps(s)) for s in _all(engine, day_end)]
            day_end += DAY
        engine.apply(event)
    assert day_end is not None
    out += [(s, orjson.dumps(s)) for s in _all(engine, day_end)]
    return out


def _all(engine: OfflineScorer, now: float) -> list[dict[str, Any]]:
    return [engine.snapshot(cid, now=now) for cid in sorted(engine.states)]


async def _project(settings: Settings, items: list[tuple[dict[str, Any], bytes]]) -> None:
    redis = Redis.from_url(settings.redis_url)
    try:
        await ScoreProjection(redis).apply(items)
    finally:
        await redis.aclose()


@pytest.fixture
def served_api(settings: Settings, tmp_path: Path) -> Iterator[ServedApi]:
    settings, url = with_api_port(settings)
    sim = simulate(CUSTOMERS, datetime(2026, 1, 1, tzinfo=UTC), DAYS, seed=23, kind="mixed")
    items = daily_snapshots(list(sim.events))
    run_blocking(lambda: _project(settings, items))
    latest = {snapshot["customer_id"]: snapshot for snapshot, _ in items}
    with running("api", ["api"], settings, tmp_path, f"{url}/healthz"):
        yield ServedApi(url, settings, latest)
