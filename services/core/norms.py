"""Population norms: where a customer stands among all customers (usage level, breadth, RFM).

Health's usage level and breadth are normalised against the population's medians (so "active" means
active compared with peers, whatever the product's natural event rate), while the trend is measured
against the customer's own 28-day baseline. RFM scores are quintiles over the live population.
Norms are refitted with the model parameters from a snapshot of all customers; until then the
priors below apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

# Below this many customers a median or a quintile is noise: keep the prior.
MIN_CUSTOMERS_FOR_NORMS = 30


@dataclass(frozen=True, slots=True)
class Norms:
    # Median usage rate (weighted events/day, long half-life) among customers with any usage.
    usage_rate_median: float = 5.0
    # Median decayed count of distinct features used.
    breadth_median: float = 4.0
    # Quintile edges (4 inner cut points, ascending) for RFM.
    recency_days_edges: tuple[float, ...] = (14.0, 30.0, 60.0, 120.0)
    frequency_edges: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
    monetary_edges: tuple[float, ...] = (50.0, 100.0, 250.0, 500.0)
    # Mean R/F/M score over the population (used by the "above_population_mean" split rule).
    mean_scores: tuple[float, float, float] = (3.0, 3.0, 3.0)
    # Customers who ever sent a usage event, at the last refit: > 0 means the tenant sends usage.
    usage_customers: int = 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Norms:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class NormsRow:
    """One customer's inputs to the norms, read at the fit time."""

    usage_rate: float | None
    breadth: float | None
    recency_days: float | None
    frequency: int
    monetary: float
    used: bool = False


def _quintile_edges(values: Sequence[float]) -> tuple[float, ...]:
    return tuple(
        float(v) for v in np.quantile(np.asarray(values, dtype=float), [0.2, 0.4, 0.6, 0.8])
    )


def quintile(value: float, edges: Sequence[float]) -> int:
    """1–5: how many edges ``value`` exceeds, plus one."""
    return 1 + sum(1 for edge in edges if value > edge)


def fit_norms(rows: Iterable[NormsRow], prior: Norms) -> Norms:
    rows = list(rows)
    rates = [r.usage_rate for r in rows if r.usage_rate is not None and r.usage_rate > 0]
    breadths = [r.breadth for r in rows if r.breadth is not None and r.breadth > 0]
    buyers = [r for r in rows if r.frequency > 0 and r.recency_days is not None]
    usage_customers = sum(1 for r in rows if r.used)
    usage_rate_median = (
        float(np.median(rates))
        if len(rates) >= MIN_CUSTOMERS_FOR_NORMS
        else prior.usage_rate_median
    )
    breadth_median = (
        float(np.median(breadths))
        if len(breadths) >= MIN_CUSTOMERS_FOR_NORMS
        else prior.breadth_median
    )
    if len(buyers) < MIN_CUSTOMERS_FOR_NORMS:
        return Norms(
            usage_rate_median=usage_rate_median,
            breadth_median=breadth_median,
            recency_days_edges=prior.recency_days_edges,
            frequency_edges=prior.frequency_edges,
            monetary_edges=prior.monetary_edges,
            mean_scores=prior.mean_scores,
            usage_customers=usage_customers,
        )
    recency_edges = _quintile_edges([r.recency_days for r in buyers if r.recency_days is not None])
    frequency_edges = _quintile_edges([r.frequency for r in buyers])
    monetary_edges = _quintile_edges([r.monetary for r in buyers])
    from .rfm import scores  # local import: rfm imports this module

    triples = [
        scores(
            r.recency_days or 0.0,
            r.frequency,
            r.monetary,
            recency_edges,
            frequency_edges,
            monetary_edges,
        )
        for r in buyers
    ]
    mean_scores = tuple(float(x) for x in np.mean(np.asarray(triples, dtype=float), axis=0))
    return Norms(
        usage_rate_median=usage_rate_median,
        breadth_median=breadth_median,
        recency_days_edges=recency_edges,
        frequency_edges=frequency_edges,
        monetary_edges=monetary_edges,
        mean_scores=(mean_scores[0], mean_scores[1], mean_scores[2]),
        usage_customers=usage_customers,
    )
