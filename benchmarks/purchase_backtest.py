"""Purchase temperature on a real retail log (CDNOW, shipped with `lifetimes`): AUC of "buys again
within the horizon" for temperature, expected purchases, P(alive) and days since the last purchase,
plus Pareto/NBD expected purchases (lifetimes' own fitter) as an outside reference.

    .venv/bin/python benchmarks/purchase_backtest.py [--horizon-days 90] [--every-nth 1]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import lifetimes.datasets
import numpy as np

from vitals.tools.backtest.metrics import auc
from vitals.tools.backtest.purchases import CDNOW_AS_OF, format_report, read_cdnow, run

CDNOW = Path(lifetimes.datasets.__file__).parent / "CDNOW_master.txt"


def pareto_nbd_auc(rows: list, horizon_days: float) -> float:
    """Pareto/NBD conditional expected purchases, fitted by lifetimes on purchase days."""
    import pandas as pd
    from lifetimes import ParetoNBDFitter
    from lifetimes.utils import summary_data_from_transaction_data

    frame = pd.DataFrame({"id": [r.customer_id for r in rows], "date": [r.day for r in rows]})
    cut = pd.Timestamp(CDNOW_AS_OF)
    calibration = frame[frame.date < cut]
    summary = summary_data_from_transaction_data(
        calibration, "id", "date", observation_period_end=cut - pd.Timedelta(days=1), freq="D"
    )
    fitter = ParetoNBDFitter(penalizer_coef=0.0).fit(
        summary["frequency"], summary["recency"], summary["T"]
    )
    expected = fitter.conditional_expected_number_of_purchases_up_to_time(
        horizon_days, summary["frequency"], summary["recency"], summary["T"]
    )
    end = cut + pd.Timedelta(days=horizon_days)
    buyers = set(frame[(frame.date >= cut) & (frame.date < end)].id)
    y = np.array([cid in buyers for cid in summary.index], dtype=float)
    return auc(y, expected.to_numpy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizon-days", type=float, default=90.0)
    parser.add_argument("--every-nth", type=int, default=1, help="subsample customers")
    parser.add_argument("--no-pareto", action="store_true", help="skip the Pareto/NBD reference")
    args = parser.parse_args()
    rows = read_cdnow(CDNOW, args.every_nth)
    print(
        f"CDNOW: {len(rows):,} line items; as of {CDNOW_AS_OF:%Y-%m-%d}, horizon "
        f"{args.horizon_days:g} days"
    )
    started = time.perf_counter()
    result = run(rows, horizon_days=args.horizon_days)
    print(f"({time.perf_counter() - started:.1f} s)")
    print(format_report(result))
    if not args.no_pareto:
        started = time.perf_counter()
        value = pareto_nbd_auc(rows, args.horizon_days)
        print(
            f"\nPareto/NBD expected purchases (lifetimes): AUC {value:.4f} "
            f"({time.perf_counter() - started:.1f} s)"
        )


if __name__ == "__main__":
    main()
