"""Repurchase early warning: ρ = (now − last purchase) ÷ mean of the last 3 purchase intervals.

ρ ≈ 1 means "due about now"; above the overdue ratio the customer is late by their own rhythm, above
the lapsed ratio they have probably stopped. Needs at least two purchases (one interval).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .config import RepurchaseConfig
from .decay import SECONDS_PER_DAY
from .state import CustomerState

RepurchaseStatus = Literal["ok", "overdue", "lapsed", "n/a"]


@dataclass(slots=True)
class Repurchase:
    ratio: float | None
    status: RepurchaseStatus
    days_since_last: float | None
    mean_interval_days: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "ratio": _round(self.ratio),
            "status": self.status,
            "days_since_last": _round(self.days_since_last),
            "mean_interval_days": _round(self.mean_interval_days),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def mean_interval_seconds(recent: list[float]) -> float | None:
    """Mean of the intervals between the (up to 4) most recent purchase times, sorted ascending."""
    if len(recent) < 2:
        return None
    mean = (recent[-1] - recent[0]) / (len(recent) - 1)
    return mean if mean > 0 else None


def evaluate(state: CustomerState, now: float, config: RepurchaseConfig) -> Repurchase:
    days_since = (
        max(0.0, now - state.last_purchase_ts) / SECONDS_PER_DAY if state.purchases else None
    )
    mean = mean_interval_seconds(state.recent_purchases)
    if mean is None or days_since is None:
        return Repurchase(None, "n/a", days_since, None)
    ratio = days_since * SECONDS_PER_DAY / mean
    status: RepurchaseStatus = "ok"
    if ratio >= config.lapsed_ratio:
        status = "lapsed"
    elif ratio >= config.overdue_ratio:
        status = "overdue"
    return Repurchase(ratio, status, days_since, mean / SECONDS_PER_DAY)


def crossing_time(state: CustomerState, ratio: float) -> float | None:
    """When ρ reaches ``ratio`` if no purchase comes: last + ratio·mean interval."""
    mean = mean_interval_seconds(state.recent_purchases)
    if mean is None:
        return None
    return state.last_purchase_ts + ratio * mean
