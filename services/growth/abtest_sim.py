"""Simulated experiments for checking the sequential test: A/A false-positive rate under daily
looks, and recovery of a known effect. Used by tests/growth (small) and
benchmarks/growth_aa.py (large)."""

from __future__ import annotations

import random
from collections.abc import Mapping

from .aggregate import Aggregates
from .config import ExperimentSpec
from .experiments import analyse, assign_arm

EXPERIMENT = "sim"


def daily_aggregates(
    rng: random.Random,
    days: int,
    units_per_day: int,
    rates: Mapping[str, float],
    start_day: int = 20_000,
) -> Aggregates:
    """Aggregates as the projection would hold them: each day ``units_per_day`` units assigned
    by hashing, each converting within the horizon with its arm's rate."""
    arms = sorted(rates)
    out: Aggregates = {}
    serial = 0
    for day in range(start_day, start_day + days):
        for _ in range(units_per_day):
            serial += 1
            arm = assign_arm(EXPERIMENT, f"u{rng.random()}-{serial}", arms)
            cell = f"{day}|-"
            n = out.setdefault(f"exp:{EXPERIMENT}:{arm}:n", {})
            n[cell] = n.get(cell, 0) + 1
            if rng.random() < rates[arm]:
                conv = out.setdefault(f"exp:{EXPERIMENT}:{arm}:conv", {})
                conv[cell] = conv.get(cell, 0) + 1
    return out


def run_once(
    seed: int,
    rates: Mapping[str, float],
    days: int = 120,
    units_per_day: int = 40,
    spec: ExperimentSpec | None = None,
    alpha: float = 0.05,
) -> dict[str, object]:
    """One simulated experiment, analysed as of its last day (looking every day before it)."""
    spec = spec or ExperimentSpec(goal="converted", horizon_days=30.0, mixture_sd=0.05)
    rng = random.Random(seed)
    start = 20_000
    aggregates = daily_aggregates(rng, days, units_per_day, rates, start)
    return analyse(aggregates, EXPERIMENT, spec, start + days - 1, alpha)


def false_positive_rate(runs: int, seed: int = 0, **kwargs: object) -> float:
    """Share of A/A runs (both arms 10 %) that reached a decision at ANY daily look."""
    decided = 0
    for run in range(runs):
        result = run_once(seed + run, {"control": 0.10, "treatment": 0.10}, **kwargs)  # type: ignore[arg-type]
        effects = result["effects"]
        assert isinstance(effects, dict)
        decided += effects["treatment"]["decided_on"] is not None
    return decided / runs
