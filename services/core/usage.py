"""Usage measures of a customer at a moment: rates, trend, breadth, active seats, silence.

Everything here reads the decayed counters at ``now`` (Unix seconds); nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import HealthConfig
from .decay import SECONDS_PER_DAY, factor, rate_per_day, value_at
from .state import CustomerState

# Below this long-run rate (events/day) the trend ratio is noise, not a trend.
MIN_RATE_FOR_TREND = 0.05


@dataclass(frozen=True, slots=True)
class UsageMeasures:
    short_rate: float  # events/day, short half-life
    long_rate: float  # events/day, long half-life (the customer's own baseline)
    trend: float | None  # short_rate / long_rate; None without enough usage to tell
    breadth: float  # decayed count of distinct features
    active_users: int  # users seen within the active-user window
    seats: int | None
    quiet_days: float | None  # days since the last usage event; None if never used


def measure(state: CustomerState, now: float, config: HealthConfig) -> UsageMeasures:
    short_rate = rate_per_day(
        value_at(state.usage_short, state.usage_short_t, now, config.short_half_life_days),
        config.short_half_life_days,
    )
    long_rate = rate_per_day(
        value_at(state.usage_long, state.usage_long_t, now, config.long_half_life_days),
        config.long_half_life_days,
    )
    trend = short_rate / long_rate if long_rate >= MIN_RATE_FOR_TREND else None
    breadth = sum(
        factor(max(0.0, now - seen), config.breadth_half_life_days)
        for seen in state.features.values()
    )
    window = config.active_user_days * SECONDS_PER_DAY
    active_users = sum(1 for seen in state.users.values() if now - seen <= window)
    seats = state.profile.get("seats")
    quiet = (now - state.last_usage_ts) / SECONDS_PER_DAY if state.usage_events else None
    return UsageMeasures(
        short_rate=short_rate,
        long_rate=long_rate,
        trend=trend,
        breadth=breadth,
        active_users=active_users,
        # The contract accepts 40.0 as well as 40 (one JSON number); bool is an int subclass.
        seats=int(seats)
        if isinstance(seats, int | float) and not isinstance(seats, bool) and seats >= 1
        else None,
        quiet_days=max(0.0, quiet) if quiet is not None else None,
    )
