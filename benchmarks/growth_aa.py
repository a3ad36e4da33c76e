"""A/A false-positive rate and effect recovery of the experiments' always-valid test, at scale.

    .venv/bin/python benchmarks/growth_aa.py                  # 2,000 A/A + 500 A/B runs
    .venv/bin/python benchmarks/growth_aa.py --runs 500 --days 90

Each run simulates an experiment (vitals.growth.abtest_sim): units assigned by hashing every day,
converting at their arm's rate within the 30-day horizon, analysed as a team would: one look per
simulated day (vitals.growth.experiments.analyse), stopping at the first decision. Prints
  - A/A (both arms 10 %): the share of runs that ever decided (false positives), with a 95 %
    Wilson interval, against the nominal alpha; and, as the reference measured in the same run,
    the share a naive daily fixed-horizon z-test (|z| > 1.96 at any look) would have flagged;
  - A/B (10 % vs 10 % + effect): the share of runs whose final always-valid interval covers the
    true effect, and the share decided.
"""

from __future__ import annotations

import argparse
import math
import time

from vitals.growth.abtest_sim import run_once

ALPHA = 0.05


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--ab-runs", type=int, default=500)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--units-per-day", type=int, default=30)
    parser.add_argument("--effect", type=float, default=0.04)
    args = parser.parse_args()
    started = time.perf_counter()
    decided = naive = 0
    for seed in range(args.runs):
        report = run_once(seed, {"control": 0.1, "treatment": 0.1}, args.days, args.units_per_day)
        decided += report["effects"]["treatment"]["decided_on"] is not None  # type: ignore[index]
        naive += any(look["fixed_significant"] for look in report["history"])  # type: ignore[union-attr]
    low, high = wilson(decided, args.runs)
    print(f"A/A: {args.runs} runs x {args.days} daily looks, {args.units_per_day} units/day")
    print(
        f"  always-valid test decided in {decided / args.runs:.2%} of runs "
        f"(95 % CI {low:.2%}-{high:.2%}); nominal alpha {ALPHA:.0%}"
    )
    print(
        f"  reference, a fixed-horizon 95 % test looked at daily: {naive / args.runs:.2%} of runs"
    )
    covered = won = 0
    for seed in range(args.ab_runs):
        report = run_once(
            10_000 + seed,
            {"control": 0.1, "treatment": 0.1 + args.effect},
            args.days,
            args.units_per_day,
        )
        effect = report["effects"]["treatment"]  # type: ignore[index]
        lo, hi = effect["always_valid_interval"]
        covered += (lo is None or lo <= args.effect) and (hi is None or args.effect <= hi)
        won += effect["decision"] == "treatment better"
    print(f"A/B: {args.ab_runs} runs, true effect +{args.effect:.0%} points")
    print(f"  final always-valid interval covers it in {covered / args.ab_runs:.2%} of runs")
    print(f"  decided 'treatment better' in {won / args.ab_runs:.2%} of runs")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
