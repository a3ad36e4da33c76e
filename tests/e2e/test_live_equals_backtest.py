"""The live scorer and the offline engine (`vitals backtest`) agree snapshot for snapshot."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from vitals.core.engine import ScoringEngine
from vitals.core.events import parse_event
from vitals.platform.settings import Settings
from vitals.tools.sim.generator import simulate

from .kafka_io import event_records, produce, read_all
from .services import await_for, running

pytestmark = pytest.mark.integration


async def test_scorer_snapshots_equal_the_offline_engine_for_the_same_stream(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"clock": "stream", "refit_interval_s": 0.0})
    sim = simulate(30, datetime(2026, 1, 1, tzinfo=UTC), 75, seed=11, kind="mixed")
    events = list(sim.events)
    engine = ScoringEngine()
    for event in events:
        engine.apply(parse_event(event))
    expected_counts = {
        cid: state.events + state.duplicates + state.late_events
        for cid, state in engine.states.items()
    }

    with running("scorer", ["scorer", "--loglevel", "warn"], settings, tmp_path):
        await produce(settings, event_records(events))

        async def all_scored() -> dict | None:
            latest: dict[str, dict] = {}
            for key, snapshot in await read_all(settings, settings.topic_scores):
                latest[key.decode()] = snapshot
            done = all(
                cid in latest
                and latest[cid]["stats"]["events"]
                + latest[cid]["stats"]["duplicates"]
                + latest[cid]["stats"]["late_events"]
                == count
                for cid, count in expected_counts.items()
            )
            return latest if done else None

        latest = await await_for(
            all_scored, timeout=180, interval=1.0, what="every customer scored"
        )

    assert len(latest) == len(engine.states) == 30
    for cid, live in latest.items():
        offline = engine.snapshot(cid, now=live["as_of_ts"])
        assert live == offline, cid
