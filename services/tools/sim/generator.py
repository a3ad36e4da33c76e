"""Seeded synthetic customer streams with ground-truth labels, for tests, backtests and the demo.

``simulate(n, start, days, seed, kind)`` builds a ``Simulation``: the events of the contract
(docs/design.md §2), in arrival order, and what really happened to every customer, from which
``labels(as_of, horizon_days)`` derives the outcomes a backtest scores against.

Two populations (see ``vitals.tools.sim.saas`` and ``vitals.tools.sim.purchases``):
- ``saas``: subscription accounts with archetypes (growing, stable, declining, ghost = "stops using
  while paying", late payer, canceller, reactivated); label ``churned``.
- ``purchases``: BG/NBD-style buyers; label ``buys_again``.
- ``mixed``: both (``MIXED_SAAS_SHARE`` of them SaaS).

Real streams are imperfect, so by default a few events are resent (same event_id, arriving seconds
to minutes later) and a few arrive late (their event time is minutes to hours before their arrival
position). The stream is deterministic for a seed: customer i's story depends only on (seed, i).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np

from vitals.tools.sim.columns import SECONDS_PER_DAY, EventTable
from vitals.tools.sim.purchases import PurchaseTruth, simulate_buyer
from vitals.tools.sim.saas import SaasTruth, simulate_account

Kind = Literal["saas", "purchases", "mixed"]

MIXED_SAAS_SHARE = 0.6
# Resends: a client retrying after a timeout, 1 s to 10 min after the original.
DEFAULT_DUPLICATE_RATE = 0.002
DUPLICATE_DELAY_S = (1, 600)
# Late arrivals: a buffered mobile client or a slow batch, 1 min to 3 h late.
DEFAULT_OUT_OF_ORDER_RATE = 0.01
OUT_OF_ORDER_DELAY_S = (60, 3 * 3600)
# Separates the per-customer random streams from the stream-level ones (duplicates, lateness).
_STREAM_KEY = 0x5EED


@dataclass(frozen=True)
class CustomerTruth:
    """Ground truth for one customer: its population, archetype and the process' own record."""

    customer_id: str
    kind: Literal["saas", "purchases"]
    archetype: str
    saas: SaasTruth | None = None
    purchases: PurchaseTruth | None = None


class Simulation:
    """A generated stream and its ground truth.

    ``events`` iterates the stream (dicts of the event contract) in arrival order: time-ordered
    except for the configured late arrivals and resends. Iterate as often as you like.
    """

    def __init__(
        self, table: EventTable, truth: dict[str, CustomerTruth], start: datetime, days: int
    ) -> None:
        self.table: EventTable = table
        self.truth = truth
        self.start = start
        self.days = days

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    @property
    def events(self) -> Iterator[dict[str, Any]]:
        return self.iter_events()

    def iter_events(
        self, until: datetime | None = None, since: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        """Events with since < event time <= until (either bound optional), in arrival order."""
        events: Iterator[dict[str, Any]] = self.table.iter_dicts(
            until_ts=None if until is None else _aware(until).timestamp(),
            since_ts=None if since is None else _aware(since).timestamp(),
        )
        return events

    def __len__(self) -> int:
        return len(self.table)

    def count_events(self, until: datetime | None = None) -> int:
        """How many events (resends included) have event time <= until (all if None)."""
        if until is None:
            return len(self.table)
        return int(np.count_nonzero(self.table.ts <= _aware(until).timestamp()))

    def labels(self, as_of: datetime, horizon_days: float) -> dict[str, dict[str, int]]:
        """Outcomes in (as_of, as_of + horizon] for every customer known at as_of.

        SaaS: ``{"churned": 1}`` if the account is subscribed at as_of (its last ``started`` is
        at or before as_of and not followed by a ``cancelled`` at or before as_of) and a
        ``cancelled`` falls in the horizon; accounts not subscribed at as_of get no label.
        Purchases: ``{"buys_again": 1}`` if the customer bought at or before as_of and buys
        again in the horizon.
        """
        lo = int(_aware(as_of).timestamp())
        hi = lo + int(horizon_days * SECONDS_PER_DAY)
        out: dict[str, dict[str, int]] = {}
        for cid, truth in self.truth.items():
            if truth.saas is not None:
                starts = [t for t in truth.saas.starts if t <= lo]
                if not starts or any(max(starts) <= c <= lo for c in truth.saas.cancels):
                    continue
                out[cid] = {"churned": int(any(lo < c <= hi for c in truth.saas.cancels))}
            elif truth.purchases is not None:
                bought = truth.purchases.purchases
                if not bought or bought[0] > lo:
                    continue
                out[cid] = {"buys_again": int(any(lo < t <= hi for t in bought))}
        return out


def simulate(
    n_customers: int,
    start: datetime,
    days: int,
    seed: int,
    kind: Kind = "mixed",
    *,
    duplicate_rate: float = DEFAULT_DUPLICATE_RATE,
    out_of_order_rate: float = DEFAULT_OUT_OF_ORDER_RATE,
    usage_scale: float = 1.0,
    dropout_at_first: bool = True,
    id_prefix: str | None = None,
    signup_days: float | None = None,
) -> Simulation:
    """Generate ``n_customers`` over ``days`` days from ``start`` (naive datetimes are UTC).

    ``usage_scale`` multiplies SaaS usage volume (the demo uses less); ``id_prefix`` starts every
    event_id (default ``s<seed>``) so streams of different runs never collide in dedup;
    ``signup_days`` puts every signup / first purchase in the window's first days (default: the
    first 60% / 70% of the window). Events after the window end are not emitted.
    """
    if n_customers < 0 or days <= 0:
        raise ValueError("n_customers must be >= 0 and days > 0")
    if not (0 <= duplicate_rate < 1 and 0 <= out_of_order_rate < 1):
        raise ValueError("duplicate_rate and out_of_order_rate are fractions in [0, 1)")
    start = _aware(start)
    start_ts = int(start.timestamp())
    end_ts = start_ts + days * SECONDS_PER_DAY
    saas_count = {"saas": n_customers, "purchases": 0}.get(
        kind, round(n_customers * MIXED_SAAS_SHARE)
    )
    properties: list[dict[str, Any]] = []
    customer_ids: list[str] = []
    truth: dict[str, CustomerTruth] = {}
    columns: list[dict[str, np.ndarray]] = []
    for i in range(n_customers):
        rng = np.random.default_rng([seed, i])
        if i < saas_count:
            cid = f"acct-{i:05d}"
            rows, saas = simulate_account(
                rng, i, start_ts, days, properties, usage_scale, signup_days
            )
            truth[cid] = CustomerTruth(cid, "saas", saas.archetype, saas=saas)
        else:
            cid = f"cust-{i:05d}"
            rows, bought = simulate_buyer(
                rng, i, start_ts, days, properties, dropout_at_first, signup_days
            )
            truth[cid] = CustomerTruth(cid, "purchases", "bgnbd", purchases=bought)
        cols = rows.columns()
        keep = (cols["ts"] >= start_ts) & (cols["ts"] < end_ts)
        cols = {key: value[keep] for key, value in cols.items()}
        cols["cust"] = np.full(len(cols["ts"]), len(customer_ids), dtype=np.int32)
        cols["seq"] = np.arange(len(cols["ts"]), dtype=np.int32)
        customer_ids.append(cid)
        columns.append(cols)
        _trim_truth(truth[cid], end_ts)
    table = _arrange(
        columns,
        customer_ids,
        properties,
        id_prefix or f"s{seed}",
        seed,
        duplicate_rate,
        out_of_order_rate,
    )
    return Simulation(table, truth, start, days)


def _trim_truth(truth: CustomerTruth, end_ts: int) -> None:
    """Drop recorded outcomes past the window end: they were never emitted as events."""
    if truth.saas is not None:
        truth.saas.starts[:] = [t for t in truth.saas.starts if t < end_ts]
        truth.saas.cancels[:] = [t for t in truth.saas.cancels if t < end_ts]
    if truth.purchases is not None:
        truth.purchases.purchases[:] = [t for t in truth.purchases.purchases if t < end_ts]


def _arrange(
    columns: list[dict[str, np.ndarray]],
    customer_ids: list[str],
    properties: list[dict[str, Any]],
    id_prefix: str,
    seed: int,
    duplicate_rate: float,
    out_of_order_rate: float,
) -> EventTable:
    """Concatenate customers, add resends and late arrivals, and sort by arrival."""
    keys = ("ts", "cust", "seq", "kind", "name", "user", "amount", "score", "props")
    if columns:
        cols = {key: np.concatenate([c[key] for c in columns]) for key in keys}
    else:
        cols = _empty_columns()
    rng = np.random.default_rng([seed, _STREAM_KEY])
    n = len(cols["ts"])
    arrival = cols["ts"].astype(np.float64)
    late = rng.random(n) < out_of_order_rate
    arrival[late] += rng.uniform(*OUT_OF_ORDER_DELAY_S, int(late.sum()))
    dup_index = np.flatnonzero(rng.random(n) < duplicate_rate)
    if len(dup_index):
        cols = {key: np.concatenate([value, value[dup_index]]) for key, value in cols.items()}
        arrival = np.concatenate(
            [arrival, arrival[dup_index] + rng.uniform(*DUPLICATE_DELAY_S, len(dup_index))]
        )
    order = np.lexsort((cols["seq"], cols["cust"], arrival))
    return EventTable(
        customer_ids, properties, id_prefix, **{key: cols[key][order] for key in keys}
    )


def _empty_columns() -> dict[str, np.ndarray]:
    ints = ("ts", "cust", "seq", "kind", "name", "user", "props")
    cols: dict[str, np.ndarray] = {key: np.zeros(0, dtype=np.int64) for key in ints}
    cols["amount"] = np.zeros(0)
    cols["score"] = np.zeros(0)
    return cols


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
