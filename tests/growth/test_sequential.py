"""The always-valid test: nominal false-positive rate under daily looks (A/A), a known effect
recovered inside its interval, and the mSPRT's closed forms."""

from __future__ import annotations

import math

from vitals.growth.abtest_sim import false_positive_rate, run_once
from vitals.growth.experiments import assign_arm
from vitals.growth.sequential import MIN_UNITS_PER_ARM, msprt

ALPHA = 0.05
# CI size: 120 A/A runs x 90 daily looks each (benchmarks/growth_aa.py runs 2,000).
AA_RUNS = 120


def test_aa_false_positive_rate_with_daily_looks_is_at_most_alpha() -> None:
    rate = false_positive_rate(AA_RUNS, seed=1, days=120, units_per_day=30)
    assert rate <= ALPHA


def test_known_playbook_effect_is_recovered_inside_the_interval_and_decided() -> None:
    hits = decided = 0
    runs = 20
    for seed in range(runs):
        report = run_once(seed, {"control": 0.10, "treatment": 0.16}, days=120, units_per_day=40)
        effect = report["effects"]["treatment"]  # type: ignore[index]
        low, high = effect["always_valid_interval"]
        hits += low <= 0.06 <= high
        decided += effect["decision"] == "treatment better"
    assert hits >= runs * (1 - ALPHA)
    assert decided >= runs * 0.8


def test_a_harmful_playbook_is_decided_for_control() -> None:
    report = run_once(3, {"control": 0.20, "treatment": 0.10}, days=90, units_per_day=40)
    assert report["effects"]["treatment"]["decision"] == "control better"  # type: ignore[index]


def test_msprt_interval_contains_exactly_the_effects_it_does_not_reject() -> None:
    result = msprt(0.15, 0.15 * 0.85, 400, 0.10, 0.09, 400, 0.05, ALPHA)
    variance = 0.15 * 0.85 / 400 + 0.09 / 400
    tau2 = 0.0025
    for theta in (result.lower, result.upper):
        log_lr = 0.5 * math.log(variance / (variance + tau2)) + tau2 * (0.05 - theta) ** 2 / (
            2 * variance * (variance + tau2)
        )
        assert math.isclose(log_lr, math.log(1 / ALPHA), rel_tol=1e-9)
    assert result.lower < result.fixed_lower < 0.05 < result.fixed_upper < result.upper


def test_no_decision_below_the_minimum_arm_size() -> None:
    n = MIN_UNITS_PER_ARM - 1
    assert not msprt(1.0, 0.0001, n, 0.0, 0.0001, n, 0.05, ALPHA).decided(ALPHA)


def test_arm_assignment_is_stable_and_balanced() -> None:
    arms = [assign_arm("exp", f"lead-{i}", ("control", "treatment")) for i in range(4000)]
    assert arms[:3] == [assign_arm("exp", f"lead-{i}", ("control", "treatment")) for i in range(3)]
    assert abs(arms.count("control") - 2000) < 150
