"""The Redis growth projection keeps the same totals as its in-memory twin (aggregate.Totals)
under duplicated, stale and reordered snapshots, on the real Redis."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from vitals.core.events import parse_event
from vitals.growth.aggregate import Snapshot, Totals
from vitals.growth.config import GrowthConfig
from vitals.growth.fold import apply_growth_event
from vitals.growth.processor import snapshot_of
from vitals.growth.projection import GrowthProjection
from vitals.growth.state import GrowthState
from vitals.platform.settings import Settings

from .factories import DAY, START, stamp

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


def _random_event(rng: random.Random, index: int) -> dict[str, Any]:
    entity = rng.choice(["e0", "e1", "e2", "e3"])
    event: dict[str, Any] = {
        "event_id": f"ev{index}",
        "customer_id": entity,
        "timestamp": stamp(START + rng.randrange(200) * DAY),
    }
    kind = rng.choice(["lead", "lead", "usage", "purchase", "referral", "experiment"])
    event["type"] = kind
    if kind == "lead":
        event["name"] = rng.choice(["created", "engaged", "converted", "stage_changed"])
        event["properties"] = {"tags": ["demo-request"], "stage": "sql"}
    elif kind == "usage":
        event["name"] = rng.choice(["report.exported", "login"])
    elif kind == "purchase":
        event["amount"] = rng.choice([30.0, 300.0])
    elif kind == "referral":
        event["name"] = "invite_accepted"
        event["properties"] = {"referrer_id": rng.choice(["e0", "e1"])}
    else:
        event["name"] = "assigned"
        event["properties"] = {"experiment": "x", "arm": rng.choice(["control", "treatment"])}
    return event


def _snapshots(seed: int) -> list[Snapshot]:
    """Snapshots as a growth agent emits them over a shuffled, duplicated stream."""
    rng = random.Random(seed)
    parsed = [parse_event(_random_event(rng, i)) for i in range(80)]
    delivered = parsed + rng.sample(parsed, 20)
    rng.shuffle(delivered)
    config = GrowthConfig()
    states: dict[str, GrowthState] = {}
    out = []
    for event in delivered:
        state = states.setdefault(event.customer_id, GrowthState(event.customer_id))
        apply_growth_event(state, event, config)
        out.append(snapshot_of(state, config))
    return out


async def test_redis_totals_equal_the_in_memory_twin_under_stale_and_repeated_snapshots(
    redis: Redis,
) -> None:
    snapshots = _snapshots(7)
    rng = random.Random(3)
    # At-least-once: every snapshot once in order, then a third of them again, out of order.
    replay = snapshots + rng.sample(snapshots, len(snapshots) // 3)
    projection = GrowthProjection(redis)
    twin = Totals()
    for start in range(0, len(replay), 7):
        chunk = replay[start : start + 7]
        await projection.apply(chunk)
        for snap in chunk:
            twin.apply_snapshot(snap)
    assert await projection.aggregates() == twin.metrics
    assert await projection.arrivals(twin.arrivals) == twin.arrivals
    assert twin.cohorts  # the generated stream has referrers
    assert await projection.cohorts(snap.entity for snap in snapshots) == twin.cohorts
    # The final totals are exactly the sum of each entity's latest facts.
    latest: dict[str, Snapshot] = {}
    for snap in snapshots:
        latest[snap.entity] = snap
    fresh = Totals()
    for snap in latest.values():
        fresh.apply(snap.entity, snap.version, snap.facts)
    assert twin.metrics == fresh.metrics


async def test_decisions_are_recorded_once(redis: Redis) -> None:
    projection = GrowthProjection(redis)
    assert await projection.record_decision("x", "treatment", {"decision": "treatment better"})
    assert not await projection.record_decision("x", "treatment", {"decision": "other"})
    assert (await projection.decisions())["x|treatment"]["decision"] == "treatment better"
