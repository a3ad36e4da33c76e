"""Exponentially decayed counters in event time.

A counter is a pair (value, t): the decayed sum of event weights as of time t (Unix seconds),
``S(t) = Σ w_i · 2^(−(t − t_i)/h)``. Adding an event is O(1) and exact in any arrival order: an
event older than t is decayed to t before it is added, so a shuffled stream gives the same sum
(up to float rounding) as the sorted one.
"""

from __future__ import annotations

import math

SECONDS_PER_DAY = 86_400.0
LN2 = math.log(2.0)


def factor(dt_seconds: float, half_life_days: float) -> float:
    """Decay multiplier over ``dt_seconds`` (≥ 0) for a half-life in days."""
    return float(2.0 ** (-dt_seconds / (half_life_days * SECONDS_PER_DAY)))


def add(
    value: float, t: float, weight: float, at: float, half_life_days: float
) -> tuple[float, float]:
    """Fold an event of ``weight`` at ``at`` into the counter (value, t); return the new pair."""
    if at >= t:
        return value * factor(at - t, half_life_days) + weight, at
    return value + weight * factor(t - at, half_life_days), t


def value_at(value: float, t: float, now: float, half_life_days: float) -> float:
    """The counter read at ``now``; a read before ``t`` returns the value at ``t``."""
    if now <= t:
        return value
    return value * factor(now - t, half_life_days)


def rate_per_day(value: float, half_life_days: float) -> float:
    """Events per day implied by a decayed sum: a steady rate ρ/day converges to S = ρ·h/ln2."""
    return value * LN2 / half_life_days


def crossing_time(value: float, t: float, threshold: float, half_life_days: float) -> float | None:
    """When the silent counter falls to ``threshold``: t + h·log2(value/threshold); None if never.

    Already at or below the threshold: returns ``t`` (it has crossed).
    """
    if threshold <= 0.0:
        return None
    if value <= threshold:
        return t
    return t + half_life_days * SECONDS_PER_DAY * math.log2(value / threshold)
