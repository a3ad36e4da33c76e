"""Funnel stages from a growth state: the decayed lead score and each stage's entry time.

Stages only move forward: reaching a later stage (a purchase, a sales stage change) means every
earlier one was reached then at the latest, so ``entry(s) = min(evidence of s or any later
stage)``. MQL evidence is also the first moment the lead score reached the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable

from vitals.core.decay import factor

from .config import GrowthConfig
from .state import STAGES, GrowthState

MQL_INDEX = STAGES.index("mql")


def score_crossing(
    engagement: Iterable[tuple[float, float]], half_life_days: float, threshold: float
) -> float | None:
    """First event time at which ``Σ w·2^(−(t−tᵢ)/h)`` over events at or before t reaches
    ``threshold``; None if never. The score only jumps at events, so that is where it crosses."""
    score, at = 0.0, None
    for ts, weight in sorted(engagement):
        if at is not None and ts > at:
            score *= factor(ts - at, half_life_days)
        at = ts
        score += weight
        if score >= threshold - 1e-9:
            return ts
    return None


def lead_score(state: GrowthState, now: float, config: GrowthConfig) -> float:
    """The lead score at ``now`` from the kept engagement (the earliest events of the lead)."""
    return float(
        sum(
            weight * factor(now - ts, config.score_half_life_days)
            for ts, weight in state.engagement.values()
            if ts <= now
        )
    )


def update_crossing(state: GrowthState, config: GrowthConfig) -> None:
    """Recompute the cached score crossing (after the kept engagement changed)."""
    state.score_crossing = score_crossing(
        ((ts, w) for ts, w in state.engagement.values()),
        config.score_half_life_days,
        config.mql_threshold,
    )


def mql_bound(state: GrowthState, config: GrowthConfig) -> float | None:
    """MQL entry as far as known: engagement after it cannot change any stage entry."""
    crossing = state.score_crossing
    times = [state.evidence[s] for s in STAGES[MQL_INDEX:] if s in state.evidence]
    if crossing is not None:
        times.append(crossing)
    return min(times) if times else None


def stage_entries(state: GrowthState, config: GrowthConfig) -> dict[str, float]:
    """Stage -> entry time, for every stage reached (in event time)."""
    if state.first_ts is None:
        return {}
    evidence = dict(state.evidence)
    evidence["visitor"] = state.first_ts
    bound = mql_bound(state, config)
    if bound is not None:
        evidence["mql"] = bound
    entries: dict[str, float] = {}
    running: float | None = None
    for stage in reversed(STAGES):
        ts = evidence.get(stage)
        if ts is not None:
            running = ts if running is None else min(running, ts)
        if running is not None:
            entries[stage] = running
    return entries


def current_stage(entries: dict[str, float]) -> str:
    """The furthest stage reached ("stranger" when nothing was seen)."""
    reached = [stage for stage in STAGES if stage in entries]
    return reached[-1] if reached else "stranger"
