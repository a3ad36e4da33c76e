"""Growth on the real broker and Redis: events sent twice through Kafka into the scorer's growth
agent give exactly the totals of the pure fold over the events sent once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from redis.asyncio import Redis

from vitals.core.events import parse_event
from vitals.growth.aggregate import Totals
from vitals.growth.config import DEFAULT_GROWTH
from vitals.growth.facts import arrival, facts
from vitals.growth.fold import apply_growth_event
from vitals.growth.projection import GrowthProjection
from vitals.growth.state import GrowthState
from vitals.platform.settings import Settings
from vitals.tools.sim.growth import simulate_growth

from .kafka_io import event_records, produce
from .services import await_for, running

pytestmark = pytest.mark.integration


async def test_growth_totals_in_redis_equal_the_pure_fold_despite_resends(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"growth_enabled": True})
    sim = simulate_growth(time.time() - 60 * 86_400, 60, seed=9, leads_per_day=2.0)
    events = list({e["event_id"]: e for e in sim.events}.values())
    expected = Totals()
    states: dict[str, GrowthState] = {}
    for raw in events:
        event = parse_event(raw)
        state = states.setdefault(event.customer_id, GrowthState(event.customer_id))
        apply_growth_event(state, event, DEFAULT_GROWTH)
    for s in states.values():
        expected.apply(s.entity_id, s.version, facts(s, DEFAULT_GROWTH), arrival(s, DEFAULT_GROWTH))
    assert expected.metrics["enter:customer"]

    redis = Redis.from_url(settings.redis_url)
    projection = GrowthProjection(redis)
    try:
        with running("scorer", ["scorer", "--loglevel", "warn"], settings, tmp_path):
            # At-least-once producers: everything twice, the second time in reverse order.
            await produce(settings, event_records(events))
            await produce(settings, event_records(reversed(events)))

            async def settled() -> bool | None:
                return (await projection.aggregates()) == expected.metrics or None

            await await_for(
                settled, timeout=180.0, interval=0.5, what="growth totals to match the pure fold"
            )
        assert await projection.arrivals(expected.arrivals) == expected.arrivals
    finally:
        await redis.aclose()
