"""Population growth metrics from the aggregates (aggregate.Aggregates), per period and cohort.

Everything here reads per-metric totals keyed by day and slot: a request costs the number of
(metric, day, cohort) cells, never a scan of the entities. Shared by the API and the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vitals.core.decay import SECONDS_PER_DAY

from .aggregate import Aggregates
from .facts import AARRR, MQL_TARGETS, NOW
from .groups import GROUPS
from .periods import Period
from .state import STAGES

CONVERSIONS: tuple[tuple[str, str, str], ...] = (
    ("lead_mql", "enter:visitor", "conv:lead_mql"),
    *((f"mql_{t}", "enter:mql", f"conv:mql_{t}") for t in MQL_TARGETS),
)


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


class View:
    """Aggregates seen through a period kind, a day range and an optional cohort."""

    def __init__(
        self,
        aggregates: Aggregates,
        period: Period,
        cohort: str | None = None,
        since: int | None = None,
        until: int | None = None,
    ) -> None:
        self.aggregates = aggregates
        self.period = period
        self.cohort = cohort
        self.since = since
        self.until = until

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

    def labels(self) -> list[str]:
        days = [
            day
            for metric in self.aggregates
            for (day, _) in self.cells(metric)
            if day >= 0 and not metric.startswith("exp:")
        ]
        if self.since is not None:
            days.append(self.since)
        if self.until is not None:
            days.append(self.until)
        if not days:
            return []
        return self.period.labels(min(days), max(days))


def funnel(view: View, budget: float | None = None) -> dict[str, Any]:
    """Stage entries, pair conversions, LVR, fast/old conversions and cost per SQL per period;
    the current stage counts and the mean time in each stage."""
    labels = view.labels()
    entered = {stage: view.by_period(f"enter:{stage}") for stage in STAGES}
    conv = {name: (view.by_period(den), view.by_period(num)) for name, den, num in CONVERSIONS}
    fast, old = view.by_period("cust:fast"), view.by_period("cust:old")
    rows, previous = [], None
    for label in labels:
        qualified = entered["mql"].get(label, 0)
        sql = entered["sql"].get(label, 0)
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
                "lvr_pct": lvr(qualified, previous),
                "conversions_fast": fast.get(label, 0),
                "conversions_old": old.get(label, 0),
                "cost_per_sql": (budget / sql) if budget is not None and sql else None,
            }
        )
        previous = qualified
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
    if previous is None or previous == 0:
        return None
    return (current - previous) / previous * 100.0


def groups(view: View) -> dict[str, Any]:
    """Group sizes at the end of each period (running sum of flows), flows per period, and the
    current sizes."""
    labels = view.labels()
    flows: dict[str, dict[str, int]] = {}
    for metric in view.aggregates:
        if metric.startswith("flow:"):
            for label, value in view.by_period(metric).items():
                flows.setdefault(label, {})[metric[5:]] = value
    # Sizes need every flow before the window too: read without the since filter.
    unbounded = View(view.aggregates, view.period, view.cohort, None, view.until)
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
    }


def _label_order(period: Period) -> Any:
    # Labels of one kind sort chronologically as text (YYYY-MM, YYYY-Qn, ISO dates).
    return lambda label: label


def growth(view: View, arrivals: Mapping[str, float]) -> dict[str, Any]:
    """AARRR per period, activation rate by acquisition period, K-factor and viral cycle time.

    K-factor per period = customers who arrived through a referral that period ÷ distinct
    customers who referred them; cycle time = mean days from each referrer's own arrival to the
    arrival of the customer they brought (``arrivals``: referrer -> arrival time, for those known).
    """
    labels = view.labels()
    reached = {stage: view.by_period(f"aarrr:{stage}") for stage in AARRR}
    activated = view.by_period("act:conv")
    referred = view.cells("kref", by_slot=True)
    referred_ts = view.cells("kref_ts", by_slot=True)
    per_period: dict[str, dict[str, Any]] = {}
    for (day, referrer), count in referred.items():
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
