"""Silence timers: when will a quiet customer's numbers next cross a threshold?

A customer who sends nothing still moves: usage counters decay, P(alive) falls, the repurchase
ratio grows. After each evaluation the scorer asks ``next_check`` for the earliest predicted
crossing and keeps one timer per customer at that time, so alerts fire within seconds of the
predicted moment without scanning every customer. Crossings come in closed form where one exists
(gone quiet, ρ thresholds, P(alive) bands, a decayed counter reaching a level) and by bisection on
the pure health/risk functions otherwise (both only fall/rise while a customer is silent).
"""

from __future__ import annotations

from collections.abc import Callable

from . import bgnbd, mbgnbd
from . import health as health_model
from . import risk as risk_model
from . import temperature as temperature_model
from .config import ScoringConfig
from .decay import SECONDS_PER_DAY
from .params import ScoringParams
from .repurchase import crossing_time as repurchase_crossing
from .state import CustomerState
from .usage import SilentUsage

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
    for ratio in (config.repurchase.overdue_ratio, config.repurchase.lapsed_ratio):
        when = repurchase_crossing(state, ratio)
        if when is not None:
            candidates.append(when)
    temperature = temperature_model.evaluate(
        state, now, params.models, config.temperature, config.bands
    )
    if state.purchases > 0 and state.sub_status == "none" and temperature.p_alive is not None:
        # Temperature = P(alive) moved in log-odds by a level shift and the customer's signals;
        # those stay put while the customer is silent, so a temperature band p* is reached when
        # P(alive) reaches sigmoid(logit(p*) − offset).
        offset = temperature_model.logit(temperature.raw / 100.0) - temperature_model.logit(
            temperature.p_alive
        )
        candidates.extend(_p_alive_crossings(state, now, params, config, offset))

    silent = SilentUsage(state, config.health)

    def health_at(t: float) -> float:
        h = health_model.value(silent.at(t), params.norms, config.health)
        return h if h is not None else 0.0

    def risk_at(t: float) -> float:
        usage = silent.at(t)
        h = health_model.value(usage, params.norms, config.health)
        return risk_model.value(temperature.value, h, usage, config.risk)

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


def _p_alive_crossings(
    state: CustomerState, now: float, params: ScoringParams, config: ScoringConfig, offset: float
) -> list[float]:
    x, t_x, T = temperature_model.purchase_stats(state, now)
    out: list[float] = []
    for _, lower in config.bands.temperature:
        if lower <= 0:
            continue
        p_star = temperature_model.sigmoid(
            temperature_model.logit(lower / 100.0 - ROUNDING_MARGIN / 100.0) - offset
        )
        if config.temperature.purchase_model == "bgnbd":
            age = bgnbd.p_alive_crossing_time(x, t_x, *params.models.bgnbd, p_star)
        else:
            age = mbgnbd.p_alive_crossing_time(x, t_x, *params.models.mbgnbd, p_star)
        if age is not None and age != float("inf") and age > T:
            out.append(state.first_purchase_ts + age * SECONDS_PER_DAY)
    return out
