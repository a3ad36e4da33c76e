"""Purchase backtest on a real retail transaction log: does temperature rank "buys again"?

The log is CDNOW's (Fader & Hardie's classic data set, shipped with the `lifetimes` package as
``CDNOW_master.txt``): one row per line item (customer, YYYYMMDD date, CDs, dollar value), 69,659
rows of 23,570 customers who first bought in Q1 1997, followed to mid-1998. Each row becomes one
contract purchase event, exactly as a shop would send its order lines (several per day).

The events are folded by the scoring core, the population models are refitted at ``as_of`` (the
scorer refits periodically the same way), and every customer is scored at ``as_of``. The target
is "buys again within the horizon": any purchase in (as_of, as_of + horizon]. Predictors compared
by AUC, each a column of the same snapshot unless said otherwise:

- ``temperature``: the configured purchase model's P(at least one purchase within the horizon);
- ``p_buy_<model>``: that probability under each purchase model (the exact closed forms of BG/NBD
  and MBG/NBD, and MBG/NBD's Poisson form 1 − e^(−E[X(horizon)]));
- ``p_alive_<model>``: P(alive), the pre-2026.12 temperature;
- ``expected_purchases``: the CLV's expected purchases over its horizon;
- ``days_since_last``: the naive baseline (fewer days = more likely), from the raw rows.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from vitals.core.config import DEFAULT_CONFIG, ScoringConfig
from vitals.core.events import Event, parse_event
from vitals.core.models import bgnbd, mbgnbd
from vitals.core.params import DEFAULT_PARAMS
from vitals.core.temperature import purchase_stats
from vitals.scorer.offline import OfflineScorer

from .metrics import auc

SECONDS_PER_DAY = 86_400.0
# The customary CDNOW split (Fader, Hardie & Lee 2005): 39 weeks of calibration from 1997-01-01.
CDNOW_AS_OF = datetime(1997, 10, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LogRow:
    customer_id: str
    day: datetime
    amount: float


def read_cdnow(path: Path, every_nth_customer: int = 1) -> list[LogRow]:
    """The CDNOW master file's rows; ``every_nth_customer`` > 1 keeps a fixed subsample."""
    rows: list[LogRow] = []
    with path.open() as handle:
        next(handle)  # header
        for line in handle:
            customer, day, _cds, value = line.split()
            if int(customer) % every_nth_customer:
                continue
            rows.append(
                LogRow(customer, datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC), float(value))
            )
    return rows


def to_events(rows: list[LogRow]) -> Iterator[Event]:
    """One purchase event per line item, a second apart within a customer's day (as a shop's
    order lines arrive), in time order."""
    per_day: dict[tuple[str, datetime], int] = defaultdict(int)
    timed = []
    for index, row in enumerate(rows):
        k = per_day[(row.customer_id, row.day)]
        per_day[(row.customer_id, row.day)] += 1
        timed.append((row.day + timedelta(hours=12, seconds=k), index, row))
    for when, index, row in sorted(timed, key=lambda t: (t[0], t[1])):
        yield parse_event(
            {
                "event_id": f"cdnow-{index}",
                "customer_id": row.customer_id,
                "type": "purchase",
                "name": "order_line",
                "timestamp": when.isoformat().replace("+00:00", "Z"),
                "amount": max(0.0, row.amount),
                "currency": "USD",
            }
        )


@dataclass(frozen=True)
class PurchaseBacktest:
    customers: int
    positives: int
    auc: dict[str, float]
    temperature_model: str


def run(
    rows: list[LogRow],
    as_of: datetime = CDNOW_AS_OF,
    horizon_days: float | None = None,
    config: ScoringConfig = DEFAULT_CONFIG,
) -> PurchaseBacktest:
    horizon = horizon_days if horizon_days is not None else config.temperature.horizon_days
    config = replace(config, temperature=replace(config.temperature, horizon_days=horizon))
    cut = as_of.timestamp()
    end = cut + horizon * SECONDS_PER_DAY
    engine = OfflineScorer(config, DEFAULT_PARAMS)
    for event in to_events([r for r in rows if r.day.timestamp() < cut]):
        engine.apply(event)
    params = engine.refit(cut)
    bought_again = {r.customer_id for r in rows if cut <= r.day.timestamp() < end}
    last_seen: dict[str, float] = {}
    for r in rows:
        if r.day.timestamp() < cut:
            last_seen[r.customer_id] = max(last_seen.get(r.customer_id, 0.0), r.day.timestamp())

    ids = sorted(engine.states)
    columns: dict[str, list[float]] = defaultdict(list)
    for cid in ids:
        state = engine.states[cid]
        snap = engine.snapshot(cid, now=cut)
        columns["temperature"].append(snap["temperature"]["value"])
        clv = snap["clv"]
        columns["expected_purchases"].append(
            clv["components"].get("expected_purchases", 0.0) if clv else 0.0
        )
        columns["days_since_last"].append(-(cut - last_seen[cid]) / SECONDS_PER_DAY)
        x, t_x, T = purchase_stats(state, cut)
        for name, module, parameters in (
            ("bgnbd", bgnbd, params.models.bgnbd),
            ("mbgnbd", mbgnbd, params.models.mbgnbd),
        ):
            columns[f"p_buy_{name}"].append(
                module.p_purchase_within(horizon, x, t_x, T, *parameters)
            )
            columns[f"p_alive_{name}"].append(module.p_alive(x, t_x, T, *parameters))
        expected = mbgnbd.expected_purchases(horizon, x, t_x, T, *params.models.mbgnbd)
        columns["p_buy_mbgnbd_poisson"].append(-math.expm1(-expected))
    y = np.array([cid in bought_again for cid in ids], dtype=float)
    return PurchaseBacktest(
        customers=len(ids),
        positives=int(y.sum()),
        auc={name: auc(y, np.asarray(values)) for name, values in columns.items()},
        temperature_model=config.temperature.purchase_model,
    )


def format_report(result: PurchaseBacktest) -> str:
    lines = [
        f"customers {result.customers:,}, bought again within the horizon {result.positives:,} "
        f"({100 * result.positives / max(1, result.customers):.1f} %); temperature = "
        f"P(buy within horizon) under {result.temperature_model}",
        f"{'predictor':<22} {'AUC':>7}",
    ]
    for name, value in sorted(result.auc.items(), key=lambda kv: -kv[1]):
        lines.append(f"{name:<22} {value:7.4f}")
    return "\n".join(lines)
