"""The offline engine as the reference for live runs: what every customer's last snapshot must be.

The live scorer and the offline engine (`vitals backtest`) agree snapshot for snapshot
(test_live_equals_backtest.py); the fault tests use the same comparison after crashes and
rebalances, where at-least-once redelivery must neither lose nor double-count an event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vitals.core.engine import ScoringEngine
from vitals.core.events import parse_event
from vitals.platform.settings import Settings

from .kafka_io import read_all


def offline_engine(events: Iterable[dict[str, Any]]) -> ScoringEngine:
    engine = ScoringEngine()
    for event in events:
        engine.apply(parse_event(event))
    return engine


def counted(stats: dict[str, Any]) -> int:
    """Events a snapshot has seen: applied, duplicates and late ones."""
    return int(stats["events"] + stats["duplicates"] + stats["late_events"])


async def latest_if_all_scored(
    settings: Settings, engine: ScoringEngine
) -> dict[str, dict[str, Any]] | None:
    """Each customer's latest snapshot in `scores`, once every customer has seen all its events
    (as counted by ``engine``); None before."""
    latest: dict[str, dict[str, Any]] = {}
    for key, snapshot in await read_all(settings, settings.topic_scores):
        if key is not None:
            latest[key.decode()] = snapshot
    for cid, state in engine.states.items():
        if cid not in latest or counted(latest[cid]["stats"]) != (
            state.events + state.duplicates + state.late_events
        ):
            return None
    return latest


def assert_equal_to_offline(latest: dict[str, dict[str, Any]], engine: ScoringEngine) -> None:
    """Every live snapshot equals the offline engine's at the same instant, field for field."""
    assert set(latest) == set(engine.states)
    for cid, live in latest.items():
        offline = engine.snapshot(cid, now=live["as_of_ts"])
        assert live == offline, cid
