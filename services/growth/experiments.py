"""Experiments: deterministic arm assignment, outcomes per arm, effect sizes and decisions.

Each unit's outcome is read ``horizon_days`` after its assignment (facts.py), so only units
assigned at least that long before the analysis day are counted ("matured"): every look sees
final outcomes, and the sequence of looks is what the always-valid test (sequential.py) allows.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

from .aggregate import Aggregates
from .config import ExperimentSpec, GrowthConfig
from .periods import day_text
from .sequential import SequentialResult, mean_and_variance, msprt, proportion

OUTCOMES = ("n", "conv", "ret", "churn", "rev", "rev2")
GOAL_FIELD = {"converted": "conv", "retained": "ret", "churned": "churn"}


def assign_arm(experiment: str, entity_id: str, arms: Sequence[str]) -> str:
    """The arm of ``entity_id``: a hash of (experiment, entity), uniform over ``arms``; stable
    across processes and releases (blake2b, not Python's salted ``hash``)."""
    digest = hashlib.blake2b(f"{experiment}\x00{entity_id}".encode(), digest_size=8).digest()
    return arms[int.from_bytes(digest, "big") % len(arms)]


def experiment_names(aggregates: Aggregates) -> list[str]:
    return sorted({metric.split(":")[1] for metric in aggregates if metric.startswith("exp:")})


def _arm_totals(aggregates: Aggregates, name: str, upto_day: int) -> dict[str, dict[str, int]]:
    arms: dict[str, dict[str, int]] = {}
    for metric, cells in aggregates.items():
        parts = metric.split(":")
        if len(parts) != 4 or parts[0] != "exp" or parts[1] != name:
            continue
        arm, outcome = parts[2], parts[3]
        total = sum(v for key, v in cells.items() if int(key.partition("|")[0]) <= upto_day)
        arms.setdefault(arm, dict.fromkeys(OUTCOMES, 0))[outcome] = total
    return arms


def _goal(arm: dict[str, int], spec: ExperimentSpec) -> tuple[float, float]:
    if spec.goal == "revenue":
        return mean_and_variance(arm["rev"] / 100.0, float(arm["rev2"]), arm["n"])
    return proportion(arm[GOAL_FIELD[spec.goal]], arm["n"])


def analyse(
    aggregates: Aggregates, name: str, spec: ExperimentSpec, today: int, alpha: float
) -> dict[str, Any]:
    """The report of ``name`` as of day ``today``: arms, effects, always-valid intervals, the
    decision and the first day it was reached (looking once a day from the first assignment)."""
    horizon_days = math.ceil(spec.horizon_days)
    days = sorted(
        {
            int(key.partition("|")[0])
            for metric, cells in aggregates.items()
            if metric.startswith(f"exp:{name}:")
            for key in cells
        }
    )
    decided_on: dict[str, str] = {}
    history: list[dict[str, Any]] = []
    if days:
        for look in range(days[0] + horizon_days, today + 1):
            results = _compare(_arm_totals(aggregates, name, look - horizon_days), spec, alpha)
            for arm, result in results.items():
                if result.decided(alpha) and arm not in decided_on:
                    decided_on[arm] = day_text(look)
                history.append(
                    {
                        "day": day_text(look),
                        "arm": arm,
                        "effect": result.effect,
                        "lower": _finite(result.lower),
                        "upper": _finite(result.upper),
                        # What a fixed-horizon test would say at this look (peeking reference).
                        "fixed_significant": result.testable
                        and (result.fixed_lower > 0 or result.fixed_upper < 0),
                    }
                )
    arms = _arm_totals(aggregates, name, today - horizon_days)
    results = _compare(arms, spec, alpha)
    return {
        "experiment": name,
        "goal": spec.goal,
        "control": spec.control,
        "horizon_days": spec.horizon_days,
        "description": spec.description,
        "alpha": alpha,
        "as_of": day_text(today),
        "arms": {
            arm: {
                "units": totals["n"],
                "goal_mean": _goal(totals, spec)[0],
                "converted": totals["conv"],
                "retained": totals["ret"],
                "churned": totals["churn"],
                "revenue": totals["rev"] / 100.0,
            }
            for arm, totals in sorted(arms.items())
        },
        "assigned_not_matured": {
            arm: totals["n"] - arms.get(arm, {}).get("n", 0)
            for arm, totals in _arm_totals(aggregates, name, today).items()
        },
        "effects": {
            arm: {
                "effect": result.effect,
                "relative": (result.effect / _goal(arms[spec.control], spec)[0])
                if _goal(arms[spec.control], spec)[0]
                else None,
                "always_valid_interval": [_finite(result.lower), _finite(result.upper)],
                "fixed_horizon_95": [_finite(result.fixed_lower), _finite(result.fixed_upper)],
                "p_value_always_valid": min(1.0, math.exp(-result.log_lr))
                if result.testable
                else 1.0,
                "decision": _decision(result, alpha, arm in decided_on, spec),
                "decided_on": decided_on.get(arm),
            }
            for arm, result in results.items()
        },
        "history": history,
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _decision(result: SequentialResult, alpha: float, ever: bool, spec: ExperimentSpec) -> str:
    if not (ever or result.decided(alpha)):
        return "continue" if result.testable else "collecting"
    # Churn is the one goal where less is better.
    better = result.effect < 0 if spec.goal == "churned" else result.effect > 0
    return "treatment better" if better else "control better"


def _compare(
    arms: dict[str, dict[str, int]], spec: ExperimentSpec, alpha: float
) -> dict[str, SequentialResult]:
    control = arms.get(spec.control)
    if control is None:
        return {}
    mean_c, var_c = _goal(control, spec)
    out = {}
    for arm, totals in sorted(arms.items()):
        if arm == spec.control:
            continue
        mean_t, var_t = _goal(totals, spec)
        out[arm] = msprt(
            mean_t, var_t, totals["n"], mean_c, var_c, control["n"], spec.mixture_sd, alpha
        )
    return out


def report_all(aggregates: Aggregates, config: GrowthConfig, today: int) -> list[dict[str, Any]]:
    return [
        analyse(aggregates, name, config.experiment(name), today, config.alpha)
        for name in experiment_names(aggregates)
    ]
