"""Temperature (0–100): the probability the customer is still paying at the horizon.

Never computed from usage (usage is health: keeping the two apart is the point of the pair).
- Subscriptions: shifted-beta-geometric (Fader & Hardie 2007). After n renewals the chance of
  surviving the k renewals due inside the horizon (at least the next one) is S(n+k)/S(n), with
  (α, β) fitted per plan and billing period (monthly and annual renewals never pool). A renewal
  overdue past its grace days costs log-odds per day. A customer who never paid (a trial, a free
  plan) is not "hot": its temperature is the configured trial→paid or free→paid prior.
- Purchases only: P(at least one purchase within the horizon | x, t_x, T) under MBG/NBD
  (Batislam et al. 2007) by default, or BG/NBD: "will they buy again", which weighs how often a
  customer buys, where P(alive) does not (P(alive) still drives the lifecycle's churned stage).
- The model probability is then moved in log-odds by billing, contract and voice-of-customer
  signals (payment failures, cancellation request, downgrades, escalations, NPS/CSAT), each
  reported as a reason with the points it costs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import billing
from .config import SCORE_DECIMALS, Bands, TemperatureConfig, band_of
from .decay import SECONDS_PER_DAY, value_at
from .models import bgnbd, mbgnbd, sbg
from .population import PopulationParams
from .reasons import Reason, ago, days_phrase
from .state import CustomerState

# Probabilities are kept inside (ε, 1−ε) before taking log-odds.
EPSILON = 1e-6


@dataclass(slots=True)
class Temperature:
    value: float
    band: str
    model: str
    components: dict[str, float]
    reasons: list[Reason]
    p_alive: float | None = None
    raw: float = 0.0  # the value before rounding to SCORE_DECIMALS (timers solve against it)


def logit(p: float) -> float:
    p = min(1.0 - EPSILON, max(EPSILON, p))
    return math.log(p / (1.0 - p))


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def sbg_params_for(
    state: CustomerState, params: PopulationParams, config: TemperatureConfig
) -> sbg.SBGParams:
    """sBG parameters of the customer's plan and billing period."""
    plan = state.profile.get("plan")
    period = billing.period_label(billing.period_days(state, config))
    return params.sbg_for(plan if isinstance(plan, str) else None, period)


def purchase_stats(state: CustomerState, now: float) -> tuple[float, float, float]:
    """BG/NBD statistics in days: x repeat transactions, t_x last one's age, T customer age."""
    x = float(state.purchases - 1)
    t_x = (state.last_purchase_ts - state.first_purchase_ts) / SECONDS_PER_DAY
    T = max(t_x, (now - state.first_purchase_ts) / SECONDS_PER_DAY)
    return x, t_x, T


def p_buy_within(
    state: CustomerState, now: float, params: PopulationParams, config: TemperatureConfig
) -> tuple[float, float]:
    """(P(at least one purchase within the horizon), P(alive)) of a buyer under the configured
    purchase model."""
    x, t_x, T = purchase_stats(state, now)
    model = bgnbd if config.purchase_model == "bgnbd" else mbgnbd
    parameters = params.bgnbd if config.purchase_model == "bgnbd" else params.mbgnbd
    p_alive = model.p_alive(x, t_x, T, *parameters)
    if config.purchase_model == "mbgnbd_poisson":
        expected = model.expected_purchases(config.horizon_days, x, t_x, T, *parameters)
        if math.isfinite(expected):
            return -math.expm1(-max(0.0, expected)), p_alive
        # 2F1 failed at these parameters: the exact closed form needs no special function.
    return model.p_purchase_within(config.horizon_days, x, t_x, T, *parameters), p_alive


PURCHASE_MODELS = frozenset({"mbgnbd_poisson", "mbgnbd", "bgnbd"})
# Adjustment code -> the TemperatureConfig field holding its log-odds per unit of signal. The
# signals themselves (``adjustment_signals``) are unit-weight, so
# ``vitals.tools.backtest.calibration`` can refit exactly the coefficients scoring multiplies them
# by.
ADJUSTMENT_COEFFICIENTS: dict[str, str] = {
    "payment_failed": "payment_failure_log_odds",
    "cancellation_requested": "cancellation_requested_log_odds",
    "downgraded": "downgrade_log_odds",
    "escalations": "escalation_log_odds",
    "detractor": "detractor_log_odds",
    "promoter": "promoter_log_odds",
    "low_csat": "low_csat_log_odds",
    "renewal_overdue": "renewal_overdue_log_odds_per_day",
}


def evaluate(
    state: CustomerState,
    now: float,
    params: PopulationParams,
    config: TemperatureConfig,
    bands: Bands,
) -> Temperature:
    base = _base(state, now, params, config)
    if base is None:
        days = (now - state.cancelled_ts) / SECONDS_PER_DAY
        reason = Reason("cancelled", "temperature", f"subscription cancelled {ago(days)}", -100.0)
        band = band_of(0.0, bands.temperature)
        return Temperature(0.0, band, "cancelled", {"p_base": 0.0}, [reason])
    p_base, model, components, reasons, p_alive = base
    components["p_base"] = round(p_base, 6)

    adjustments = _adjustments(state, now, config)
    total = logit(p_base) + sum(delta for _, delta, _ in adjustments)
    p = sigmoid(total)
    for code, delta, text in adjustments:
        components[code] = round(delta, 4)
        reasons.append(Reason(code, "temperature", text, 100.0 * (p - sigmoid(total - delta))))
    value = 100.0 * p
    rounded = round(value, SCORE_DECIMALS)
    band = band_of(rounded, bands.temperature)
    return Temperature(rounded, band, model, components, reasons, p_alive, raw=value)


def base_probability(
    state: CustomerState, now: float, params: PopulationParams, config: TemperatureConfig
) -> tuple[float, str] | None:
    """(p_base, model): the renewal or purchase model's probability before any adjustment;
    None for a cancelled subscription (temperature 0 whatever the signals)."""
    base = _base(state, now, params, config)
    return None if base is None else (base[0], base[1])


def _base(
    state: CustomerState, now: float, params: PopulationParams, config: TemperatureConfig
) -> tuple[float, str, dict[str, float], list[Reason], float | None] | None:
    components: dict[str, float] = {}
    reasons: list[Reason] = []
    p_alive: float | None = None
    if state.sub_status == "cancelled":
        return None
    if state.sub_status == "active" and not state.sub_paid_ts:
        model = "trial" if state.sub_trial else "free"
        p_base = config.trial_conversion_prior if state.sub_trial else config.free_conversion_prior
        what = "in a trial" if state.sub_trial else "on a free plan"
        reasons.append(
            Reason(
                "never_paid",
                "temperature",
                f"{what}, never paid: about {100 * p_base:.0f}% of such customers start paying",
                100.0 * (p_base - 1.0),
            )
        )
        return p_base, model, components, reasons, p_alive
    if state.sub_status == "active":
        model = "sbg"
        alpha, beta = sbg_params_for(state, params, config)
        n = state.renewals_survived
        k = billing.renewals_within(state, now, config.horizon_days, config)
        p_base = sbg.p_survive_horizon(float(n), float(k), alpha, beta)
        components["renewals"] = float(n)
        components["renewals_due"] = float(k)
        components["period_days"] = round(billing.period_days(state, config), 4)
        reasons.append(
            Reason(
                "renewal_history",
                "temperature",
                f"renewed {_times(n)}: "
                f"{100 * sbg.p_renew(n, alpha, beta):.0f}% "
                "of such customers renew next period",
                100.0 * (p_base - 1.0),
            )
        )
    elif state.purchases > 0:
        x, t_x, T = purchase_stats(state, now)
        model = config.purchase_model
        p_base, p_alive = p_buy_within(state, now, params, config)
        components.update(
            {"x": x, "t_x_days": round(t_x, 3), "T_days": round(T, 3), "p_alive": round(p_alive, 6)}
        )
        since = T - t_x
        reasons.append(
            Reason(
                "purchase_recency",
                "temperature",
                f"{state.purchases} purchase{'s' if state.purchases != 1 else ''}, the last "
                f"{ago(since)}: P(buys again within {days_phrase(config.horizon_days)}) "
                f"{100 * p_base:.0f}%",
                100.0 * (p_base - 1.0),
            )
        )
    else:
        model = "prior"
        alpha, beta = sbg_params_for(state, params, config)
        k = max(1, math.ceil(config.horizon_days / billing.period_days(state, config)))
        p_base = sbg.p_survive_horizon(0.0, float(k), alpha, beta)
        reasons.append(
            Reason(
                "no_billing",
                "temperature",
                "no billing events yet: temperature is the plan's prior",
                0.0,
            )
        )
    shift = (
        config.purchase_log_odds_shift
        if model in PURCHASE_MODELS
        else config.subscription_log_odds_shift
    )
    if shift:
        # A level recalibration of the model itself (learnt from outcomes), not a signal of the
        # customer's: it moves p_base and therefore carries no reason of its own.
        components["p_model"] = round(p_base, 6)
        p_base = sigmoid(logit(p_base) + shift)
    return p_base, model, components, reasons, p_alive


def _adjustments(
    state: CustomerState, now: float, config: TemperatureConfig
) -> list[tuple[str, float, str]]:
    """Log-odds moves from billing, contract and feedback signals: (code, log-odds, sentence)."""
    adjustments: list[tuple[str, float, str]] = []
    for code, signal, text in adjustment_signals(state, now, config):
        log_odds = getattr(config, ADJUSTMENT_COEFFICIENTS[code]) * signal
        if abs(log_odds) > 1e-3:
            adjustments.append((code, log_odds, text))
    return adjustments


def adjustment_features(
    state: CustomerState, now: float, config: TemperatureConfig
) -> dict[str, float]:
    """Every adjustment's unit-weight signal (0 when absent), keyed like ADJUSTMENT_COEFFICIENTS:
    the log-odds move is coefficient × signal. Uses only billing, contract and feedback fields."""
    out = dict.fromkeys(ADJUSTMENT_COEFFICIENTS, 0.0)
    for code, signal, _ in adjustment_signals(state, now, config):
        out[code] = signal
    return out


def adjustment_signals(
    state: CustomerState, now: float, config: TemperatureConfig
) -> list[tuple[str, float, str]]:
    """(code, unit-weight signal, sentence) for every adjustment present at ``now``.

    Signals: decayed payment failures (halved once renewed since), decayed downgrades and
    escalations, 1 for a standing cancellation request, a detractor/promoter NPS or a low CSAT;
    billing signals count ``renewal_window_multiplier`` times when a renewal is near.
    """
    signals: list[tuple[str, float, str]] = []
    renewal_multiplier = _renewal_multiplier(state, now, config)
    failures = value_at(
        state.payment_failures, state.payment_failures_t, now, config.payment_failure_half_life_days
    )
    if failures > 0.05:
        recovered = state.sub_positive_ts > state.last_payment_failure_ts
        days = (now - state.last_payment_failure_ts) / SECONDS_PER_DAY
        signals.append(
            (
                "payment_failed",
                failures * (0.5 if recovered else 1.0) * renewal_multiplier,
                f"payment failed {ago(days)}" + (" (renewed since)" if recovered else ""),
            )
        )
    if state.cancel_requested_ts and state.cancel_requested_ts > state.sub_positive_ts:
        days = (now - state.cancel_requested_ts) / SECONDS_PER_DAY
        signals.append(("cancellation_requested", 1.0, f"cancellation requested {ago(days)}"))
    downgrades = value_at(
        state.downgrades, state.downgrades_t, now, config.downgrade_half_life_days
    )
    if downgrades > 0.05:
        days = (now - state.last_downgrade_ts) / SECONDS_PER_DAY
        signals.append(("downgraded", downgrades * renewal_multiplier, f"downgraded {ago(days)}"))
    escalations = value_at(
        state.escalations, state.escalations_t, now, config.support_half_life_days
    )
    if escalations > 0.05:
        signals.append(
            (
                "escalations",
                escalations,
                f"{state.tickets_open} open support ticket(s), escalations in the last "
                f"{days_phrase(config.support_half_life_days)}",
            )
        )
    relevance = config.feedback_relevance_days * SECONDS_PER_DAY
    if state.nps >= 0 and now - state.nps_ts <= relevance:
        days = (now - state.nps_ts) / SECONDS_PER_DAY
        if state.nps <= 6:
            signals.append(("detractor", 1.0, f"NPS {state.nps:.0f} (detractor) {ago(days)}"))
        elif state.nps >= 9:
            signals.append(("promoter", 1.0, f"NPS {state.nps:.0f} (promoter) {ago(days)}"))
    if state.csat >= 0 and state.csat <= 2 and now - state.csat_ts <= relevance:
        days = (now - state.csat_ts) / SECONDS_PER_DAY
        signals.append(("low_csat", 1.0, f"CSAT {state.csat:.0f}/5 {ago(days)}"))
    overdue = billing.days_overdue(state, now, config) - config.renewal_grace_days
    if overdue > 0 and state.sub_paid_ts and config.renewal_overdue_log_odds_per_day:
        cap = config.renewal_overdue_max_log_odds / config.renewal_overdue_log_odds_per_day
        signals.append(
            (
                "renewal_overdue",
                min(overdue, cap),
                f"renewal due {ago(overdue + config.renewal_grace_days)}, no renewal seen",
            )
        )
    return signals


def _renewal_multiplier(state: CustomerState, now: float, config: TemperatureConfig) -> float:
    days = days_to_renewal(state, now)
    if days is not None and 0 <= days <= config.renewal_window_days:
        return config.renewal_window_multiplier
    return 1.0


def days_to_renewal(state: CustomerState, now: float) -> float | None:
    when = billing.renewal_date_ts(state)
    return None if when is None else (when - now) / SECONDS_PER_DAY


def _times(n: int) -> str:
    return {0: "never", 1: "once", 2: "twice"}.get(n, f"{n} times")


class TemperatureCurve:
    """``evaluate(state, t, ...).raw`` at any time t, without components or reasons.

    The silence timers solve for band crossings by bisection, a few dozen temperatures per
    customer: everything that does not depend on t (the model branch, sBG parameters, the billing
    schedule, the parsed renewal date) is computed once here, p_base is kept per number of
    renewals due, and no sentence is written. The arithmetic is evaluate's, operation for
    operation, so ``at(t) == evaluate(state, t, ...).raw`` exactly (tests/core/test_fast_paths.py
    checks it over many generated customers and times).
    """

    __slots__ = (
        "_config",
        "_due",
        "_horizon_s",
        "_kind",
        "_n",
        "_p_base",
        "_p_by_k",
        "_params",
        "_period_s",
        "_sbg",
        "_shift",
        "_state",
        "_stated",
    )

    def __init__(
        self, state: CustomerState, params: PopulationParams, config: TemperatureConfig
    ) -> None:
        self._state = state
        self._params = params
        self._config = config
        self._stated = billing.renewal_date_ts(state)
        self._due = billing.next_renewal_due(state, config)
        self._period_s = billing.period_days(state, config) * SECONDS_PER_DAY
        self._horizon_s = config.horizon_days * SECONDS_PER_DAY
        self._p_by_k: dict[int, float] = {}
        self._p_base = 0.0
        self._n = 0.0
        self._sbg: sbg.SBGParams | None = None
        if state.sub_status == "cancelled":
            self._kind = "cancelled"
        elif state.sub_status == "active" and not state.sub_paid_ts:
            self._kind = "unpaid"
            self._p_base = (
                config.trial_conversion_prior if state.sub_trial else config.free_conversion_prior
            )
        elif state.sub_status == "active":
            self._kind = "sbg"
            self._sbg = sbg_params_for(state, params, config)
            self._n = float(state.renewals_survived)
        elif state.purchases > 0:
            self._kind = "purchase"
        else:
            self._kind = "prior"
            alpha, beta = sbg_params_for(state, params, config)
            k = max(1, math.ceil(config.horizon_days / billing.period_days(state, config)))
            self._p_base = self._shifted(sbg.p_survive_horizon(0.0, float(k), alpha, beta), False)
        self._shift = (
            config.purchase_log_odds_shift
            if self._kind == "purchase"
            else config.subscription_log_odds_shift
        )

    def _shifted(self, p_base: float, purchase: bool) -> float:
        config = self._config
        shift = config.purchase_log_odds_shift if purchase else config.subscription_log_odds_shift
        return sigmoid(logit(p_base) + shift) if shift else p_base

    def _renewals_within(self, now: float) -> int:
        # billing.renewals_within with the schedule computed once.
        period, due = self._period_s, self._due
        if due is None:
            return max(1, math.ceil(self._horizon_s / period))
        end = now + self._horizon_s
        if due > end:
            return 1
        return max(1, 1 + math.floor((end - max(due, now)) / period))

    def at(self, now: float) -> float:
        kind = self._kind
        if kind == "cancelled":
            return 0.0
        if kind == "sbg":
            k = self._renewals_within(now)
            p_base = self._p_by_k.get(k)
            if p_base is None:
                alpha, beta = self._sbg  # type: ignore[misc]
                p_base = self._shifted(
                    sbg.p_survive_horizon(self._n, float(k), alpha, beta), purchase=False
                )
                self._p_by_k[k] = p_base
        elif kind == "purchase":
            p_base = self._shifted(
                p_buy_within(self._state, now, self._params, self._config)[0], purchase=True
            )
        else:
            p_base = self._p_base
        deltas = self._deltas(now)
        total = logit(p_base) + sum(deltas)
        return 100.0 * sigmoid(total)

    def _deltas(self, now: float) -> list[float]:
        """_adjustments' log-odds moves, in its order (adjustment_signals without sentences)."""
        state, config = self._state, self._config
        signals: list[tuple[str, float]] = []
        stated = self._stated
        days = None if stated is None else (stated - now) / SECONDS_PER_DAY
        multiplier = (
            config.renewal_window_multiplier
            if days is not None and 0 <= days <= config.renewal_window_days
            else 1.0
        )
        if state.payment_failures:
            failures = value_at(
                state.payment_failures,
                state.payment_failures_t,
                now,
                config.payment_failure_half_life_days,
            )
            if failures > 0.05:
                recovered = state.sub_positive_ts > state.last_payment_failure_ts
                signals.append(
                    ("payment_failed", failures * (0.5 if recovered else 1.0) * multiplier)
                )
        if state.cancel_requested_ts and state.cancel_requested_ts > state.sub_positive_ts:
            signals.append(("cancellation_requested", 1.0))
        if state.downgrades:
            downgrades = value_at(
                state.downgrades, state.downgrades_t, now, config.downgrade_half_life_days
            )
            if downgrades > 0.05:
                signals.append(("downgraded", downgrades * multiplier))
        if state.escalations:
            escalations = value_at(
                state.escalations, state.escalations_t, now, config.support_half_life_days
            )
            if escalations > 0.05:
                signals.append(("escalations", escalations))
        relevance = config.feedback_relevance_days * SECONDS_PER_DAY
        if state.nps >= 0 and now - state.nps_ts <= relevance:
            if state.nps <= 6:
                signals.append(("detractor", 1.0))
            elif state.nps >= 9:
                signals.append(("promoter", 1.0))
        if state.csat >= 0 and state.csat <= 2 and now - state.csat_ts <= relevance:
            signals.append(("low_csat", 1.0))
        due = self._due
        behind = (
            0.0
            if due is None or state.sub_status != "active"
            else max(0.0, (now - due) / SECONDS_PER_DAY)
        )
        overdue = behind - config.renewal_grace_days
        if overdue > 0 and state.sub_paid_ts and config.renewal_overdue_log_odds_per_day:
            cap = config.renewal_overdue_max_log_odds / config.renewal_overdue_log_odds_per_day
            signals.append(("renewal_overdue", min(overdue, cap)))
        deltas: list[float] = []
        for code, signal in signals:
            log_odds = getattr(config, ADJUSTMENT_COEFFICIENTS[code]) * signal
            if abs(log_odds) > 1e-3:
                deltas.append(log_odds)
        return deltas


def raw_value(
    state: CustomerState, now: float, params: PopulationParams, config: TemperatureConfig
) -> float:
    """``evaluate(state, now, ...).raw`` without components or reasons."""
    return TemperatureCurve(state, params, config).at(now)
