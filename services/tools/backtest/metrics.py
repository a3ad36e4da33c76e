"""Ranking and calibration metrics for backtests, in plain numpy.

- ``auc``: the Mann-Whitney U statistic over average ranks, so tied scores count one half per
  positive-negative pair (the same as counting pairs, in O(n log n)).
- ``lift_at_top``: positive rate among the top fraction by score over the overall rate; a tie
  group straddling the cut-off contributes its expected share (as if ties were broken at random),
  so the value does not depend on input order.
- ``reliability_table``: equal-width probability bins with mean prediction vs observed rate.
- ``brier``: mean squared error of probabilities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

DEFAULT_TOP_FRACTION = 0.1  # the top decile: a CSM team's realistic weekly call list
DEFAULT_BINS = 10


def _labels_and_scores(y_true: ArrayLike, score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=float).ravel()
    s = np.asarray(score, dtype=float).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels ({y.size}) and scores ({s.size}) differ in length")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 or 1")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite numbers (drop or impute missing ones first)")
    return y, s


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``, ties sharing the mean of the ranks they span."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    # Start index of each run of equal values.
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends + 1) / 2.0  # mean of (start+1 .. end), 1-based
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def auc(y_true: ArrayLike, score: ArrayLike) -> float:
    """Area under the ROC curve = P(score of a random positive > that of a random negative),
    ties counted as 1/2. Raises ValueError unless both classes are present."""
    y, s = _labels_and_scores(y_true, score)
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs at least one positive and one negative label")
    rank_sum = float(average_ranks(s)[y == 1].sum())
    u = rank_sum - positives * (positives + 1) / 2.0
    return u / (positives * negatives)


def lift_at_top(
    y_true: ArrayLike, score: ArrayLike, fraction: float = DEFAULT_TOP_FRACTION
) -> float:
    """Positive rate in the top ``fraction`` by score divided by the overall positive rate.

    The top holds ceil(fraction·n) customers. Raises ValueError with no positives.
    """
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    y, s = _labels_and_scores(y_true, score)
    n = len(y)
    base = y.mean() if n else 0.0
    if base == 0:
        raise ValueError("lift needs at least one positive label")
    k = math.ceil(fraction * n)
    threshold = np.sort(s)[::-1][k - 1]
    above = s > threshold
    tied = s == threshold
    # Expected positives among the k: all strictly above, plus the tie group's proportional share.
    share = (k - int(above.sum())) / int(tied.sum())
    expected = float(y[above].sum()) + share * float(y[tied].sum())
    return float((expected / k) / base)


@dataclass(frozen=True)
class ReliabilityBin:
    """One row of a reliability table: predictions in [lower, upper)."""

    lower: float
    upper: float
    count: int
    mean_predicted: float
    observed_rate: float


def reliability_table(
    y_true: ArrayLike, probability: ArrayLike, bins: int = DEFAULT_BINS
) -> list[ReliabilityBin]:
    """Equal-width bins over [0, 1] (the last bin includes 1.0); empty bins are left out."""
    y, p = _labels_and_scores(y_true, probability)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    index = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        member = index == b
        count = int(member.sum())
        if count:
            rows.append(
                ReliabilityBin(
                    b / bins,
                    (b + 1) / bins,
                    count,
                    float(p[member].mean()),
                    float(y[member].mean()),
                )
            )
    return rows


def expected_calibration_error(table: list[ReliabilityBin]) -> float:
    """Count-weighted mean |predicted − observed| over the bins of a reliability table."""
    total = sum(row.count for row in table)
    if total == 0:
        return math.nan
    return sum(row.count * abs(row.mean_predicted - row.observed_rate) for row in table) / total


def brier(y_true: ArrayLike, probability: ArrayLike) -> float:
    """Mean of (probability − label)²: 0 is perfect, 0.25 is a constant 0.5."""
    y, p = _labels_and_scores(y_true, probability)
    if len(y) == 0:
        raise ValueError("Brier score of no predictions is undefined")
    return float(np.mean((p - y) ** 2))
