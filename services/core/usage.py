"""Usage measures of a customer at a moment: rates, trend, breadth, active seats, silence.

Everything here reads the decayed counters at ``now`` (Unix seconds); nothing is stored.

- Trend: the 7-day rate over the 28-day rate, except for light, rhythmic users (their usual gap
  between active days is at least ``sparse_gap_days``): for them that ratio swings with every
  visit, so the trend is read against their own rhythm: steady (1) while quiet for less than
  ``rhythm_tolerance`` usual gaps, then falling as tolerance·gap ÷ quiet days.
- Active users: the user table is a hash sample once an account outgrows it (see
  ``fold._remember_user``), scaled back up by 2^level.
- A paying customer past onboarding who never used the product, in a tenant that sends usage,
  is measured as a non-user (``never_used``): zero rates, trend 0, quiet since they started.
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


@dataclass(slots=True)
class UsageMeasures:
    short_rate: float  # events/day, short half-life
    long_rate: float  # events/day, long half-life (the customer's own baseline)
    trend: float | None  # short_rate / long_rate; None without enough usage to tell
    breadth: float  # decayed count of distinct features
    active_users: int  # users seen within the active-user window
    seats: int | None
    quiet_days: float | None  # days since the last usage event; None if never used
    never_used: bool = False  # paying, past onboarding, no usage at all (quiet = tenure)
    rhythm_gap_days: float | None = None  # the usual gap between active days, if known
    trend_from_rhythm: bool = False  # trend read against the rhythm (a light, rhythmic user)


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
    quiet = (now - state.last_usage_ts) / SECONDS_PER_DAY if state.usage_events else None
    return _trend(state, short, long, quiet, config.health)


def rhythm_gap_days(state: CustomerState) -> float | None:
    """Mean gap in days between the customer's active days (None before two gaps are seen)."""
    if state.active_days < 3:
        return None
    return (state.last_usage_ts - state.first_usage_ts) / SECONDS_PER_DAY / (state.active_days - 1)


def _trend(
    state: CustomerState, short: float, long: float, quiet: float | None, config: HealthConfig
) -> float | None:
    return _trend_and_basis(state, short, long, quiet, config)[0]


def _trend_and_basis(
    state: CustomerState, short: float, long: float, quiet: float | None, config: HealthConfig
) -> tuple[float | None, bool]:
    """(trend, read against the rhythm?)."""
    gap = rhythm_gap_days(state)
    if gap is not None and quiet is not None and gap >= config.sparse_gap_days:
        limit = config.rhythm_tolerance * gap
        return (1.0 if quiet <= limit else limit / quiet), True
    return (short / long if long >= MIN_RATE_FOR_TREND else None), False


def usage_expected(
    state: CustomerState, now: float, usage_customers: int, config: ScoringConfig
) -> bool:
    """True when this customer should be using the product but never has: the tenant sends usage
    (config, or any customer of the population did at the last refit), the customer pays, and
    is past onboarding. Such a customer is measured as a non-user (health 0), not as unknown."""
    if state.usage_events or not state.paying:
        return False
    tracked = config.health.usage_tracked
    if tracked == "no" or (tracked == "auto" and usage_customers <= 0):
        return False
    return tenure_days(state, now) >= config.lifecycle.onboarding_days


def tenure_days(state: CustomerState, now: float) -> float:
    """Days since the customer started (the earliest event, or a stated subscription start)."""
    start = min(state.first_ts, state.sub_started_ts) if state.sub_started_ts else state.first_ts
    return max(0.0, now - start) / SECONDS_PER_DAY


def measure(
    state: CustomerState, now: float, config: HealthConfig, expected: bool = False
) -> UsageMeasures:
    """The usage measures at ``now`` (O(features + users)); ``expected``: see usage_expected."""
    breadth = sum(
        factor(max(0.0, now - seen), config.breadth_half_life_days)
        for seen in state.features.values()
    )
    window = config.active_user_days * SECONDS_PER_DAY
    active_users = sum(1 for seen in state.users.values() if now - seen <= window)
    return _measures(state, now, config, breadth, active_users, expected)


class SilentUsage:
    """The usage measures of a customer who sends nothing more, at any time from its last event on,
    in O(log users): the timers' bisection reads them a dozen times per customer.

    Breadth Σ 2^(−(t − s_i)/h) factors as 2^(−(t − ref)/h) · Σ 2^((s_i − ref)/h) for t ≥ every s_i;
    active users are those last seen within the window, found by bisection on sorted times.
    """

    def __init__(self, state: CustomerState, config: HealthConfig, expected: bool = False) -> None:
        self._state = state
        self._config = config
        self._expected = expected
        self._ref = state.last_ts
        half_life = config.breadth_half_life_days * SECONDS_PER_DAY
        self._half_life = half_life
        self._mass = sum(
            2.0 ** ((seen - self._ref) / half_life) for seen in state.features.values()
        )
        self._users = sorted(state.users.values())
        self._window = config.active_user_days * SECONDS_PER_DAY

    @property
    def reference_ts(self) -> float:
        """``at`` is O(log users) from this time on (the customer's last event)."""
        return self._ref

    def breadth_and_sampled_users(self, now: float) -> tuple[float, int]:
        """(breadth, sampled active users) at ``now`` >= ``reference_ts``."""
        breadth = self._mass * 2.0 ** (-(now - self._ref) / self._half_life)
        return breadth, len(self._users) - bisect_left(self._users, now - self._window)

    def at(self, now: float) -> UsageMeasures:
        if now < self._ref:
            return measure(self._state, now, self._config, self._expected)
        breadth, active = self.breadth_and_sampled_users(now)
        return _measures(self._state, now, self._config, breadth, active, self._expected)


def seats_of(state: CustomerState) -> int | None:
    """The seats the profile states, None when it states none (or no usable number)."""
    seats = state.profile.get("seats")
    # The contract accepts 40.0 as well as 40 (one JSON number); bool is an int subclass.
    if isinstance(seats, int | float) and not isinstance(seats, bool) and seats >= 1:
        return int(seats)
    return None


def _measures(
    state: CustomerState,
    now: float,
    config: HealthConfig,
    breadth: float,
    sampled_users: int,
    expected: bool,
) -> UsageMeasures:
    seat_count = seats_of(state)
    if not state.usage_events:
        return UsageMeasures(
            short_rate=0.0,
            long_rate=0.0,
            trend=0.0 if expected else None,
            breadth=0.0,
            active_users=0,
            seats=seat_count,
            quiet_days=tenure_days(state, now) if expected else None,
            never_used=expected,
        )
    short_rate, long_rate = rates_at(state, now, config)
    quiet = max(0.0, (now - state.last_usage_ts) / SECONDS_PER_DAY)
    trend, from_rhythm = _trend_and_basis(state, short_rate, long_rate, quiet, config)
    return UsageMeasures(
        short_rate=short_rate,
        long_rate=long_rate,
        trend=trend,
        breadth=breadth,
        active_users=sampled_users << state.users_level,
        seats=seat_count,
        quiet_days=quiet,
        rhythm_gap_days=rhythm_gap_days(state),
        trend_from_rhythm=from_rhythm,
    )
