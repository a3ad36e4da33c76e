"""The offline scorer as the reference for live runs: what every customer's last snapshot must be.

The live scorer (a Faust worker on Kafka and RocksDB) and the offline scorer (`vitals backtest`:
the same record processor over an in-memory store) agree snapshot for snapshot
(test_live_equals_backtest.py); the fault tests use the same comparison after crashes and
rebalances, where at-least-once redelivery must neither lose nor double-count an event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vitals.core.events import parse_event
from vitals.scorer.offline import OfflineScorer

from .kafka_io import TopicReader
from .services import await_for


def offline_engine(events: Iterable[dict[str, Any]]) -> OfflineScorer:
    engine = OfflineScorer()
    for event in events:
        engine.apply(parse_event(event))
    return engine


def counted(stats: dict[str, Any]) -> int:
    """Events a snapshot has seen: applied, duplicates and late ones."""
    return int(stats["events"] + stats["duplicates"] + stats["late_events"])


async def latest_if_all_scored(
    scores: TopicReader, engine: OfflineScorer
) -> dict[str, dict[str, Any]] | None:
    """Each customer's latest snapshot in `scores` (followed by ``scores``), once every customer
    has seen all its events (as counted by ``engine``); None before."""
    await scores.poll()
    latest = {key.decode(): snapshot for key, snapshot in scores.latest.items() if key is not None}
    for cid, state in engine.states.items():
        if cid not in latest or counted(latest[cid]["stats"]) != (
            state.events + state.duplicates + state.late_events
        ):
            return None
    return latest


def assert_equal_to_offline(latest: dict[str, dict[str, Any]], engine: OfflineScorer) -> None:
    """Every live snapshot equals the offline scorer's at the same instant, field for field."""
    assert set(latest) == set(engine.states)
    for cid, live in latest.items():
        offline = engine.snapshot(cid, now=live["as_of_ts"])
        assert live == offline, cid


def scored_counts_differ(scores: TopicReader, engine: OfflineScorer) -> str:
    """Each customer whose latest snapshot has not counted what the engine counted: tells a lost
    (or doubly counted) event from a snapshot that is merely late."""
    latest = {key.decode(): snapshot for key, snapshot in scores.latest.items() if key is not None}
    out = []
    for cid, state in sorted(engine.states.items()):
        want = state.events + state.duplicates + state.late_events
        got = counted(latest[cid]["stats"]) if cid in latest else None
        if got != want:
            out.append(f"{cid}: {got} (expected {want})")
    return f"{len(out)} of {len(engine.states)} customers differ: {out[:30]}"


async def await_all_scored(
    scores: TopicReader, engine: OfflineScorer, timeout: float, what: str
) -> dict[str, dict[str, Any]]:
    """Wait until ``latest_if_all_scored`` has every customer's latest snapshot; return them. On
    timeout, fail with the customers whose counts fall short (lost) or exceed (counted twice)."""
    try:
        latest: dict[str, dict[str, Any]] = await await_for(
            lambda: latest_if_all_scored(scores, engine), timeout=timeout, interval=1.0, what=what
        )
    except TimeoutError as exc:
        raise AssertionError(f"{exc}: {scored_counts_differ(scores, engine)}") from exc
    return latest
