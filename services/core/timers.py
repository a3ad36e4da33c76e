"""Silence timers: when will a quiet customer's numbers next cross a threshold?

A customer who sends nothing still moves: usage counters decay, P(alive) falls, the repurchase
ratio grows. After each evaluation the scorer asks ``next_check`` for the earliest predicted
crossing and keeps one timer per customer at that time, so alerts fire within seconds of the
predicted moment without scanning every customer. Crossings come in closed form where one exists
(gone quiet, ρ thresholds, a renewal going overdue, onboarding ending for a paying non-user) and by
bisection on the pure temperature/health/risk functions otherwise (while a customer is silent,
P(buys within the horizon) and health only fall, risk only rises, barring old signals expiring).
"""

from __future__ import annotations

from collections.abc import Callable

from . import billing
from . import health as health_model
from . import risk as risk_model
from . import temperature as temperature_model
from .config import ScoringConfig
from .decay import SECONDS_PER_DAY
from .params import ScoringParams
from .repurchase import crossing_time as repurchase_crossing
from .state import CustomerState
from .usage import SilentUsage, UsageMeasures, tenure_days, usage_expected

# Bisection to one second: alerts are promised within seconds of the predicted crossing.
BISECTION_TOLERANCE_S = 1.0
# Fire just past the crossing so the re-evaluation sees the threshold crossed, not touched.
FIRE_AFTER_S = 1.0
# Snapshots round scores to 2 decimals and take bands from the rounded value: a raw value crosses
# a threshold θ (as published) once it is below θ − 0.005 (falling) or above θ − 0.005 (rising).
ROUNDING_MARGIN = 0.005


def _first_crossing(
    value_at: Callable[[float], float], threshold: float, start: float, end: float, falling: bool
) -> float | None:
    """Earliest t in (start, end] where a monotone function passes ``threshold``; None if never."""

    def crossed(t: float) -> bool:
        v = value_at(t)
        return v < threshold if falling else v > threshold

    if crossed(start) or not crossed(end):
        return None
    lo, hi = start, end
    while hi - lo > BISECTION_TOLERANCE_S:
        mid = (lo + hi) / 2.0
        if crossed(mid):
            hi = mid
        else:
            lo = mid
    return hi


def next_check(
    state: CustomerState, now: float, params: ScoringParams, config: ScoringConfig
) -> float:
    """The next moment this customer's scores should be re-evaluated without a new event."""
    horizon = now + config.alerts.max_timer_horizon_days * SECONDS_PER_DAY
    candidates: list[float] = [horizon]

    if state.usage_events:
        candidates.append(state.last_usage_ts + config.alerts.gone_quiet_days * SECONDS_PER_DAY)
    elif state.paying:
        # Paying, never used: health turns to 0 (adoption risk) when onboarding ends.
        start = now - tenure_days(state, now) * SECONDS_PER_DAY
        candidates.append(start + config.lifecycle.onboarding_days * SECONDS_PER_DAY)
    for ratio in (config.repurchase.overdue_ratio, config.repurchase.lapsed_ratio):
        when = repurchase_crossing(state, ratio)
        if when is not None:
            candidates.append(when)
    due = billing.next_renewal_due(state, config.temperature)
    if due is not None and state.sub_status == "active":
        candidates.append(due + config.temperature.renewal_grace_days * SECONDS_PER_DAY)

    # The bisections below read the same few functions at shared points (the risk bisection
    # starts on the temperature's and health's midpoints): each value is computed once per time.
    curve = temperature_model.TemperatureCurve(state, params.models, config.temperature)
    temperatures: dict[float, float] = {}

    def temperature_at(t: float) -> float:
        value = temperatures.get(t)
        if value is None:
            value = temperatures[t] = curve.at(t)
        return value

    expected = usage_expected(state, now, params.norms.usage_customers, config)
    silent = SilentUsage(state, config.health, expected)
    usages: dict[float, tuple[UsageMeasures, float | None]] = {}

    def usage_and_health(t: float) -> tuple[UsageMeasures, float | None]:
        hit = usages.get(t)
        if hit is None:
            usage = silent.at(t)
            hit = usages[t] = (usage, health_model.value(usage, params.norms, config.health))
        return hit

    def health_at(t: float) -> float:
        h = usage_and_health(t)[1]
        return h if h is not None else 0.0

    def risk_at(t: float) -> float:
        usage, h = usage_and_health(t)
        return risk_model.value(temperature_at(t), h, usage, config.risk)

    current_t = temperature_at(now)
    lower_t = [b for _, b in config.bands.temperature if 0 < b < current_t]
    if config.bands.quadrant_temperature < current_t:
        lower_t.append(config.bands.quadrant_temperature)
    if lower_t and state.sub_status != "cancelled":
        when = _first_crossing(
            temperature_at, max(lower_t) - ROUNDING_MARGIN, now, horizon, falling=True
        )
        if when is not None:
            candidates.append(when)
    if state.usage_events:
        current = health_at(now)
        lower = [b for _, b in config.bands.health if 0 < b < current]
        if config.bands.quadrant_health < current:
            lower.append(config.bands.quadrant_health)
        if lower:
            when = _first_crossing(
                health_at, max(lower) - ROUNDING_MARGIN, now, horizon, falling=True
            )
            if when is not None:
                candidates.append(when)
    current_risk = risk_at(now)
    upper = [b for _, b in config.bands.risk if b > current_risk]
    if upper:
        when = _first_crossing(risk_at, min(upper) - ROUNDING_MARGIN, now, horizon, falling=False)
        if when is not None:
            candidates.append(when)

    future = [t for t in candidates if t > now]
    return (min(future) if future else horizon) + FIRE_AFTER_S
