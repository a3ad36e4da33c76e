"""Usage measures of a customer at a moment: rates, trend, breadth, active seats, silence.

Everything here reads the decayed counters at ``now`` (Unix seconds); nothing is stored.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from .config import HealthConfig, ScoringConfig
from .decay import SECONDS_PER_DAY, factor, rate_per_day, value_at
from .state import CustomerState

# Below this long-run rate (events/day) the trend ratio is noise, not a trend.
MIN_RATE_FOR_TREND = 0.05
# The bias correction divides by the counter's fill fraction; below a day's worth of fill of the
# 28-day counter (~2.4 %) one event would read as dozens per day.
MIN_FILL = 1.0 - 2.0 ** (-1.0 / 28.0)


@dataclass(frozen=True, slots=True)
class UsageMeasures:
    short_rate: float  # events/day, short half-life
    long_rate: float  # events/day, long half-life (the customer's own baseline)
    trend: float | None  # short_rate / long_rate; None without enough usage to tell
    breadth: float  # decayed count of distinct features
    active_users: int  # users seen within the active-user window
    seats: int | None
    quiet_days: float | None  # days since the last usage event; None if never used


def _rate(value: float, t: float, now: float, half_life: float, age_s: float) -> float:
    """Events/day from a decayed sum, bias-corrected for a customer younger than the counter.

    A counter started ``age`` ago holds only 1 − 2^(−age/h) of its steady-state value, so a steady
    new customer's 28-day rate is under-read (and the 7/28 trend over-read, ~1.8 at day 30);
    dividing by that fill fraction removes the bias.
    """
    fill = max(1.0 - factor(age_s, half_life), MIN_FILL)
    return rate_per_day(value_at(value, t, now, half_life), half_life) / fill


def rates_at(state: CustomerState, now: float, config: HealthConfig) -> tuple[float, float]:
    """(short rate, long rate) in events/day at ``now``."""
    age = max(0.0, now - state.first_usage_ts) if state.usage_events else 0.0
    short = _rate(state.usage_short, state.usage_short_t, now, config.short_half_life_days, age)
    long = _rate(state.usage_long, state.usage_long_t, now, config.long_half_life_days, age)
    return short, long


def trend_at(state: CustomerState, now: float, config: ScoringConfig) -> float | None:
    short, long = rates_at(state, now, config.health)
    return short / long if long >= MIN_RATE_FOR_TREND else None


def measure(state: CustomerState, now: float, config: HealthConfig) -> UsageMeasures:
    """The usage measures at ``now`` (O(features + users))."""
    breadth = sum(
        factor(max(0.0, now - seen), config.breadth_half_life_days)
        for seen in state.features.values()
    )
    window = config.active_user_days * SECONDS_PER_DAY
    active_users = sum(1 for seen in state.users.values() if now - seen <= window)
    return _measures(state, now, config, breadth, active_users)


class SilentUsage:
    """The usage measures of a customer who sends nothing more, at any time from its last event on,
    in O(log users): the timers' bisection reads them a dozen times per customer.

    Breadth Σ 2^(−(t − s_i)/h) factors as 2^(−(t − ref)/h) · Σ 2^((s_i − ref)/h) for t ≥ every s_i;
    active users are those last seen within the window, found by bisection on sorted times.
    """

    def __init__(self, state: CustomerState, config: HealthConfig) -> None:
        self._state = state
        self._config = config
        self._ref = state.last_ts
        half_life = config.breadth_half_life_days * SECONDS_PER_DAY
        self._half_life = half_life
        self._mass = sum(
            2.0 ** ((seen - self._ref) / half_life) for seen in state.features.values()
        )
        self._users = sorted(state.users.values())
        self._window = config.active_user_days * SECONDS_PER_DAY

    def at(self, now: float) -> UsageMeasures:
        if now < self._ref:
            return measure(self._state, now, self._config)
        breadth = self._mass * 2.0 ** (-(now - self._ref) / self._half_life)
        active = len(self._users) - bisect_left(self._users, now - self._window)
        return _measures(self._state, now, self._config, breadth, active)


def _measures(
    state: CustomerState, now: float, config: HealthConfig, breadth: float, active_users: int
) -> UsageMeasures:
    short_rate, long_rate = rates_at(state, now, config)
    trend = short_rate / long_rate if long_rate >= MIN_RATE_FOR_TREND else None
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
