"""Customer groups A-E by unit price x purchase frequency (issue 13).

A: no purchase yet (a lead) · B: low price, low frequency (new) · C: high frequency, low price ·
D: high price, low frequency · E: high price, high frequency. Price is the mean order value and
frequency the number of orders over a trailing window (``group_window_days``); "high" means at or
above the threshold, which ``fit_thresholds`` sets at a population quantile.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TypeVar

from vitals.core.decay import SECONDS_PER_DAY

from .config import GrowthConfig

GROUPS: tuple[str, ...] = ("A", "B", "C", "D", "E")
K = TypeVar("K", float, int)
# The population's unit prices are counted in the buckets of a 1-2-5 series (…, 10, 20, 50, 100,
# …): a price quantile is read as the bucket it falls in, the kind of round threshold an
# operator sets anyway, and one Redis field per bucket instead of per price. Order counts are
# counted exactly up to ORDERS_CAP (more count as ORDERS_CAP).
PRICE_STEPS: tuple[float, ...] = (1.0, 2.0, 5.0)
ORDERS_CAP = 100


def group_of(orders: int, spend: float, ever_bought: bool, config: GrowthConfig) -> str:
    """The group of a customer with ``orders`` orders worth ``spend`` inside the window."""
    if not ever_bought:
        return "A"
    price = spend / orders if orders else 0.0
    high_price = price >= config.price_threshold
    high_frequency = orders >= config.frequency_threshold
    if high_price and high_frequency:
        return "E"
    if high_price:
        return "D"
    if high_frequency:
        return "C"
    return "B"


def history(
    purchases: Sequence[tuple[float, float]],
    first_ts: float,
    last_ts: float,
    config: GrowthConfig,
) -> list[tuple[float, str]]:
    """Every group change up to ``last_ts``: [(time, group)], the first at ``first_ts``.

    The group can change at a purchase (it enters the window) and one window later (it leaves);
    changes after ``last_ts`` are not known yet and not reported. O(n log n) in purchases.
    """
    window = config.group_window_days * SECONDS_PER_DAY
    ordered = sorted(purchases)
    moments = sorted(
        {first_ts}
        | {ts for ts, _ in ordered}
        | {ts + window for ts, _ in ordered if ts + window <= last_ts}
    )
    changes: list[tuple[float, str]] = []
    head = tail = 0  # purchases[tail:head] are inside (t - window, t]
    spend = 0.0
    for moment in moments:
        while head < len(ordered) and ordered[head][0] <= moment:
            spend += ordered[head][1]
            head += 1
        while tail < head and ordered[tail][0] <= moment - window:
            spend -= ordered[tail][1]
            tail += 1
        group = group_of(head - tail, spend, head > 0, config)
        if not changes or changes[-1][1] != group:
            changes.append((moment, group))
    return changes


def in_window(
    purchases: Sequence[tuple[float, float]], at: float, config: GrowthConfig
) -> tuple[int, float]:
    """(orders, spend) inside the trailing window ending at ``at``, as ``history`` counts them."""
    start = at - config.group_window_days * SECONDS_PER_DAY
    inside = [amount for ts, amount in purchases if start < ts <= at]
    return len(inside), sum(inside)


def price_bucket(price: float) -> float:
    """The lower bound of the 1-2-5 bucket holding ``price`` (0 for a price under 1)."""
    if price < 1.0:
        return 0.0
    decade = 10.0 ** math.floor(math.log10(price))
    # log10 can land a hair under an exact power of ten: take the step that the price reaches.
    if price < decade:
        decade /= 10.0
    elif price >= 10.0 * decade:
        decade *= 10.0
    return max(step * decade for step in PRICE_STEPS if step * decade <= price)


def fitted_thresholds(
    prices: Mapping[float, int], orders: Mapping[int, int], quantile: float
) -> tuple[float, int, int] | None:
    """(price bucket, orders, buyers) at ``quantile`` of the buyers counted in the histograms
    (bucket -> buyers, orders -> buyers), nearest-rank as ``fit_thresholds``; None without
    buyers."""
    buyers = sum(prices.values())
    if buyers == 0:
        return None
    rank = min(buyers - 1, max(0, int(quantile * buyers)))
    return _at_rank(prices, rank), _at_rank(orders, rank), buyers


def _at_rank(counts: Mapping[K, int], rank: int) -> K:
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen > rank:
            return value
    raise ValueError("rank beyond the counts")


def fit_thresholds(
    customers: Sequence[tuple[int, float]], quantile: float
) -> tuple[float, float] | None:
    """(price, frequency) thresholds at ``quantile`` of buying customers' (orders, spend) in the
    window; None without buyers. Nearest-rank quantiles: a threshold is a value someone has."""
    buyers = [(orders, spend / orders) for orders, spend in customers if orders > 0]
    if not buyers:
        return None
    prices = sorted(price for _, price in buyers)
    freqs = sorted(orders for orders, _ in buyers)
    rank = min(len(buyers) - 1, max(0, int(quantile * len(buyers))))
    return prices[rank], float(freqs[rank])
