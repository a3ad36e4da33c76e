from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from vitals.core.events import Event
from vitals.tools.backtest.runner import (
    LEADING_COLUMNS,
    read_labels,
    run_backtest,
    score_row,
    write_scores,
)

AS_OF_TS = 1_790_000_000.0  # 2026-09-21T14:13:20Z
DAY = 86_400.0


def _iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Outcome:
    status: str


class StandInEngine:
    """A tiny engine with the OfflineScorer interface: risk grows with days since the last event."""

    def __init__(self) -> None:
        self.last: dict[str, float] = {}
        self.ids: set[str] = set()
        self.refits = 0

    def apply(self, event: Event) -> _Outcome:
        if event.event_id in self.ids:
            return _Outcome("duplicate")
        self.ids.add(event.event_id)
        self.last[event.customer_id] = max(self.last.get(event.customer_id, 0.0), event.ts)
        return _Outcome("applied")

    def refit(self) -> Any:
        self.refits += 1
        return None

    def snapshot(self, customer_id: str, now: float) -> dict[str, Any]:
        quiet = (now - self.last[customer_id]) / DAY
        risk = 100 * quiet / (quiet + 10)
        return {
            "customer_id": customer_id,
            "temperature": {
                "value": 100 - risk,
                "band": "warm",
                "model": "stand-in",
                "components": {"quiet_days": quiet},
            },
            "health": None,
            "risk": {"value": risk, "band": "low", "components": {"from_quiet": risk / 100}},
            "quadrant": "champion",
            "rfm": None,
            "clv": None,
            "lifecycle": {"stage": "stable", "since": None},
            "profile": {"owner": "dana"},
        }

    def customer_ids(self) -> list[str]:
        return list(self.last)


def _event(cid: str, n: int, ts: float, kind: str = "usage") -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": f"{cid}-{n}",
        "customer_id": cid,
        "type": kind,
        "timestamp": _iso(ts),
    }
    if kind == "usage":
        event["name"] = "report.exported"
    return event


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    lines = [
        orjson.dumps(_event("a", 1, AS_OF_TS - 30 * DAY)),
        orjson.dumps(_event("a", 2, AS_OF_TS - 2 * DAY)),
        orjson.dumps(_event("a", 2, AS_OF_TS - 2 * DAY)),  # resent
        b"{not json",
        orjson.dumps(
            {"event_id": "x", "customer_id": "b", "type": "usage", "timestamp": _iso(AS_OF_TS)}
        ),
        b"",
        orjson.dumps(_event("b", 1, AS_OF_TS - 20 * DAY)),
        orjson.dumps(_event("b", 2, AS_OF_TS + DAY)),  # after as_of: ignored
        orjson.dumps(_event("c", 1, AS_OF_TS + DAY)),  # only after as_of: never scored
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_replay_applies_events_up_to_as_of_and_reports_bad_lines(events_file: Path) -> None:
    engine = StandInEngine()
    run = run_backtest(events_file, AS_OF_TS, engine_factory=lambda: engine, progress=False)
    assert run.statuses == {"applied": 3, "duplicate": 1, "invalid": 2, "after_as_of": 2}
    assert [number for number, _ in run.invalid] == [4, 5]
    assert "name" in run.invalid[1][1]  # the usage event without a feature name
    assert engine.refits == 1
    assert [row["customer_id"] for row in run.rows] == ["a", "b"]
    assert run.rows[0]["risk"] == pytest.approx(100 * 2 / 12)
    assert run.baselines["a"]["days_since_last_activity"] == pytest.approx(2)
    assert run.baselines["a"]["usage_14d"] == 2  # the raw stream, resend included
    assert run.baselines["b"]["days_since_last_activity"] == pytest.approx(20)


def test_replay_without_refit_keeps_the_priors(events_file: Path) -> None:
    engine = StandInEngine()
    run = run_backtest(
        events_file, AS_OF_TS, engine_factory=lambda: engine, refit=False, progress=False
    )
    assert engine.refits == 0
    assert run.params_version is None


def test_score_row_flattens_components_and_tolerates_missing_parts() -> None:
    row = score_row(StandInEngine.snapshot(_engine_with("a", AS_OF_TS - DAY), "a", AS_OF_TS))
    assert row["customer_id"] == "a"
    assert row["health"] is None and row["rfm_segment"] is None and row["clv"] is None
    assert row["temperature.quiet_days"] == pytest.approx(1.0)
    assert row["risk.from_quiet"] == pytest.approx(row["risk"] / 100)
    assert row["owner"] == "dana" and row["lifecycle"] == "stable"


def _engine_with(cid: str, ts: float) -> StandInEngine:
    engine = StandInEngine()
    engine.last[cid] = ts
    return engine


def test_scores_csv_has_fixed_columns_first_then_every_component(tmp_path: Path) -> None:
    rows = [
        {"customer_id": "a", "risk": 10.0, "health": None, "risk.b": 1, "health.z": 2},
        {"customer_id": "b", "risk": 20.0, "temperature.a": 3},
    ]
    path = tmp_path / "scores.csv"
    write_scores(path, rows)
    with path.open() as source:
        reader = csv.DictReader(source)
        assert reader.fieldnames == [*LEADING_COLUMNS, "health.z", "risk.b", "temperature.a"]
        records = list(reader)
    assert (
        records[0]["health"] == ""
        and records[0]["risk.b"] == "1"
        and records[0]["temperature.a"] == ""
    )
    assert records[1]["temperature.a"] == "3"


def test_labels_csv_reads_blanks_as_not_applicable(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("customer_id,kind,churned,buys_again\na,saas,1,\nb,purchases,,0\nc,saas,,\n")
    assert read_labels(path) == {"a": {"churned": 1}, "b": {"buys_again": 0}}


def test_labels_csv_with_a_bad_value_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("customer_id,churned\na,1\nb,yes\n")
    with pytest.raises(ValueError, match=r"labels.csv:3: churned must be 0 or 1"):
        read_labels(path)
    path.write_text("id,churned\na,1\n")
    with pytest.raises(ValueError, match="customer_id column"):
        read_labels(path)


# --- --calibrate: the training cut and leakage ----------------------------------------------------

HORIZON_DAYS = 30.0


def _subscriber_file(path: Path, cancel_offsets_days: list[float]) -> Path:
    """40 monthly subscribers who started 120 days before as_of; the i-th of ``cancel_offsets_days``
    (days relative to as_of) is when customer i cancels."""
    lines = []
    for i in range(40):
        cid = f"s{i}"
        start = AS_OF_TS - 120 * DAY
        raw = [("started", start)] + [("renewed", start + k * 30 * DAY) for k in (1, 2, 3)]
        if i < len(cancel_offsets_days):
            raw.append(("cancelled", AS_OF_TS + cancel_offsets_days[i] * DAY))
        for n, (name, ts) in enumerate(raw):
            event = {
                "event_id": f"{cid}-{n}",
                "customer_id": cid,
                "type": "subscription",
                "name": name,
                "amount": 50.0,
                "timestamp": _iso(ts),
            }
            lines.append((ts, orjson.dumps(event)))
    path.write_bytes(b"\n".join(line for _, line in sorted(lines)) + b"\n")
    return path


def test_calibration_never_sees_outcomes_after_as_of(tmp_path: Path) -> None:
    from vitals.core.config import DEFAULT_CONFIG
    from vitals.tools.backtest.runner import run_calibrated_backtest

    after = _subscriber_file(tmp_path / "after.jsonl", [5.0] * 20)  # all after as_of
    inside = _subscriber_file(tmp_path / "inside.jsonl", [-5.0] * 20)  # all in (T0, as_of]
    future = run_calibrated_backtest(after, AS_OF_TS, HORIZON_DAYS, progress=False)
    seen = run_calibrated_backtest(inside, AS_OF_TS, HORIZON_DAYS, progress=False)
    assert future.run.statuses["after_as_of"] == 20
    assert future.calibration.risk.positives == 0
    assert not future.calibration.risk.applied
    assert future.calibration.config == DEFAULT_CONFIG
    assert seen.calibration.risk.positives == 20
    assert seen.calibration.risk.n == 40  # every subscriber was active at the cut


def test_training_cut_copies_states_at_t0_and_still_takes_late_arrivals() -> None:
    from vitals.core.events import parse_event
    from vitals.scorer.offline import OfflineScorer
    from vitals.tools.backtest.runner import _TrainingCut

    engine = OfflineScorer()
    t0 = AS_OF_TS - 30 * DAY
    cut = _TrainingCut(engine, t0, AS_OF_TS)

    def feed(raw: dict[str, Any]) -> None:
        event = parse_event(raw)
        cut.observe(event)
        if event.ts <= AS_OF_TS:
            engine.apply(event)

    feed(_event("a", 1, t0 - 10 * DAY))
    feed(_event("a", 2, t0 + DAY))  # passes the cut: the copy is taken before this one
    feed(_event("b", 1, t0 - DAY))  # a late arrival from before the cut
    feed(_event("a", 3, t0 + 2 * DAY))
    frozen = cut.finish()
    assert frozen.states["a"].usage_events == 1 and engine.states["a"].usage_events == 3
    assert frozen.states["b"].usage_events == 1
    assert frozen.states["a"] is not engine.states["a"]
