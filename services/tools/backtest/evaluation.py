"""Scores and baselines against outcomes: the comparison table ``vitals backtest`` prints.

Targets and the predictors judged on them (every predictor oriented so that higher means the
target is more likely):
- ``churned`` (SaaS accounts): risk/100 as a probability; baselines days since last activity and
  −usage_14d.
- ``retained`` = 1 − churned (SaaS): temperature/100 as a probability; health (a ranking only);
  baselines −days since last activity and usage_14d.
- ``buys_again`` (purchase customers): temperature/100; baselines as for retained.
Customers with a label but no score (no events up to as_of) are counted as missing, not guessed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vitals.tools.backtest.metrics import (
    ReliabilityBin,
    auc,
    brier,
    expected_calibration_error,
    lift_at_top,
    reliability_table,
)

Getter = Callable[[dict[str, Any], dict[str, float]], float | None]


@dataclass(frozen=True)
class Predictor:
    name: str
    get: Getter  # (score row, baselines row) -> value, None if not available
    probability: bool  # True: value is a probability in [0, 1] (Brier and reliability apply)


def _score(column: str, scale: float = 1.0, flip: bool = False) -> Getter:
    def get(row: dict[str, Any], _: dict[str, float]) -> float | None:
        value = row.get(column)
        if value is None or value == "":
            return None
        number = float(value) / scale
        return 1.0 - number if flip else number

    return get


def _baseline(name: str, sign: float) -> Getter:
    def get(_: dict[str, Any], base: dict[str, float]) -> float | None:
        value = base.get(name)
        return None if value is None else sign * value

    return get


_CHURN_BASELINES = (
    Predictor(
        "baseline: days since last activity", _baseline("days_since_last_activity", 1.0), False
    ),
    Predictor("baseline: -usage last 14 d", _baseline("usage_14d", -1.0), False),
)
_STAY_BASELINES = (
    Predictor(
        "baseline: -days since last activity", _baseline("days_since_last_activity", -1.0), False
    ),
    Predictor("baseline: usage last 14 d", _baseline("usage_14d", 1.0), False),
)
TARGETS: dict[str, tuple[str, bool, tuple[Predictor, ...]]] = {
    # target -> (label column, invert the label?, predictors; the first is the model's own number)
    "churned": (
        "churned",
        False,
        (Predictor("risk", _score("risk", 100.0), True), *_CHURN_BASELINES),
    ),
    "retained": (
        "churned",
        True,
        (
            Predictor("temperature", _score("temperature", 100.0), True),
            Predictor("health", _score("health", 100.0), False),
            *_STAY_BASELINES,
        ),
    ),
    "buys_again": (
        "buys_again",
        False,
        (Predictor("temperature", _score("temperature", 100.0), True), *_STAY_BASELINES),
    ),
}


@dataclass(frozen=True)
class MetricRow:
    target: str
    predictor: str
    n: int
    positives: int
    auc: float
    lift: float
    brier: float | None
    ece: float | None
    mean_predicted: float | None = None  # probabilities only: compare with positives / n


@dataclass
class Evaluation:
    rows: list[MetricRow] = field(default_factory=list)
    reliability: dict[str, list[ReliabilityBin]] = field(
        default_factory=dict
    )  # "risk vs churned" -> bins
    missing: dict[str, int] = field(default_factory=dict)  # target -> labelled but unscored


def evaluate(
    score_rows: list[dict[str, Any]],
    baselines: dict[str, dict[str, float]],
    labels: dict[str, dict[str, int]],
    bins: int = 10,
) -> Evaluation:
    """Metrics for every target present in ``labels`` (see the module docstring)."""
    by_id = {row["customer_id"]: row for row in score_rows}
    result = Evaluation()
    for target, (column, invert, predictors) in TARGETS.items():
        labelled = [(cid, lab[column]) for cid, lab in labels.items() if column in lab]
        if not labelled:
            continue
        scored = [(cid, 1 - y if invert else y) for cid, y in labelled if cid in by_id]
        result.missing[target] = len(labelled) - len(scored)
        for predictor in predictors:
            pairs = [(y, predictor.get(by_id[cid], baselines.get(cid, {}))) for cid, y in scored]
            kept = [(y, v) for y, v in pairs if v is not None and math.isfinite(v)]
            y = np.array([p[0] for p in kept], dtype=float)
            v = np.array([p[1] for p in kept], dtype=float)
            result.rows.append(_metric_row(target, predictor, y, v))
            if predictor.probability and len(y):
                result.reliability[f"{predictor.name} vs {target}"] = reliability_table(
                    y, np.clip(v, 0, 1), bins
                )
    return result


def _metric_row(target: str, predictor: Predictor, y: np.ndarray, v: np.ndarray) -> MetricRow:
    positives = int(y.sum())
    both = 0 < positives < len(y)
    ece = brier_score = mean_predicted = None
    if predictor.probability and len(y):
        p = np.clip(v, 0, 1)
        brier_score = brier(y, p)
        ece = expected_calibration_error(reliability_table(y, p))
        mean_predicted = float(p.mean())
    return MetricRow(
        target=target,
        predictor=predictor.name,
        n=len(y),
        positives=positives,
        auc=auc(y, v) if both else math.nan,
        lift=lift_at_top(y, v) if positives else math.nan,
        brier=brier_score,
        ece=ece,
        mean_predicted=mean_predicted,
    )


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def format_report(evaluation: Evaluation) -> str:
    """A plain-text table of every metric row, then each reliability table."""
    lines = [
        f"{'target':<11} {'predictor':<36} {'n':>7} {'pos':>6} {'AUC':>6} {'lift@10%':>8} "
        f"{'Brier':>6} {'ECE':>6}"
    ]
    previous = None
    for row in evaluation.rows:
        if previous is not None and row.target != previous:
            lines.append("")
        previous = row.target
        lines.append(
            f"{row.target:<11} {row.predictor:<36} {row.n:>7} {row.positives:>6} "
            f"{_fmt(row.auc):>6} {_fmt(row.lift, 2):>8} {_fmt(row.brier):>6} {_fmt(row.ece):>6}"
        )
    for target, missing in evaluation.missing.items():
        if missing:
            lines.append(
                f"({missing} labelled {target} customers had no events up to as_of: not scored)"
            )
    for title, table in evaluation.reliability.items():
        lines += [
            "",
            f"reliability: {title}",
            f"  {'bin':<11} {'n':>7} {'predicted':>9} {'observed':>9}",
        ]
        for b in table:
            lines.append(
                f"  {b.lower:.1f}-{b.upper:.1f}{'':<4} {b.count:>7} "
                f"{b.mean_predicted:>9.3f} {b.observed_rate:>9.3f}"
            )
    return "\n".join(lines)


def format_comparison(evaluations: dict[str, Evaluation]) -> str:
    """One table over several configs scored on the same customers (the first is the reference):
    each probability row once per config, rankings (health, baselines) once.
    ``mean p`` vs ``rate`` is calibration-in-the-large: the mean prediction vs the observed rate."""
    lines = [
        f"{'target':<11} {'predictor':<36} {'config':<12} {'n':>6} {'pos':>5} {'AUC':>6} "
        f"{'lift@10%':>8} {'Brier':>6} {'ECE':>6} {'mean p':>6} {'rate':>6}"
    ]
    names = list(evaluations)
    if not names:
        return lines[0]
    first = evaluations[names[0]]
    previous = None
    for index, row in enumerate(first.rows):
        if previous is not None and row.target != previous:
            lines.append("")
        previous = row.target
        # Rankings without a probability (health, baselines) do not depend on the calibrated
        # numbers: shown once.
        baseline = row.brier is None
        for name in names[:1] if baseline else names:
            other = evaluations[name].rows[index]
            rate = other.positives / other.n if other.n else math.nan
            lines.append(
                f"{other.target:<11} {other.predictor:<36} {'' if baseline else name:<12} "
                f"{other.n:>6} {other.positives:>5} {_fmt(other.auc):>6} {_fmt(other.lift, 2):>8} "
                f"{_fmt(other.brier):>6} {_fmt(other.ece):>6} {_fmt(other.mean_predicted):>6} "
                f"{_fmt(rate):>6}"
            )
    return "\n".join(lines)
