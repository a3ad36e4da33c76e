"""Silence timers: when will a quiet customer's numbers next cross a threshold?

A customer who sends nothing still moves: usage counters decay, P(alive) falls, the repurchase
ratio grows. After each evaluation the scorer asks ``next_check`` for the earliest predicted
crossing and keeps one timer per customer at that time, so alerts fire within seconds of the
predicted moment without scanning every customer. Crossings come in closed form where one exists
(gone quiet, ρ thresholds, a renewal going overdue, onboarding ending for a paying non-user) and by
a root search on the pure temperature/health/risk functions otherwise (while a customer is silent,
P(buys within the horizon) and health only fall, risk only rises, barring old signals expiring):
it returns the bisection's answer to the second, with a bound and a few Brent steps instead of
~20 halvings (``_first_crossing``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

from . import billing
from . import health as health_model
from . import temperature as temperature_model
from .config import HealthConfig, ScoringConfig
from .decay import LN2, SECONDS_PER_DAY, factor
from .params import ScoringParams
from .repurchase import crossing_time as repurchase_crossing
from .risk import QUIET_HALF_DAYS
from .state import CustomerState
from .temperature import logit, sigmoid
from .usage import (
    MIN_FILL,
    MIN_RATE_FOR_TREND,
    SilentUsage,
    rhythm_gap_days,
    seats_of,
    tenure_days,
    usage_expected,
)

# Bisection to one second: alerts are promised within seconds of the predicted crossing.
BISECTION_TOLERANCE_S = 1.0
# The root finder narrows the crossing's bracket to this before replaying the bisection's steps
# (a narrower bracket settles more of them without evaluating), with at most this many values.
SETTLED_S = 0.1
MAX_NARROWING = 16
EPSILON = sys.float_info.epsilon
# Fire just past the crossing so the re-evaluation sees the threshold crossed, not touched.
FIRE_AFTER_S = 1.0
# Snapshots round scores to 2 decimals and take bands from the rounded value: a raw value crosses
# a threshold θ (as published) once it is below θ − 0.005 (falling) or above θ − 0.005 (rising).
ROUNDING_MARGIN = 0.005


class SilentScores:
    """Health and risk of a customer who sends nothing more, as values only, at any t.

    ``health_at(t)`` is ``health.value(SilentUsage.at(t))`` and ``risk(...)`` is ``risk.value``,
    with the arithmetic of usage._measures, health._parts and risk.terms written out term for
    term (same operations, same order, so the same floats) and everything constant in t
    computed once: the bisections read these a few dozen times per customer, where building
    UsageMeasures, parts dicts and term dicts was most of the cost.
    tests/core/test_fast_paths.py compares both with the full functions.
    """

    def __init__(
        self, state: CustomerState, params: ScoringParams, config: ScoringConfig, expected: bool
    ) -> None:
        self._state = state
        self._usage = SilentUsage(state, config.health, expected)
        self._expected = expected
        health, norms, risk = config.health, params.norms, config.risk
        self._health = health
        self._norms = norms
        self._risk = risk
        self._ref = self._usage.reference_ts
        self._rate_half = max(norms.usage_rate_median, 1e-9) / 2.0
        self._breadth_half = max(norms.breadth_median, 1e-9) / 2.0
        self._seats = seats_of(state)
        weights = [health.weight_level, health.weight_breadth, health.weight_trend]
        if self._seats:
            weights.append(health.weight_seats)
        self._total_weight = sum(weights)
        self._gap = rhythm_gap_days(state)

    def health_at(self, t: float) -> tuple[float | None, float | None, float]:
        """(health value or None, trend or None, quiet days or 0) at ``t``."""
        state = self._state
        if t < self._ref or not state.usage_events:
            usage = self._usage.at(t)
            value = health_model.value(usage, self._norms, self._health)
            return value, usage.trend, usage.quiet_days or 0.0
        config = self._health
        breadth, sampled = self._usage.breadth_and_sampled_users(t)
        long_rate = _silent_long_rate(state, t, config)
        quiet = max(0.0, (t - state.last_usage_ts) / SECONDS_PER_DAY)
        gap = self._gap
        if gap is not None and gap >= config.sparse_gap_days:
            limit = config.rhythm_tolerance * gap
            trend: float | None = 1.0 if quiet <= limit else limit / quiet
        elif long_rate >= MIN_RATE_FOR_TREND:
            trend = _silent_short_rate(state, t, config) / long_rate
        else:
            trend = None
        level = long_rate / (long_rate + self._rate_half) if long_rate > 0 else 0.0
        wide = breadth / (breadth + self._breadth_half) if breadth > 0 else 0.0
        scores = [
            level * config.weight_level,
            wide * config.weight_breadth,
            (min(1.0, trend) if trend is not None else 0.0) * config.weight_trend,
        ]
        seats = self._seats
        if seats:
            active = sampled << state.users_level
            scores.append(min(1.0, active / seats) * config.weight_seats)
        return 100.0 * sum(scores) / self._total_weight, trend, quiet

    def risk(
        self, temperature: float, health: float | None, trend: float | None, quiet: float
    ) -> float:
        """risk.value at these inputs (risk.terms' order and arithmetic)."""
        config = self._risk
        terms = [config.intercept, config.weight_billing * logit(1.0 - temperature / 100.0)]
        if health is not None:
            terms.append(config.weight_usage * (2.0 * (0.5 - health / 100.0)))
            terms.append(
                config.weight_trend * (1.0 - min(1.0, trend if trend is not None else 0.0))
            )
            terms.append(config.weight_quiet * (1.0 - 2.0 ** (-quiet / QUIET_HALF_DAYS)))
        return 100.0 * sigmoid(sum(terms))


def _silent_rate(value: float, t0: float, now: float, half_life: float, age: float) -> float:
    # usage._rate, inlined.
    fill = max(1.0 - factor(age, half_life), MIN_FILL)
    read = value if now <= t0 else value * factor(now - t0, half_life)
    return read * LN2 / half_life / fill


def _silent_long_rate(state: CustomerState, now: float, config: HealthConfig) -> float:
    age = max(0.0, now - state.first_usage_ts)
    return _silent_rate(state.usage_long, state.usage_long_t, now, config.long_half_life_days, age)


def _silent_short_rate(state: CustomerState, now: float, config: HealthConfig) -> float:
    age = max(0.0, now - state.first_usage_ts)
    return _silent_rate(
        state.usage_short, state.usage_short_t, now, config.short_half_life_days, age
    )


def _first_crossing(
    value_at: Callable[[float], float],
    threshold: float,
    start: float,
    end: float,
    falling: bool,
    not_after: float = math.inf,
) -> float | None:
    """Earliest t in (start, end] where a monotone function passes ``threshold``; None if never.

    The answer is the bisection's to BISECTION_TOLERANCE_S (``bisect_first_crossing``, the same
    float, not merely one within a second of it), found with a few evaluations instead of ~20:

    - a bound first: nothing has crossed at ``min(end, not_after)``, so (monotone) nothing crosses
      before it and no crossing this search could return would be the earliest check: None;
    - then the bisection's own steps are replayed without evaluating: the root lies in a bracket
      (a, b] (not crossed at a, crossed at b), so a midpoint at or past b has crossed and one at or
      before a has not. ``_narrow`` first tightens the bracket with Brent's method, superlinear
      on smooth curves, so only a midpoint that still falls inside it needs the function. On
      steps and kinks Brent falls back to halving the bracket, and narrowing stops after
      MAX_NARROWING values: never more than that many values above the bisection's count.

    ``not_after``: the caller only wants a crossing earlier than this (an earlier candidate is
    known): None once the bisection's lower end reaches it, as ``bisect_first_crossing`` does.
    """
    sign = -1.0 if falling else 1.0

    def excess(t: float) -> float:
        """> 0 once crossed (``v < threshold`` falling, ``v > threshold`` rising)."""
        return sign * (value_at(t) - threshold)

    if start >= not_after:
        return None
    f_a = excess(start)
    if f_a > 0:
        return None
    a, b = start, min(end, not_after)
    f_b = excess(b)
    if not f_b > 0:
        return None
    a, b = _narrow(excess, a, f_a, b, f_b)
    lo, hi = start, end
    while hi - lo > BISECTION_TOLERANCE_S:
        if lo >= not_after:
            return None
        mid = (lo + hi) / 2.0
        if a < mid < b:  # the bracket did not settle this step: the function does
            if excess(mid) > 0:
                b = mid
            else:
                a = mid
        if mid >= b:
            hi = mid
        else:
            lo = mid
    return hi


def _narrow(
    excess: Callable[[float], float], a: float, f_a: float, b: float, f_b: float
) -> tuple[float, float]:
    """A bracket (a, b] of the crossing (not crossed at a, crossed at b) at most SETTLED_S wide,
    or as narrow as MAX_NARROWING values make it: Brent's method (zeroin: inverse quadratic
    interpolation or secant steps, a bisection of the bracket whenever they would not shrink it
    fast enough), run on the sign of ``excess`` (0 counts as not crossed)."""
    start, end = a, b
    c, f_c = a, f_a  # b and c straddle the crossing; b is the best estimate, a the previous one
    d = e = b - a
    for _ in range(MAX_NARROWING):
        if (f_b > 0) == (f_c > 0):
            c, f_c = a, f_a
            d = e = b - a
        if abs(f_c) < abs(f_b):
            a, b, c = b, c, b
            f_a, f_b, f_c = f_b, f_c, f_b
        tol = 4.0 * EPSILON * abs(b) + SETTLED_S / 2.0
        m = (c - b) / 2.0
        if abs(m) <= tol:
            break
        if abs(e) >= tol and abs(f_a) > abs(f_b):
            s = f_b / f_a
            if a == c:  # secant
                p, q = 2.0 * m * s, 1.0 - s
            else:  # inverse quadratic interpolation
                q, r = f_a / f_c, f_b / f_c
                p = s * (2.0 * m * q * (q - r) - (b - a) * (r - 1.0))
                q = (q - 1.0) * (r - 1.0) * (s - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if 2.0 * p < min(3.0 * m * q - abs(tol * q), abs(e * q)):
                e, d = d, p / q
            else:
                d = e = m
        else:
            d = e = m
        a, f_a = b, f_b
        b += d if abs(d) > tol else math.copysign(tol, m)
        f_b = excess(b)
    if (f_b > 0) == (f_c > 0):
        c = a  # the last value fell on c's side: a, the one before it, is on the other
    lo, hi = (c, b) if f_b > 0 else (b, c)
    # Monotone: not crossed below, crossed above (anything else: the bisection decides alone).
    return (lo, hi) if start <= lo < hi <= end else (start, end)


def bisect_first_crossing(
    value_at: Callable[[float], float],
    threshold: float,
    start: float,
    end: float,
    falling: bool,
    not_after: float = math.inf,
) -> float | None:
    """``_first_crossing`` by plain bisection to BISECTION_TOLERANCE_S: the reference it must
    equal (the tests compare the two); one evaluation per halving.

    ``not_after``: the caller only wants a crossing earlier than this (an earlier candidate is
    known), so the search stops, returning None, once its lower end reaches it: the answer would
    lie above the lower end. The steps it does take are the full search's, so any crossing it
    returns is the very one the full search returns.
    """

    def crossed(t: float) -> bool:
        v = value_at(t)
        return v < threshold if falling else v > threshold

    if start >= not_after or crossed(start) or not crossed(end):
        return None
    lo, hi = start, end
    while hi - lo > BISECTION_TOLERANCE_S:
        if lo >= not_after:
            return None
        mid = (lo + hi) / 2.0
        if crossed(mid):
            hi = mid
        else:
            lo = mid
    return hi


def closed_form_checks(state: CustomerState, now: float, config: ScoringConfig) -> list[float]:
    """The checks known in closed form, the timer horizon first: gone quiet, end of onboarding for
    a paying customer who never used the product, repurchase overdue and lapsed, renewal overdue."""
    candidates: list[float] = [now + config.alerts.max_timer_horizon_days * SECONDS_PER_DAY]
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
    return candidates


def next_check(
    state: CustomerState, now: float, params: ScoringParams, config: ScoringConfig
) -> float:
    """The next moment this customer's scores should be re-evaluated without a new event."""
    candidates = closed_form_checks(state, now, config)

    # The searches below read the same few functions at shared points (all start at ``now``;
    # risk reads temperature and health): each value is computed once per time.
    curve = temperature_model.TemperatureCurve(state, params.models, config.temperature)
    temperatures: dict[float, float] = {}

    def temperature_at(t: float) -> float:
        value = temperatures.get(t)
        if value is None:
            value = temperatures[t] = curve.at(t)
        return value

    expected = usage_expected(state, now, params.norms.usage_customers, config)
    silent = SilentScores(state, params, config, expected)
    usages: dict[float, tuple[float | None, float | None, float]] = {}

    def usage_and_health(t: float) -> tuple[float | None, float | None, float]:
        hit = usages.get(t)
        if hit is None:
            hit = usages[t] = silent.health_at(t)
        return hit

    def health_at(t: float) -> float:
        h = usage_and_health(t)[0]
        return h if h is not None else 0.0

    def risk_at(t: float) -> float:
        h, trend, quiet = usage_and_health(t)
        return silent.risk(temperature_at(t), h, trend, quiet)

    return first_band_crossing(state, now, config, candidates, temperature_at, health_at, risk_at)


def first_band_crossing(
    state: CustomerState,
    now: float,
    config: ScoringConfig,
    candidates: list[float],
    temperature_at: Callable[[float], float],
    health_at: Callable[[float], float],
    risk_at: Callable[[float], float],
    stop_early: bool = True,
    first_crossing: Callable[..., float | None] = _first_crossing,
) -> float:
    """The next check: the earliest of ``candidates`` (``closed_form_checks``, the horizon first)
    and the moments temperature or health fall into a lower band, or risk rises into a higher one.

    ``stop_early``: a search stops once it can only find a crossing later than the earliest
    candidate known (the answer is the same; the tests compare both). ``first_crossing``: the
    search (the tests pass ``bisect_first_crossing``, the reference).
    """
    horizon = candidates[0]
    current_t = temperature_at(now)
    lower_t = [b for _, b in config.bands.temperature if 0 < b < current_t]
    if config.bands.quadrant_temperature < current_t:
        lower_t.append(config.bands.quadrant_temperature)

    def earliest() -> float:
        if not stop_early:
            return math.inf
        return min(t for t in candidates if t > now)  # the horizon is always one

    if lower_t and state.sub_status != "cancelled":
        when = first_crossing(
            temperature_at, max(lower_t) - ROUNDING_MARGIN, now, horizon, True, earliest()
        )
        if when is not None:
            candidates.append(when)
    if state.usage_events:
        current = health_at(now)
        lower = [b for _, b in config.bands.health if 0 < b < current]
        if config.bands.quadrant_health < current:
            lower.append(config.bands.quadrant_health)
        if lower:
            when = first_crossing(
                health_at, max(lower) - ROUNDING_MARGIN, now, horizon, True, earliest()
            )
            if when is not None:
                candidates.append(when)
    current_risk = risk_at(now)
    upper = [b for _, b in config.bands.risk if b > current_risk]
    if upper:
        when = first_crossing(
            risk_at, min(upper) - ROUNDING_MARGIN, now, horizon, False, earliest()
        )
        if when is not None:
            candidates.append(when)

    future = [t for t in candidates if t > now]
    return (min(future) if future else horizon) + FIRE_AFTER_S
