"""Customer lifetime value: an estimate with its inputs shown.

Purchases (non-contractual): Gamma-Gamma expected spend per transaction × expected purchases per
step from BG/NBD or MBG/NBD, summed over the horizon and discounted (as lifetimes'
``GammaGammaFitter.customer_lifetime_value`` does, with our rate stated per year).
Subscriptions (contractual): payment per billing period × the sBG's discounted expected renewal
payments within the same horizon (DERL truncated at the horizon), so a subscription's CLV and a
buyer's CLV are over one documented horizon and compare.

Discounting: callers give an ANNUAL rate; it is converted to the compounding-equivalent rate of
each step, (1 + annual)^(step_days / DAYS_PER_YEAR) − 1, so the result does not depend on the step
length chosen. Amounts are in the customer's currency; nothing here converts currencies.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.special import hyp2f1

from .models import bgnbd, gammagamma, mbgnbd, sbg

PurchaseModel = Literal["bgnbd", "mbgnbd"]

DAYS_PER_YEAR = 365.25
# MRR is per calendar month; a month is a twelfth of a Julian year.
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0
# One year of future value by default: beyond that BG/NBD extrapolates far outside the data it is
# usually fitted on, and CSMs plan renewals annually.
DEFAULT_HORIZON_DAYS = 365.0
# Cash flows are bucketed by month (lifetimes uses 30-day months with the "D" frequency).
DEFAULT_STEP_DAYS = 30.0
# A typical weighted cost of capital for a software business; configurable per call.
DEFAULT_ANNUAL_DISCOUNT = 0.10


@dataclass(frozen=True)
class CLVEstimate:
    """A CLV value (currency units) and the components it was computed from, for display."""

    value: float
    components: dict[str, float] = field(default_factory=dict)


def step_discount_rate(annual_discount: float, step_days: float) -> float:
    """Rate per step equivalent to ``annual_discount`` compounded yearly."""
    if annual_discount < 0.0:
        raise ValueError(f"annual_discount must be >= 0, got {annual_discount}")
    return float((1.0 + annual_discount) ** (step_days / DAYS_PER_YEAR) - 1.0)


def clv_purchases(
    x: float,
    t_x: float,
    T: float,
    frequency: float,
    monetary: float,
    bg: bgnbd.BGParams,
    gg: gammagamma.GGParams,
    *,
    model: PurchaseModel = "bgnbd",
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    step_days: float = DEFAULT_STEP_DAYS,
    annual_discount: float = DEFAULT_ANNUAL_DISCOUNT,
) -> CLVEstimate:
    """Discounted expected spend over the next ``horizon_days`` (x, t_x, T in days).

    CLV = E[spend | frequency, monetary] · Σ_k [E(k·s) − E((k−1)·s)] / (1+d_s)^k over steps s of
    ``step_days`` up to the horizon (the last step may be partial), E(t) the conditional expected
    purchases in (T, T+t], d_s the step discount rate. ``frequency``/``monetary`` describe the
    repeat purchases (count and mean value); with frequency 0 the population mean spend is used.
    """
    if horizon_days <= 0.0 or step_days <= 0.0:
        raise ValueError("horizon_days and step_days must be > 0")
    spend = gammagamma.conditional_expected_average_profit(frequency, monetary, *gg)
    d_step = step_discount_rate(annual_discount, step_days)
    purchases = 0.0
    discounted_purchases = 0.0
    previous = 0.0
    uptos: list[float] = []
    k = 0
    while k * step_days < horizon_days:
        k += 1
        uptos.append(min(k * step_days, horizon_days))
    curve = _expected_curve(model, uptos, x, t_x, T, bg)
    for upto, cumulative in zip(uptos, curve, strict=True):
        purchases += cumulative - previous
        discounted_purchases += (cumulative - previous) / (1.0 + d_step) ** (upto / step_days)
        previous = cumulative
    return CLVEstimate(
        value=spend * discounted_purchases,
        components={
            "expected_spend_per_purchase": spend,
            "expected_purchases": purchases,
            "discounted_purchases": discounted_purchases,
            "horizon_days": float(horizon_days),
            "annual_discount": float(annual_discount),
        },
    )


def clv_subscription(
    mrr: float,
    n_renewals: float,
    alpha: float,
    beta: float,
    period_days: float,
    annual_discount: float = DEFAULT_ANNUAL_DISCOUNT,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
) -> CLVEstimate:
    """Value of a subscription's renewal payments within ``horizon_days``.

    ``mrr`` is monthly recurring revenue; the payment per billing period of ``period_days`` is
    mrr · period_days / DAYS_PER_MONTH. Counts the K renewals due within the horizon (at least
    the next one): Σ_{k=1..K} S(n+k)/S(n) / (1+d)^(k−1), the next one undiscounted as in
    :func:`vitals.core.models.sbg.expected_remaining_lifetime` (its untruncated sum).
    """
    if period_days <= 0.0:
        raise ValueError(f"period_days must be > 0, got {period_days}")
    if annual_discount <= 0.0:
        raise ValueError(f"annual_discount must be > 0 for subscriptions, got {annual_discount}")
    payment = mrr * period_days / DAYS_PER_MONTH
    d_period, expected_renewals = _discounted_renewals(
        n_renewals, alpha, beta, period_days, annual_discount, horizon_days
    )
    return CLVEstimate(
        value=payment * expected_renewals,
        components={
            "payment_per_period": payment,
            "discounted_expected_renewals": expected_renewals,
            "p_renew_next": sbg.p_renew(n_renewals, alpha, beta),
            "period_discount": d_period,
            "period_days": float(period_days),
            "horizon_days": float(horizon_days),
        },
    )


# Subscribers share a few (renewals, plan parameters, period) combinations and their discounted
# renewals do not depend on the moment of evaluation: computed once per combination.
@functools.lru_cache(maxsize=16_384)
def _discounted_renewals(
    n_renewals: float,
    alpha: float,
    beta: float,
    period_days: float,
    annual_discount: float,
    horizon_days: float,
) -> tuple[float, float]:
    """(discount rate per period, Σ_{k=1..K} S(n+k)/S(n) / (1+d)^(k−1))."""
    d_period = step_discount_rate(annual_discount, period_days)
    renewals_due = max(1, math.ceil(horizon_days / period_days - 1e-6))
    expected_renewals = 0.0
    for k in range(1, renewals_due + 1):
        expected_renewals += sbg.p_survive_horizon(n_renewals, k, alpha, beta) / (
            1.0 + d_period
        ) ** (k - 1)
    return d_period, expected_renewals


def _expected_curve(
    model: PurchaseModel, uptos: list[float], x: float, t_x: float, T: float, bg: bgnbd.BGParams
) -> list[float]:
    """``expected_purchases(upto, x, t_x, T, *bg)`` for every upto, with ONE call of scipy's 2F1
    over the array of arguments instead of one per step (the per-call overhead of a ufunc is
    most of its cost at one element). The arithmetic around it is ``_expected_purchases_at``'s,
    term for term, so the values are the same floats."""
    r, alpha, a, b = bg
    scalar = bgnbd.expected_purchases if model == "bgnbd" else mbgnbd.expected_purchases
    if abs(a - 1.0) < bgnbd.A_SINGULARITY_OFFSET or any(t <= 0.0 for t in uptos):
        return [scalar(t, x, t_x, T, r, alpha, a, b) for t in uptos]
    if model == "bgnbd":
        c = a + b + x - 1.0
        b_x = b + x
        alive = bgnbd.p_alive(x, t_x, T, r, alpha, a, b)
    else:
        c = a + b + x
        b_x = b + x + 1.0
        alive = mbgnbd.p_alive(x, t_x, T, r, alpha, a, b)
    r_x = r + x
    zs = [t / (alpha + T + t) for t in uptos]
    hyps = hyp2f1(r_x, b_x, c, np.array(zs)).tolist()
    out: list[float] = []
    for z, hyp in zip(zs, hyps, strict=True):
        log1mz = math.log1p(-z)
        if math.isfinite(hyp):
            bracket = 1.0 - hyp * math.exp(r_x * log1mz)
        else:
            bracket = bgnbd.hyp_bracket(r_x, b_x, c, z)
        numerator = c / (a - 1.0) * bracket
        out.append(numerator * alive)
    return out
