"""Population growth metrics from the aggregates (aggregate.Aggregates), per period and cohort.

Everything here reads per-metric totals keyed by day and slot: a request costs the number of
(metric, day, cohort) cells, never a scan of the entities. Shared by the API and the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from vitals.core.decay import SECONDS_PER_DAY

from .aggregate import Aggregates
from .budget import Budget
from .facts import AARRR, MQL_TARGETS, NOW
from .groups import GROUPS, fitted_thresholds
from .periods import Period
from .state import STAGES

CONVERSIONS: tuple[tuple[str, str, str], ...] = (
    ("lead_mql", "enter:visitor", "conv:lead_mql"),
    *((f"mql_{t}", "enter:mql", f"conv:mql_{t}") for t in MQL_TARGETS),
)


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _cost_per(spend: float | None, count: int) -> float | None:
    return spend / count if spend is not None and count else None


@dataclass(frozen=True, slots=True)
class View:
    """Aggregates seen through a period kind, a day range and an optional cohort."""

    aggregates: Aggregates
    period: Period
    cohort: str | None = None
    since: int | None = None
    until: int | None = None

    def cells(self, metric: str, by_slot: bool = False) -> dict[tuple[int, str], int]:
        """(day, slot) -> total for ``metric``, within the filters (day -1 for "now")."""
        out: dict[tuple[int, str], int] = {}
        for key, value in self.aggregates.get(metric, {}).items():
            day_text, _, slot = key.partition("|")
            if not by_slot and self.cohort is not None and slot != self.cohort:
                continue
            day = -1 if day_text == NOW else int(day_text)
            if day >= 0 and (
                (self.since is not None and day < self.since)
                or (self.until is not None and day > self.until)
            ):
                continue
            out[(day, slot)] = out.get((day, slot), 0) + value
        return out

    def by_period(self, metric: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for (day, _), value in self.cells(metric).items():
            if day >= 0:
                label = self.period.label(day)
                out[label] = out.get(label, 0) + value
        return out

    def now(self, metric: str) -> int:
        return sum(v for (day, _), v in self.cells(metric).items() if day < 0)

    def data_days(self) -> list[int]:
        """Every day with a (non-experiment) total inside the filters."""
        return [
            day
            for metric in self.aggregates
            for (day, _) in self.cells(metric)
            if day >= 0 and not metric.startswith("exp:")
        ]

    def as_of(self) -> int | None:
        """The last day the data reaches (event time, over every cohort and day, not only the
        filtered ones), cut at ``until``: periods after it have not happened yet and the one
        holding it may be in progress."""
        days = [
            int(key.partition("|")[0])
            for metric, cells in self.aggregates.items()
            if not metric.startswith("exp:")
            for key in cells
            if not key.startswith(NOW)
        ]
        if not days:
            return None
        return min(max(days), self.until) if self.until is not None else max(days)

    def coverage(self, label_day: int, as_of: int | None) -> tuple[int, int]:
        """(days covered, days in period) for the period holding ``label_day``: a period cut by
        ``since`` or still in progress at ``as_of`` covers fewer days than it has."""
        start, end = self.period.start(label_day), self.period.next_start(label_day)
        first = max(start, self.since) if self.since is not None else start
        last = min(end - 1, as_of) if as_of is not None else end - 1
        return max(0, last - first + 1), end - start

    def period_starts(self) -> dict[str, int]:
        """label -> first day, for every period from the first day with data (or ``since``) to the
        last (or ``until``), empty ones too."""
        days = self.data_days()
        if self.since is not None:
            days.append(self.since)
        if self.until is not None:
            days.append(self.until)
        out: dict[str, int] = {}
        if days:
            day, last = self.period.start(min(days)), max(days)
            while day <= last:
                out[self.period.label(day)] = day
                day = self.period.next_start(day)
        return out

    def labels(self) -> list[str]:
        return list(self.period_starts())


def funnel(view: View, budget: Budget | None = None) -> dict[str, Any]:
    """Stage entries, pair conversions, LVR, fast/old conversions and cost per SQL per period;
    the current stage counts and the mean time in each stage."""
    starts = view.period_starts()
    labels = list(starts)
    as_of = view.as_of()
    entered = {stage: view.by_period(f"enter:{stage}") for stage in STAGES}
    conv = {name: (view.by_period(den), view.by_period(num)) for name, den, num in CONVERSIONS}
    fast, old = view.by_period("cust:fast"), view.by_period("cust:old")
    rows: list[dict[str, Any]] = []
    previous: int | None = None
    for label in labels:
        qualified = entered["mql"].get(label, 0)
        sql = entered["sql"].get(label, 0)
        covered, length = view.coverage(starts[label], as_of)
        partial = covered < length
        rows.append(
            {
                "period": label,
                "entered": {stage: entered[stage].get(label, 0) for stage in STAGES},
                "conversion": {
                    name: {
                        "cohort_size": dens.get(label, 0),
                        "converted": nums.get(label, 0),
                        "rate": _rate(nums.get(label, 0), dens.get(label, 0)),
                    }
                    for name, (dens, nums) in conv.items()
                },
                "qualified": qualified,
                "days_covered": covered,
                "days_in_period": length,
                "partial": partial,
                # A partial period against a whole one reads as a collapse (or, after a partial
                # one, a boom): LVR compares whole periods only; run rate projects a partial one.
                "lvr_pct": None if partial else lvr(qualified, previous),
                "lvr_run_rate_pct": (
                    lvr_run_rate(qualified, covered, length, previous) if partial else None
                ),
                "conversions_fast": fast.get(label, 0),
                "conversions_old": old.get(label, 0),
                "cost_per_sql": _cost_per(budget.of(label) if budget else None, sql),
            }
        )
        previous = None if partial else qualified
    time_in_stage = {}
    for stage in STAGES[:-1]:
        seconds, count = (
            sum(view.cells(f"tis:{stage}").values()),
            sum(view.cells(f"tisn:{stage}").values()),
        )
        time_in_stage[stage] = {
            "left": count,
            "mean_days": seconds / count / SECONDS_PER_DAY if count else None,
        }
    return {
        "periods": rows,
        "current": {"stranger": 0, **{s: view.now(f"now:{s}") for s in STAGES}},
        "time_in_stage": time_in_stage,
    }


def lvr(current: int, previous: int | None) -> float | None:
    """Lead velocity rate, percent: (qualified this period − last) ÷ last × 100; None without a
    previous period or with none qualified in it (the rate is undefined, not infinite)."""
    return lvr_float(current, previous)


# A pace read off the first day or two of a month swings by hundreds of percent (one busy day
# times 31): a run rate needs this share of its period covered.
MIN_RUN_RATE_COVERAGE = 0.25


def lvr_run_rate(
    qualified: int, days_covered: int, days_in_period: int, previous: int | None
) -> float | None:
    """LVR of a partial period at its pace so far: qualified × days in period ÷ days covered,
    against the whole previous period; None without a whole previous period or before
    ``MIN_RUN_RATE_COVERAGE`` of the period is covered."""
    if days_covered <= 0 or days_covered < MIN_RUN_RATE_COVERAGE * days_in_period:
        return None
    return lvr_float(qualified * days_in_period / days_covered, previous)


def lvr_float(current: float, previous: int | None) -> float | None:
    if previous is None or previous == 0:
        return None
    return (current - previous) / previous * 100.0


def groups(view: View, quantile: float) -> dict[str, Any]:
    """Group sizes at the end of each period (running sum of flows), flows per period, the
    current sizes, and the thresholds the current buyers fit at ``quantile``."""
    labels = view.labels()
    flows: dict[str, dict[str, int]] = {}
    for metric in view.aggregates:
        if metric.startswith("flow:"):
            for label, value in view.by_period(metric).items():
                flows.setdefault(label, {})[metric[5:]] = value
    # Sizes need every flow before the window too: read without the since filter.
    unbounded = replace(view, since=None)
    running = dict.fromkeys(GROUPS, 0)
    sizes_at: dict[str, dict[str, int]] = {}
    by_label: dict[str, dict[str, int]] = {}
    for metric in view.aggregates:
        if metric.startswith("flow:"):
            for label, value in unbounded.by_period(metric).items():
                by_label.setdefault(label, {})[metric[5:]] = value
    for label in sorted(set(by_label) | set(labels), key=_label_order(view.period)):
        for move, value in by_label.get(label, {}).items():
            source, target = move[0], move[1]
            if source in running:
                running[source] -= value
            running[target] += value
        sizes_at[label] = dict(running)
    return {
        "periods": [
            {"period": label, "sizes": sizes_at.get(label, {}), "flows": flows.get(label, {})}
            for label in labels
        ],
        "current": {g: view.now(f"group:{g}") for g in GROUPS},
        "fitted": _fitted(view, quantile),
    }


def _fitted(view: View, quantile: float) -> dict[str, Any] | None:
    """Unit price (1-2-5 bucket) and orders at ``quantile`` of the customers buying now."""
    prices: dict[float, int] = {}
    orders: dict[int, int] = {}
    for metric in view.aggregates:
        name, _, value = metric.partition(":")
        if name == "gprice" and (count := view.now(metric)):
            prices[float(value)] = count
        elif name == "gorders" and (count := view.now(metric)):
            orders[int(value)] = count
    fit = fitted_thresholds(prices, orders, quantile)
    if fit is None:
        return None
    price, order_count, buyers = fit
    return {
        "quantile": quantile,
        "buyers": buyers,
        "unit_price": price,
        "orders_in_window": order_count,
    }


def _label_order(period: Period) -> Any:
    # Labels of one kind sort chronologically as text (YYYY-MM, YYYY-Qn, ISO dates).
    return lambda label: label


def growth(view: View, arrivals: Mapping[str, float], cohorts: Mapping[str, str]) -> dict[str, Any]:
    """AARRR per period, activation rate by acquisition period, K-factor and viral cycle time.

    K-factor per period = customers who arrived through a referral that period ÷ distinct
    customers who referred them; cycle time = mean days from each referrer's own arrival to the
    arrival of the customer they brought (``arrivals``: referrer -> arrival time, for those known).
    With a cohort filter, only referrers of that acquisition cohort count (``cohorts``: referrer
    -> its cohort, for those known; a referrer never seen itself has none and is left out).
    """
    labels = view.labels()
    reached = {stage: view.by_period(f"aarrr:{stage}") for stage in AARRR}
    activated = view.by_period("act:conv")
    referred = view.cells("kref", by_slot=True)
    referred_ts = view.cells("kref_ts", by_slot=True)
    per_period: dict[str, dict[str, Any]] = {}
    for (day, referrer), count in referred.items():
        if view.cohort is not None and cohorts.get(referrer) != view.cohort:
            continue
        label = view.period.label(day)
        slot = per_period.setdefault(label, {"brought": 0, "referrers": set(), "cycle": []})
        slot["brought"] += count
        slot["referrers"].add(referrer)
        if referrer in arrivals:
            total_ts = referred_ts.get((day, referrer), 0)
            gap = (total_ts - count * arrivals[referrer]) / SECONDS_PER_DAY
            slot["cycle"].append((gap, count))
    rows = []
    for label in labels:
        ref = per_period.get(label)
        acquired = reached["acquisition"].get(label, 0)
        cycle = ref["cycle"] if ref else []
        weight = sum(count for _, count in cycle)
        rows.append(
            {
                "period": label,
                "aarrr": {stage: reached[stage].get(label, 0) for stage in AARRR},
                "activation_rate": _rate(activated.get(label, 0), acquired),
                "referred_customers": ref["brought"] if ref else 0,
                "referrers": len(ref["referrers"]) if ref else 0,
                "k_factor": _rate(ref["brought"], len(ref["referrers"])) if ref else None,
                "cycle_days": sum(g for g, _ in cycle) / weight if weight else None,
            }
        )
    return {"periods": rows, "current": {s: view.now(f"aarrr_now:{s}") for s in AARRR}}
