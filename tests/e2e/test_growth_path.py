"""Growth on the real broker and Redis: events sent twice through Kafka into the growth worker
(`vitals growth`) give exactly the totals of the pure fold over the events sent once, also when
the worker is SIGKILLed mid-stream and restarted, while a scorer on the same events scores
exactly as the offline engine (the two are separate consumer groups: neither holds the other)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from vitals.core.events import parse_event
from vitals.core.growth_events import GROWTH_EVENT_TYPES
from vitals.growth.aggregate import Totals
from vitals.growth.config import DEFAULT_GROWTH
from vitals.growth.fold import apply_growth_event
from vitals.growth.processor import snapshot_of
from vitals.growth.projection import GrowthProjection
from vitals.growth.state import GrowthState
from vitals.platform.settings import Settings
from vitals.tools.sim.generator import simulate
from vitals.tools.sim.growth import merge_by_time, simulate_growth

from .kafka_io import TopicReader, event_records, produce, produce_pipelined, topic_size
from .offline import assert_equal_to_offline, await_all_scored, offline_engine
from .services import await_for, kill9, running

pytestmark = pytest.mark.integration

# Joining the group, recovering the table and folding a few thousand events takes 10-60 s on 2
# busy cores; a restart adds a rebalance.
SETTLED_TIMEOUT_S = 180.0


def growth_events() -> list[dict[str, Any]]:
    sim = simulate_growth(time.time() - 60 * 86_400, 60, seed=9, leads_per_day=2.0)
    return list({e["event_id"]: e for e in sim.events}.values())


async def totals_mismatch(redis: Redis, projection: GrowthProjection, expected: Totals) -> str:
    """What differs between Redis and the pure fold: each metric cell (actual vs expected) and
    each entity whose stored facts differ (with the stored version): tells a wrong total (a
    lost or doubled snapshot) from one that is merely late (entities not written yet)."""
    actual = await projection.aggregates()
    cells = []
    for metric in sorted(set(actual) | set(expected.metrics)):
        got, want = actual.get(metric, {}), expected.metrics.get(metric, {})
        for cell in sorted(set(got) | set(want)):
            if got.get(cell, 0) != want.get(cell, 0):
                cells.append(f"{metric} {cell}: {got.get(cell, 0)} (expected {want.get(cell, 0)})")
    entities = []
    for entity, (version, want_facts) in sorted(expected.entities.items()):
        stored = await redis.hmget(f"{projection.prefix}e:{entity}", ["v", "f"])
        got_facts = orjson.loads(stored[1]) if stored[1] else {}
        if got_facts != want_facts:
            diff = {
                f: (got_facts.get(f, 0), want_facts.get(f, 0))
                for f in sorted(set(got_facts) | set(want_facts))
                if got_facts.get(f, 0) != want_facts.get(f, 0)
            }
            entities.append(f"{entity} v={stored[0]!r} (fold v={version}): {diff}")
    return (
        f"{len(cells)} metric cells differ: {cells[:40]}; "
        f"{len(entities)} of {len(expected.entities)} entities differ: {entities[:20]}"
    )


async def await_totals(
    redis: Redis, projection: GrowthProjection, expected: Totals, what: str
) -> None:
    """Wait for Redis's totals to equal the pure fold's; on timeout, fail with the difference."""

    async def settled() -> bool | None:
        return (await projection.aggregates()) == expected.metrics or None

    try:
        await await_for(settled, timeout=SETTLED_TIMEOUT_S, interval=0.5, what=what)
    except TimeoutError as exc:
        raise AssertionError(
            f"{exc}: {await totals_mismatch(redis, projection, expected)}"
        ) from exc


def pure_fold(events: list[dict[str, Any]]) -> Totals:
    expected = Totals()
    states: dict[str, GrowthState] = {}
    for raw in events:
        event = parse_event(raw)
        state = states.setdefault(event.customer_id, GrowthState(event.customer_id))
        apply_growth_event(state, event, DEFAULT_GROWTH)
    for s in states.values():
        expected.apply_snapshot(snapshot_of(s, DEFAULT_GROWTH))
    assert expected.metrics["enter:customer"]
    return expected


async def test_growth_totals_in_redis_equal_the_pure_fold_despite_resends(
    settings: Settings, tmp_path: Path
) -> None:
    events = growth_events()
    expected = pure_fold(events)

    redis = Redis.from_url(settings.redis_url)
    projection = GrowthProjection(redis)
    try:
        with running("growth", ["growth", "--loglevel", "warn"], settings, tmp_path):
            # At-least-once producers: everything twice, the second time in reverse order.
            await produce(settings, event_records(events))
            await produce(settings, event_records(reversed(events)))

            await await_totals(redis, projection, expected, "growth totals to match the fold")
        assert await projection.arrivals(expected.arrivals) == expected.arrivals
        assert await projection.cohorts(expected.cohorts) == expected.cohorts
    finally:
        await redis.aclose()


async def test_growth_worker_killed_and_restarted_next_to_a_scorer_both_end_exact(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The stream clock: the scorer's snapshots are then a function of the events alone.
    settings = settings.model_copy(update={"clock": "stream", "refit_interval_s": 0.0})
    customers = list(
        simulate(20, datetime(2026, 1, 1, tzinfo=UTC), 50, seed=11, kind="mixed").events
    )
    events = list(merge_by_time(customers, growth_events()))
    expected = pure_fold(events)
    # The scorer leaves leads, referrals and experiments to growth (and scores the rest).
    engine = offline_engine(e for e in events if e["type"] not in GROWTH_EVENT_TYPES)
    n = len(events) // 3

    redis = Redis.from_url(settings.redis_url)
    projection = GrowthProjection(redis)
    try:
        with running("scorer", ["scorer", "--loglevel", "warn"], settings, tmp_path):
            with running("growth-1", ["growth", "--loglevel", "warn"], settings, tmp_path) as g:
                await produce_pipelined(settings, event_records(events[:n]))

                async def some_folded() -> bool:
                    return bool(await redis.exists("vitals:growth:metrics"))

                await await_for(some_folded, timeout=SETTLED_TIMEOUT_S, what="growth started")
                await produce_pipelined(settings, event_records(events[n : 2 * n]))
                kill9(g)
            restarted = time.monotonic()
            with running("growth-2", ["growth", "--loglevel", "warn"], settings, tmp_path):
                await produce_pipelined(settings, event_records(events[2 * n :]))
                await await_totals(redis, projection, expected, "growth totals exact")
                exact_after = time.monotonic() - restarted
                async with TopicReader(settings, settings.topic_scores) as scores:
                    latest = await await_all_scored(
                        scores, engine, SETTLED_TIMEOUT_S, "every customer scored"
                    )
        assert await projection.arrivals(expected.arrivals) == expected.arrivals
        assert await projection.cohorts(expected.cohorts) == expected.cohorts
        assert await topic_size(settings, settings.topic_scores) > 0
    finally:
        await redis.aclose()
    assert_equal_to_offline(latest, engine)
    with capsys.disabled():
        print(
            f"\n[growth] {len(events)} events; totals exact {exact_after:.1f} s after the restart"
        )
