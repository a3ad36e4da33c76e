"""A subscriber's billing schedule: period, next renewal due, renewals inside a horizon.

The period comes from the subscription events themselves (properties.interval / interval_count,
as Stripe's price.recurring states it), else from the plan's configured period, else the
default. The next renewal is due one period after the billing anchor (the latest started or
renewed event), or on the profile's renewal_date when that is later (contracts state it).
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime

from .config import TemperatureConfig
from .decay import SECONDS_PER_DAY
from .state import CustomerState

# Period labels used to keep renewal models apart (monthly and annual renewals never pool).
PERIOD_LABELS = (
    (1.0, "day"),
    (7.0, "week"),
    (30.4375, "month"),
    (91.3125, "quarter"),
    (365.25, "year"),
)
# Two periods within this relative distance share a label (a "30-day" plan is monthly).
PERIOD_LABEL_TOLERANCE = 0.1


def period_days(state: CustomerState, config: TemperatureConfig) -> float:
    """Billing period in days."""
    if state.period_days > 0:
        return state.period_days
    plan = state.profile.get("plan")
    by_plan = config.plan_period_days
    if isinstance(plan, str) and plan in by_plan:
        return by_plan[plan]
    return config.period_days


def period_label(days: float) -> str:
    """ "month", "year", ... or "<n>d": the key renewal models are fitted per."""
    for length, label in PERIOD_LABELS:
        if abs(days - length) <= PERIOD_LABEL_TOLERANCE * length:
            return label
    return f"{days:g}d"


def renewal_date_ts(state: CustomerState) -> float | None:
    """The profile's renewal_date (date or date-time) as Unix seconds, if it parses."""
    renewal = state.profile.get("renewal_date")
    if not isinstance(renewal, str):
        return None
    return _parse_renewal_date(renewal)


# Scoring reads the same few renewal dates many times per evaluation (temperature, overdue days,
# the timers' bisection): parse each text once. Bounded: a tenant has few distinct dates.
@functools.lru_cache(maxsize=4096)
def _parse_renewal_date(renewal: str) -> float | None:
    try:
        # The contract allows a lower-case 't'/'z' (RFC 3339); fromisoformat does not.
        when = datetime.fromisoformat(renewal.upper())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def next_renewal_due(state: CustomerState, config: TemperatureConfig) -> float | None:
    """When the next renewal payment is due (Unix seconds); None without a billing anchor."""
    if not state.billing_anchor_ts:
        return None
    due = state.billing_anchor_ts + period_days(state, config) * SECONDS_PER_DAY
    stated = renewal_date_ts(state)
    if stated is not None and stated > state.billing_anchor_ts:
        due = max(due, stated) if stated - state.billing_anchor_ts > SECONDS_PER_DAY else due
    return due


def renewals_within(
    state: CustomerState, now: float, horizon_days: float, config: TemperatureConfig
) -> int:
    """Renewals due in (now, now + horizon], at least 1 (the next one, even if due later or
    already overdue): temperature looks at least as far as the next renewal."""
    period = period_days(state, config) * SECONDS_PER_DAY
    due = next_renewal_due(state, config)
    if due is None:
        return max(1, math.ceil(horizon_days * SECONDS_PER_DAY / period))
    end = now + horizon_days * SECONDS_PER_DAY
    if due > end:
        return 1
    # An overdue renewal is still pending: it counts, with every one due after it.
    return max(1, 1 + math.floor((end - max(due, now)) / period))


def days_overdue(state: CustomerState, now: float, config: TemperatureConfig) -> float:
    """Days past the due renewal without a renewal event (0 when not due yet or no anchor)."""
    due = next_renewal_due(state, config)
    if due is None or state.sub_status != "active":
        return 0.0
    return max(0.0, (now - due) / SECONDS_PER_DAY)
