"""Shifted-beta-geometric (sBG) model of contractual renewals (Fader & Hardie 2007).

Fader, P.S. & Hardie, B.G.S. (2007), "How to Project Customer Retention", Journal of Interactive
Marketing 21(1), 76-90. DERL: Fader, P.S. & Hardie, B.G.S. (2010), "Customer-Base Valuation in a
Contractual Setting: The Perils of Ignoring Heterogeneity", Marketing Science 29(1), 85-93.

Model: each customer has a constant per-period churn probability θ ~ Beta(α, β); heterogeneity in θ
makes the *cohort's* retention rate rise over time (the bad customers leave first).

Indexing, which the paper states in periods t = 1, 2, ... and we state in renewals:
- A customer's first paid period is period 1; at the end of each period they renew or leave.
- ``n`` = number of renewals the customer has survived (0 = still in the first period).
- Survived n renewals ⇔ lifetime T > n periods; the paper's S(t) = P(T > t), so S(n) is the
  probability of surviving n renewals, and P(T = t) = P(leave at the end of period t), i.e. the
  customer survived t − 1 renewals and then failed renewal t.
- The paper's retention rate r_t = S(t)/S(t−1) = (β+t−1)/(α+β+t−1) is the probability of renewing
  at the end of period t; the next renewal after n survived ones is t = n + 1, hence
  :func:`p_renew` (n) = (β+n)/(α+β+n).

A period is whatever the plan bills (a month, a year): α, β are per plan, per period length.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaln, hyp2f1

# Stop summing the DERL series once a term is this small relative to the running total.
DERL_SUM_RELATIVE_TOL = 1e-17


class SBGParams(NamedTuple):
    """sBG parameters: churn probability θ ~ Beta(alpha, beta); both > 0, per billing period."""

    alpha: float
    beta: float


def _lbeta(x: float, y: float) -> float:
    return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)


def p_renew(n: float, alpha: float, beta: float) -> float:
    """P(renew at the next renewal | survived ``n`` renewals) = (β+n)/(α+β+n).

    This is the paper's retention rate r_t at t = n + 1 (see the module docstring).
    """
    return (beta + n) / (alpha + beta + n)


def survival(t_periods: float, alpha: float, beta: float) -> float:
    """S(t) = P(survive ``t_periods`` renewals) = B(α, β+t)/B(α, β) (paper eq. 5); S(0) = 1."""
    if t_periods <= 0:
        return 1.0
    return math.exp(_lbeta(alpha, beta + t_periods) - _lbeta(alpha, beta))


def p_survive_horizon(n: float, k: float, alpha: float, beta: float) -> float:
    """P(survive ``k`` more renewals | survived ``n``) = S(n+k)/S(n)."""
    if k <= 0:
        return 1.0
    return math.exp(_lbeta(alpha, beta + n + k) - _lbeta(alpha, beta + n))


def expected_remaining_lifetime(n: float, alpha: float, beta: float, discount: float) -> float:
    """Discounted expected residual lifetime (DERL), in billing periods, after ``n`` renewals.

    DERL = Σ_{k≥1} S(n+k)/S(n) / (1+d)^(k−1)
         = (β+n)/(α+β+n) · 2F1(1, β+n+1; α+β+n+1; 1/(1+d))      (Fader & Hardie 2010, eq. 6,
    whose "n−1 renewals" is our n). It counts the future renewal payments, the next one
    undiscounted (the paper's convention: payment at the start of each period); multiply by the
    payment per period for the residual value. ``discount`` d is the rate per billing period and
    must be > 0 (at d = 0 the sum diverges when α ≤ 1).
    """
    if discount <= 0.0:
        raise ValueError(f"discount per period must be > 0, got {discount}")
    z = 1.0 / (1.0 + discount)
    hyp = float(hyp2f1(1.0, beta + n + 1.0, alpha + beta + n + 1.0, z))
    if math.isfinite(hyp):
        return p_renew(n, alpha, beta) * hyp
    return _derl_by_summation(n, alpha, beta, z)


def _derl_by_summation(n: float, alpha: float, beta: float, z: float) -> float:
    """The DERL series summed term by term, for parameters where scipy's 2F1 returns NaN.

    That happens for very large α, β (an almost homogeneous cohort, which MLE can produce). Each
    term is the previous one × p_renew × z ≤ z < 1, so the loop ends; terms below
    DERL_SUM_RELATIVE_TOL of the total no longer change a float64 sum.
    """
    term = p_renew(n, alpha, beta)
    total = term
    k = 0
    while term > DERL_SUM_RELATIVE_TOL * total:
        k += 1
        term *= p_renew(n + k, alpha, beta) * z
        total += term
    return total


def loglik(params: ArrayLike, lost: ArrayLike, still_active: int) -> float:
    """Cohort log-likelihood (paper eq. 6): Σ_t lost_t·ln P(T=t) + still_active·ln S(len(lost)).

    ``lost[t−1]`` = customers of the cohort lost at the end of period t (failed renewal t), for
    t = 1..len(lost); ``still_active`` = customers who survived all len(lost) renewals.
    P(T=t) = B(α+1, β+t−1)/B(α, β).
    """
    alpha, beta = (float(v) for v in np.asarray(params, dtype=float))
    lost_arr = np.asarray(lost, dtype=float)
    t = np.arange(1, lost_arr.size + 1, dtype=float)
    base = betaln(alpha, beta)
    log_p_churn = betaln(alpha + 1.0, beta + t - 1.0) - base
    log_s_end = betaln(alpha, beta + lost_arr.size) - base
    return float(np.dot(lost_arr, log_p_churn) + still_active * log_s_end)


def loglik_individual(
    params: ArrayLike, renewals: ArrayLike, active: ArrayLike
) -> NDArray[np.float64]:
    """Individual log-likelihoods (array) from (renewals survived, still active?) per customer.

    Active after n renewals: ln S(n) (right-censored). Cancelled after n renewals (failed renewal
    n+1): ln P(T = n+1) = ln B(α+1, β+n) − ln B(α, β). Lets cohorts of different ages be pooled.
    """
    alpha, beta = (float(v) for v in np.asarray(params, dtype=float))
    n = np.asarray(renewals, dtype=float)
    is_active = np.asarray(active, dtype=bool)
    base = betaln(alpha, beta)
    censored = betaln(alpha, beta + n) - base
    churned = betaln(alpha + 1.0, beta + n) - base
    return np.asarray(np.where(is_active, censored, churned), dtype=np.float64)
