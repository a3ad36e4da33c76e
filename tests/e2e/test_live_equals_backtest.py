"""The live scorer and the offline scorer (`vitals backtest`) agree snapshot for snapshot.

Both fold and evaluate through the scorer's RecordProcessor; what this compares is everything the
live worker adds around it: Kafka records, the Faust agent, the RocksDB table and its changelog,
batching, silence timers and alert rules running on the same states."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from vitals.platform.settings import Settings
from vitals.tools.sim.generator import simulate

from .kafka_io import TopicReader, event_records, produce
from .offline import assert_equal_to_offline, await_all_scored, offline_engine
from .services import running

pytestmark = pytest.mark.integration


async def test_scorer_snapshots_equal_the_offline_scorer_for_the_same_stream(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"clock": "stream", "refit_interval_s": 0.0})
    sim = simulate(30, datetime(2026, 1, 1, tzinfo=UTC), 75, seed=11, kind="mixed")
    events = list(sim.events)
    engine = offline_engine(events)

    async with TopicReader(settings, settings.topic_scores) as scores:
        with running("scorer", ["scorer", "--loglevel", "warn"], settings, tmp_path):
            await produce(settings, event_records(events))
            latest = await await_all_scored(scores, engine, 180, "every customer scored")

    assert len(latest) == len(engine.states) == 30
    assert_equal_to_offline(latest, engine)
