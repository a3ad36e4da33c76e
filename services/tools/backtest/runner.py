"""Offline backtest: replay a JSONL event file through the scoring core and score everyone as of T.

The replay folds events in file order through ``OfflineScorer``: the scorer's own record processor
over an in-memory store (stream clock), so duplicates and late events are handled exactly as live.
Baselines are accumulated in the same pass. With labels, ``evaluation.evaluate`` compares them.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tqdm import tqdm

from vitals.core.events import Event
from vitals.core.published import Snapshot
from vitals.tools.backtest.baselines import BaselineAccumulator
from vitals.tools.eventfile import read_event_file

if TYPE_CHECKING:
    from vitals.core.config import ScoringConfig
    from vitals.scorer.offline import OfflineScorer
    from vitals.tools.backtest.calibration import Calibration, OutcomeCollector

# Invalid lines are counted all, but only this many are kept with their reasons for the report.
MAX_INVALID_KEPT = 20
LEADING_COLUMNS = (
    "customer_id",
    "temperature",
    "health",
    "risk",
    "quadrant",
    "rfm_segment",
    "lifecycle",
    "clv",
    "temperature_band",
    "health_band",
    "risk_band",
    "temperature_model",
    "mrr",
    "owner",
    "segment",
    "plan",
    "repurchase_status",
)


class Engine(Protocol):
    """What the backtest needs of the scorer (vitals.scorer.offline.OfflineScorer)."""

    def apply(self, event: Event) -> Any: ...
    def refit(self) -> Any: ...
    def snapshot(self, customer_id: str, now: float) -> Snapshot: ...
    def customer_ids(self) -> Iterable[str]: ...


def default_engine() -> Engine:
    # Imported here so metrics, baselines and CSV code work (and are testable) without the scorer.
    from vitals.scorer.offline import OfflineScorer

    engine: Engine = OfflineScorer()
    return engine


@dataclass
class BacktestRun:
    """The outcome of one replay: score rows, baselines, and what happened to the input."""

    as_of_ts: float
    rows: list[dict[str, Any]]
    baselines: dict[str, dict[str, float]]
    statuses: Counter[str] = field(default_factory=Counter)
    invalid: list[tuple[int, str]] = field(default_factory=list)
    params_version: str | None = None


def run_backtest(
    path: Path,
    as_of_ts: float,
    engine_factory: Callable[[], Engine] = default_engine,
    refit: bool = True,
    progress: bool = True,
) -> BacktestRun:
    """Replay ``path`` (events with event time <= as_of, in file order) and snapshot at as_of."""
    engine = engine_factory()
    baselines, statuses, invalid = _replay(path, as_of_ts, engine, progress)
    params_version = None
    if refit:
        params = engine.refit()
        params_version = getattr(params, "version", None)
    ids = sorted(engine.customer_ids())
    rows = [
        score_row(engine.snapshot(cid, as_of_ts))
        for cid in tqdm(ids, desc="score", disable=not progress)
    ]
    return BacktestRun(as_of_ts, rows, baselines, statuses, invalid, params_version)


def _replay(
    path: Path,
    as_of_ts: float,
    engine: Engine,
    progress: bool,
    observe: Callable[[Event], None] | None = None,
) -> tuple[dict[str, dict[str, float]], Counter[str], list[tuple[int, str]]]:
    """Fold the file's events up to as_of into ``engine``; ``observe`` sees every valid event
    (later ones too) before it is applied. Returns baselines, statuses and kept invalid lines."""
    baselines = BaselineAccumulator(as_of_ts)
    statuses: Counter[str] = Counter()
    invalid: list[tuple[int, str]] = []
    for line in read_event_file(path, progress=progress):
        event = line.event
        if event is None:
            statuses["invalid"] += 1
            if len(invalid) < MAX_INVALID_KEPT:
                invalid.append((line.number, str(line.error)))
            continue
        if observe is not None:
            observe(event)
        if event.ts > as_of_ts:
            statuses["after_as_of"] += 1
            continue
        baselines.add(event.customer_id, event.type, event.ts)
        statuses[str(engine.apply(event).status or "growth")] += 1
    return baselines.result(), statuses, invalid


SECONDS_PER_DAY = 86_400.0


@dataclass
class CalibratedRun:
    """A backtest scored twice (or more) from one replay: ``run`` with the engine's config,
    ``variants`` name -> score rows with another config ("calibrated" first)."""

    run: BacktestRun
    calibration: Calibration
    variants: dict[str, list[dict[str, Any]]]


class _TrainingCut:
    """Watches the replay: copies every customer's state when the stream passes T0 (late arrivals
    from before T0 are still folded into the copy) and collects the outcomes in (T0, as_of]."""

    def __init__(self, engine: OfflineScorer, t0: float, as_of_ts: float) -> None:
        from vitals.tools.backtest.calibration import OutcomeCollector

        self.engine, self.t0, self.as_of_ts = engine, t0, as_of_ts
        self.outcomes: OutcomeCollector = OutcomeCollector(t0, as_of_ts)
        self.frozen: OfflineScorer | None = None

    def observe(self, event: Event) -> None:
        self.outcomes.add(event.customer_id, event.type, event.name, event.ts)
        if event.ts > self.as_of_ts:
            return
        if event.ts > self.t0:
            if self.frozen is None:
                self.frozen = self._copy()
        elif self.frozen is not None:
            self.frozen.apply(event)

    def finish(self) -> OfflineScorer:
        """The engine as of T0 (a copy of now if the stream never passed T0)."""
        return self.frozen if self.frozen is not None else self._copy()

    def _copy(self) -> OfflineScorer:
        from vitals.core.state import CustomerState
        from vitals.scorer.offline import OfflineScorer

        copy = OfflineScorer(self.engine.config, self.engine.params, self.engine.clock)
        copy.states = {
            cid: CustomerState.from_bytes(state.to_bytes())
            for cid, state in self.engine.states.items()
        }
        copy.watermark = self.engine.watermark
        return copy


def run_calibrated_backtest(
    path: Path,
    as_of_ts: float,
    horizon_days: float,
    *,
    config: ScoringConfig | None = None,
    refit: bool = True,
    progress: bool = True,
    extra_configs: dict[str, ScoringConfig] | None = None,
    min_events: int | None = None,
) -> CalibratedRun:
    """One replay; calibrate on (features at T0 = as_of − horizon, outcomes in (T0, as_of]);
    score everyone at as_of with ``config`` (default: DEFAULT_CONFIG), the calibrated config and
    any ``extra_configs``. Nothing after as_of is used: the fit and the scores are leakage-free,
    the labels that judge them (outcomes after as_of) come from elsewhere."""
    from vitals.core.config import DEFAULT_CONFIG
    from vitals.core.params import DEFAULT_PARAMS
    from vitals.core.params import refit as refit_params
    from vitals.core.snapshot import evaluate
    from vitals.scorer.offline import OfflineScorer
    from vitals.tools.backtest.calibration import MIN_EVENTS, calibrate

    if horizon_days <= 0:
        raise ValueError("--calibrate needs a positive --horizon-days (the training window)")
    config = config or DEFAULT_CONFIG
    engine = OfflineScorer(config)
    t0 = as_of_ts - horizon_days * SECONDS_PER_DAY
    cut = _TrainingCut(engine, t0, as_of_ts)
    baselines, statuses, invalid = _replay(path, as_of_ts, engine, progress, cut.observe)
    frozen = cut.finish()
    # At T0 the scorer would have had parameters refitted on T0's customers, not as_of's.
    params_t0 = refit_params(frozen.states.values(), t0, config) if refit else DEFAULT_PARAMS
    calibration = calibrate(
        frozen.states.values(),
        t0,
        params_t0,
        config,
        cut.outcomes,
        min_events=MIN_EVENTS if min_events is None else min_events,
    )
    params_version = engine.refit().version if refit else None
    ids = sorted(engine.customer_ids())
    rows = [score_row(engine.snapshot(cid, as_of_ts)) for cid in ids]
    run = BacktestRun(as_of_ts, rows, baselines, statuses, invalid, params_version)
    variants = {
        name: [
            score_row(evaluate(engine.states[cid], as_of_ts, engine.params, variant)) for cid in ids
        ]
        for name, variant in {"calibrated": calibration.config, **(extra_configs or {})}.items()
    }
    return CalibratedRun(run, calibration, variants)


def score_row(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten a score snapshot into one CSV row (components as ``<score>.<name>`` columns)."""

    def part(key: str) -> dict[str, Any]:
        value = snapshot.get(key)
        return value if isinstance(value, dict) else {}

    temperature, health, risk = part("temperature"), part("health"), part("risk")
    rfm, clv, profile = part("rfm"), part("clv"), part("profile")
    row: dict[str, Any] = {
        "customer_id": snapshot["customer_id"],
        "temperature": temperature.get("value"),
        "health": health.get("value"),
        "risk": risk.get("value"),
        "quadrant": snapshot.get("quadrant"),
        "rfm_segment": rfm.get("segment"),
        "lifecycle": part("lifecycle").get("stage"),
        "clv": clv.get("value"),
        "temperature_band": temperature.get("band"),
        "health_band": health.get("band"),
        "risk_band": risk.get("band"),
        "temperature_model": temperature.get("model"),
        "mrr": snapshot.get("mrr"),
        "owner": profile.get("owner"),
        "segment": profile.get("segment"),
        "plan": profile.get("plan"),
        "repurchase_status": part("repurchase").get("status"),
    }
    for name, score in (
        ("temperature", temperature),
        ("health", health),
        ("risk", risk),
        ("clv", clv),
    ):
        components = score.get("components")
        if isinstance(components, dict):
            for key, value in components.items():
                row[f"{name}.{key}"] = value
    return row


def write_scores(path: Path, rows: list[dict[str, Any]]) -> None:
    """One row per customer; fixed columns first, then every component column seen (sorted)."""
    extra = sorted({key for row in rows for key in row} - set(LEADING_COLUMNS))
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=[*LEADING_COLUMNS, *extra], restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: ("" if value is None else value) for key, value in row.items()})


def read_labels(path: Path) -> dict[str, dict[str, int]]:
    """Labels CSV (customer_id plus churned and/or buys_again as 0/1; blanks = not applicable)."""
    out: dict[str, dict[str, int]] = {}
    with path.open(newline="") as source:
        reader = csv.DictReader(source)
        if reader.fieldnames is None or "customer_id" not in reader.fieldnames:
            raise ValueError(
                f"{path}: a labels CSV needs a customer_id column "
                "(vitals simulate --labels writes one)"
            )
        for number, record in enumerate(reader, start=2):
            labels: dict[str, int] = {}
            for name in ("churned", "buys_again"):
                text = (record.get(name) or "").strip()
                if text:
                    if text not in ("0", "1"):
                        raise ValueError(f"{path}:{number}: {name} must be 0 or 1, got {text!r}")
                    labels[name] = int(text)
            if labels:
                out[record["customer_id"]] = labels
    return out
