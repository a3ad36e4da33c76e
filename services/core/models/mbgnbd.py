"""MBG/NBD: BG/NBD where a customer can also drop out right after the first purchase.

Batislam, E.P., Denizel, M. & Filiztekin, A. (2007), "Empirical validation and comparison of
models for customer base analysis", International Journal of Research in Marketing 24(3), 201-209,
with the erratum of Wagner, U. & Hoppe, D. (2008), IJRM 25(3), 225-226.

Same story as BG/NBD (purchases Poisson(λ), λ ~ Gamma(r, α); dropout probability p ~ Beta(a, b))
except that the dropout coin is also tossed at time 0, after the first purchase. Consequence that
matters to us: one-time buyers (x = 0) decay too, P(alive | x=0) = 1/(1 + a/b·((α+T)/α)^r) → 0,
so "gone quiet" works for them as well.

Units and notation as in :mod:`vitals.core.models.bgnbd` (days; x repeat purchases, t_x, T).
Parameters share :class:`vitals.core.models.bgnbd.BGParams`. Matches lifetimes'
``ModifiedBetaGeoFitter``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln

from .bgnbd import (
    BGParams,
    around_a_singularity,
    hyp_bracket,
    inv_one_plus_exp,
    no_purchase_complement,
)

__all__ = [
    "BGParams",
    "expected_purchases",
    "loglik",
    "p_alive",
    "p_alive_crossing_time",
    "p_purchase_within",
]


def p_alive(x: float, t_x: float, T: float, r: float, alpha: float, a: float, b: float) -> float:
    """P(alive at age T | x, t_x) = 1 / (1 + a/(b+x)·((α+T)/(α+t_x))^(r+x)), for every x ≥ 0.

    Batislam et al. (2007), Appendix A eq. (5). Times in days.
    """
    log_odds = math.log(a) - math.log(b + x) + (r + x) * math.log((alpha + T) / (alpha + t_x))
    return inv_one_plus_exp(log_odds)


def p_purchase_within(
    t: float, x: float, t_x: float, T: float, r: float, alpha: float, a: float, b: float
) -> float:
    """P(at least one purchase in (T, T+t] | x, t_x, T) = P(alive)·[1 − ((α+T)/(α+T+t))^(r+x)].

    As for BG/NBD (:func:`vitals.core.models.bgnbd.p_purchase_within`): dropout only at purchase
    moments, so given alive the window's first purchase comes at rate λ ~ Gamma(r+x, α+T).
    """
    if t <= 0.0:
        return 0.0
    return p_alive(x, t_x, T, r, alpha, a, b) * no_purchase_complement(t, x, T, r, alpha)


def _expected_purchases_at(
    t: float, x: float, t_x: float, T: float, r: float, alpha: float, a: float, b: float
) -> float:
    c = a + b + x
    z = t / (alpha + T + t)
    numerator = c / (a - 1.0) * hyp_bracket(r + x, b + x + 1.0, c, z)
    return numerator * p_alive(x, t_x, T, r, alpha, a, b)


def expected_purchases(
    t: float, x: float, t_x: float, T: float, r: float, alpha: float, a: float, b: float
) -> float:
    """E[number of purchases in (T, T+t] | x, t_x, T] under MBG/NBD; ``t`` in days.

    E = (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x+1; a+b+x; t/(α+T+t))]
        / (1 + a/(b+x)·((α+T)/(α+t_x))^(r+x))
    """
    if t <= 0.0:
        return 0.0
    return around_a_singularity(_expected_purchases_at, t, x, t_x, T, r, alpha, a, b)


def p_alive_crossing_time(
    x: float, t_x: float, r: float, alpha: float, a: float, b: float, p_star: float
) -> float:
    """Age T* (days) at which :func:`p_alive` falls to ``p_star``; defined for every x ≥ 0.

    T* = (α+t_x)·[(1/p*−1)(b+x)/a]^(1/(r+x)) − α. Returns ``t_x`` if P(alive) is already below
    ``p_star`` at the last purchase, ``math.inf`` if the crossing is beyond representable time.
    """
    if not 0.0 < p_star < 1.0:
        raise ValueError(f"p_star must be strictly between 0 and 1, got {p_star}")
    log_ratio = (math.log(1.0 / p_star - 1.0) + math.log(b + x) - math.log(a)) / (r + x)
    if log_ratio <= 0.0:
        return float(t_x)
    try:
        return (alpha + t_x) * math.exp(log_ratio) - alpha
    except OverflowError:
        return math.inf


def loglik(params: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> NDArray[np.float64]:
    """Individual log-likelihoods under MBG/NBD (array), as in Batislam et al. (2007) eq. (3).

    ln L = A1 + A2 + A3 + ln(1 + e^A4) with A1 as in BG/NBD,
    A2 = lnΓ(a+b) + lnΓ(b+x+1) − lnΓ(b) − lnΓ(a+b+x+1),  A3 = −(r+x)·ln(α+T),
    A4 = ln a − ln(b+x) + (r+x)·(ln(α+T) − ln(α+t_x)).
    """
    r, alpha, a, b = (float(v) for v in np.asarray(params, dtype=float))
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x + 1.0) - gammaln(b) - gammaln(a + b + x + 1.0)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.asarray(a1 + a2 + a3 + np.logaddexp(a4, 0.0), dtype=np.float64)
