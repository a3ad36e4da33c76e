"""Customer groups A-E by unit price x purchase frequency (issue 13).

A: no purchase yet (a lead) · B: low price, low frequency (new) · C: high frequency, low price ·
D: high price, low frequency · E: high price, high frequency. Price is the mean order value and
frequency the number of orders over a trailing window (``group_window_days``); "high" means at or
above the threshold, which ``fit_thresholds`` sets at a population quantile.
"""

from __future__ import annotations

from collections.abc import Sequence

from vitals.core.decay import SECONDS_PER_DAY

from .config import GrowthConfig

GROUPS: tuple[str, ...] = ("A", "B", "C", "D", "E")


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
