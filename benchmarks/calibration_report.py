"""Calibration report: does refitting temperature and risk on the stream's own outcomes pay off?

Simulates a TRAINING stream and a HOLDOUT stream (vitals.tools.sim.generator, different seeds), runs
`vitals backtest --calibrate`'s code on both, and scores the holdout as of its cut-off with:

- ``legacy``    the hand-set numbers of config 2026.11.1 (before any calibration);
- ``default``   the current DEFAULT_CONFIG (its RiskConfig / TemperatureConfig were fitted on the
                training stream of this report: seed 7, 2,000 customers, 365 days);
- ``train-fit`` fitted just now on the training stream's (T0, as_of] window;
- ``in-stream`` fitted on the holdout's own (T0, as_of] window (what `--calibrate` does live).

All are judged on the holdout's outcomes AFTER as_of, which no fit has seen.

    .venv/bin/python benchmarks/calibration_report.py [--customers 2000] [--train-seed 7] \\
        [--holdout-seed 42]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import mean

from vitals.core.config import DEFAULT_CONFIG, RiskConfig, ScoringConfig, TemperatureConfig
from vitals.tools.backtest.evaluation import evaluate, format_comparison
from vitals.tools.backtest.runner import run_calibrated_backtest
from vitals.tools.sim.cli import write_events
from vitals.tools.sim.generator import Simulation, simulate

START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 365
HORIZON_DAYS = 90.0
# The numbers of config 2026.11.1, hand-set before this calibration: the "before" of the report.
LEGACY = ScoringConfig(
    version="2026.11.1",
    temperature=TemperatureConfig(
        payment_failure_log_odds=-1.2,
        cancellation_requested_log_odds=-3.0,
        downgrade_log_odds=-0.6,
        escalation_log_odds=-0.35,
        detractor_log_odds=-0.6,
        promoter_log_odds=0.3,
        low_csat_log_odds=-0.4,
        purchase_model="mbgnbd",
        subscription_log_odds_shift=0.0,
        purchase_log_odds_shift=0.0,
    ),
    risk=RiskConfig(
        intercept=-0.6, weight_billing=0.9, weight_usage=2.0, weight_trend=1.0, weight_quiet=1.5
    ),
)


def _stream(customers: int, seed: int, folder: Path) -> tuple[Simulation, Path, datetime]:
    sim = simulate(customers, START, DAYS, seed=seed, kind="mixed")
    as_of = sim.end - timedelta(days=HORIZON_DAYS)
    path = folder / f"seed{seed}.jsonl"
    write_events(path, sim, as_of, progress=False)
    return sim, path, as_of


def _canceller_temperature(sim: Simulation, rows: list[dict[str, object]]) -> float:
    """Mean temperature of the SaaS "canceller" archetype still subscribed (temperature > 0)."""
    values = [
        float(str(row["temperature"]))
        for row in rows
        if sim.truth[str(row["customer_id"])].archetype == "canceller"
        and float(str(row["temperature"])) > 0
    ]
    return mean(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--train-seed", type=int, default=7)
    parser.add_argument("--holdout-seed", type=int, default=42)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vitals-calibration-") as tmp:
        folder = Path(tmp)
        _, train_path, as_of = _stream(args.customers, args.train_seed, folder)
        train = run_calibrated_backtest(
            train_path, as_of.timestamp(), HORIZON_DAYS, config=LEGACY, progress=False
        )
        print(f"TRAINING stream (seed {args.train_seed}, {args.customers} customers), from legacy:")
        print(train.calibration.describe())

        holdout_sim, holdout_path, as_of = _stream(args.customers, args.holdout_seed, folder)
        holdout = run_calibrated_backtest(
            holdout_path,
            as_of.timestamp(),
            HORIZON_DAYS,
            config=LEGACY,
            progress=False,
            extra_configs={"default": DEFAULT_CONFIG, "train-fit": train.calibration.config},
        )
    print(f"\nHOLDOUT stream (seed {args.holdout_seed}), in-stream fit from legacy:")
    print(holdout.calibration.describe())

    labels = holdout_sim.labels(as_of, HORIZON_DAYS)
    variants = {"legacy": holdout.run.rows}
    variants |= {
        "default": holdout.variants["default"],
        "train-fit": holdout.variants["train-fit"],
        "in-stream": holdout.variants["calibrated"],
    }
    evaluations = {
        name: evaluate(rows, holdout.run.baselines, labels) for name, rows in variants.items()
    }
    print(
        f"\nHOLDOUT as of {as_of:%Y-%m-%d}, outcomes in the next {HORIZON_DAYS:g} days "
        "(seen by no fit):\n"
    )
    print(format_comparison(evaluations))
    cancellers = {
        name: _canceller_temperature(holdout_sim, rows) for name, rows in variants.items()
    }
    print(
        "\nmean temperature of subscribed 'canceller' accounts: "
        + ", ".join(f"{name} {value:.1f}" for name, value in cancellers.items())
    )
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
