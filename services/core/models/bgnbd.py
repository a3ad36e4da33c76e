"""BG/NBD: will a non-contractual customer keep buying? (Fader, Hardie & Lee 2005)

Fader, P.S., Hardie, B.G.S. & Lee, K.L. (2005), "Counting Your Customers the Easy Way: An
Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284; P(alive) from Hardie's
note 021 (http://brucehardie.com/notes/021/).

Model: while alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each
repeat purchase they drop out with probability p ~ Beta(a, b).

Units: every time is in DAYS. ``x`` = number of repeat purchases (purchases after the first),
``t_x`` = time of the last purchase measured from the first purchase (0 when x = 0),
``T`` = the customer's age, now − first purchase (T ≥ t_x). ``alpha`` is therefore in days
(it is the Gamma *rate* parameter of λ, whose unit is 1/day, hence α has the unit of time).

Known property: a customer with x = 0 has P(alive) = 1 forever, because dropout can only happen
after a repeat purchase. Use :mod:`vitals.core.models.mbgnbd` or :func:`expected_purchases` to rank
one-time buyers.

Scalar functions use :mod:`math` (they run once per event on the scorer's hot path);
:func:`loglik` is vectorised with numpy for fitting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln, hyp2f1

# At a == 1 the closed form of eq. (10) has a removable 0/0 singularity (the factor 1/(a−1) times a
# bracket that also vanishes). Evaluating at a ± this offset and averaging is accurate to ~1e-9
# relative, far below the model's own uncertainty, and avoids a special-case formula.
A_SINGULARITY_OFFSET = 1e-6


class BGParams(NamedTuple):
    """Population parameters of BG/NBD and MBG/NBD (r, alpha in days, a, b), all > 0."""

    r: float
    alpha: float
    a: float
    b: float


def inv_one_plus_exp(log_odds: float) -> float:
    """1 / (1 + e^log_odds), without overflow for large |log_odds|."""
    if log_odds > 0.0:
        e = math.exp(-log_odds)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(log_odds))


def p_alive(x: float, t_x: float, T: float, r: float, alpha: float, a: float, b: float) -> float:
    """P(customer is alive at age T | x, t_x) = 1 / (1 + [x>0]·a/(b+x−1)·((α+T)/(α+t_x))^(r+x)).

    Hardie, note 021. Times in days. Returns exactly 1.0 for x == 0 (see the module docstring).
    """
    if x <= 0:
        return 1.0
    log_odds = math.log(a) - math.log(b + x - 1.0) + (r + x) * math.log((alpha + T) / (alpha + t_x))
    return inv_one_plus_exp(log_odds)


def p_purchase_within(
    t: float, x: float, t_x: float, T: float, r: float, alpha: float, a: float, b: float
) -> float:
    """P(at least one purchase in (T, T+t] | x, t_x, T): "will they buy again within t days".

    = P(alive at T) · [1 − ((α+T)/(α+T+t))^(r+x)]. Given alive at T, λ | data ~ Gamma(r+x, α+T)
    and a customer can only drop out right after a purchase, so the window's first purchase comes
    at rate λ: P(none in t | alive) = E[e^(−λt)] = ((α+T)/(α+T+t))^(r+x). Closed form, no special
    function. Unlike P(alive) it rises with how often the customer buys. ``t`` in days.
    """
    if t <= 0.0:
        return 0.0
    return p_alive(x, t_x, T, r, alpha, a, b) * no_purchase_complement(t, x, T, r, alpha)


def no_purchase_complement(t: float, x: float, T: float, r: float, alpha: float) -> float:
    """1 − ((α+T)/(α+T+t))^(r+x): P(a purchase within t days | alive), shared with MBG/NBD."""
    return -math.expm1((r + x) * (math.log(alpha + T) - math.log(alpha + T + t)))


def hyp_bracket(r_x: float, b_x: float, c: float, z: float) -> float:
    """1 − (1−z)^(r_x) · 2F1(r_x, b_x; c; z): the bracket of the conditional-expectation formulas.

    Shared with MBG/NBD. When 2F1 overflows (c − r_x − b_x < 0 and z → 1, i.e. very long
    horizons) it uses Euler's transformation 2F1(A, B; C; z) = (1−z)^(C−A−B)·2F1(C−A, C−B; C; z),
    as lifetimes does, so the product never overflows.
    """
    log1mz = math.log1p(-z)
    hyp = float(hyp2f1(r_x, b_x, c, z))
    if math.isfinite(hyp):
        return 1.0 - hyp * math.exp(r_x * log1mz)
    hyp_alt = float(hyp2f1(c - r_x, c - b_x, c, z))
    return 1.0 - hyp_alt * math.exp((c - b_x) * log1mz)


def _expected_purchases_at(
    t: float, x: float, t_x: float, T: float, r: float, alpha: float, a: float, b: float
) -> float:
    c = a + b + x - 1.0
    z = t / (alpha + T + t)
    numerator = c / (a - 1.0) * hyp_bracket(r + x, b + x, c, z)
    return numerator * p_alive(x, t_x, T, r, alpha, a, b)


def expected_purchases(
    t: float, x: float, t_x: float, T: float, r: float, alpha: float, a: float, b: float
) -> float:
    """E[number of purchases in (T, T+t] | x, t_x, T]: eq. (10) of Fader, Hardie & Lee (2005).

    E = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; t/(α+T+t))]
        / (1 + [x>0]·a/(b+x−1)·((α+T)/(α+t_x))^(r+x))

    ``t`` is the horizon in days. Matches lifetimes'
    ``BetaGeoFitter.conditional_expected_number_of_purchases_up_to_time``.
    """
    if t <= 0.0:
        return 0.0
    return around_a_singularity(_expected_purchases_at, t, x, t_x, T, r, alpha, a, b)


def around_a_singularity(
    at: Callable[[float, float, float, float, float, float, float, float], float],
    t: float,
    x: float,
    t_x: float,
    T: float,
    r: float,
    alpha: float,
    a: float,
    b: float,
) -> float:
    """``at(t, x, t_x, T, r, alpha, a, b)``, averaged across a = 1 when a is that close to it: the
    expectation formulas (BG/NBD and MBG/NBD alike) divide by a − 1 but are continuous there."""
    if abs(a - 1.0) < A_SINGULARITY_OFFSET:
        lo = at(t, x, t_x, T, r, alpha, 1.0 - A_SINGULARITY_OFFSET, b)
        hi = at(t, x, t_x, T, r, alpha, 1.0 + A_SINGULARITY_OFFSET, b)
        return 0.5 * (lo + hi)
    return at(t, x, t_x, T, r, alpha, a, b)


def p_alive_crossing_time(
    x: float, t_x: float, r: float, alpha: float, a: float, b: float, p_star: float
) -> float | None:
    """Age T* (days since first purchase) at which :func:`p_alive` falls to ``p_star``.

    T* = (α+t_x)·[(1/p*−1)(b+x−1)/a]^(1/(r+x)) − α, the inverse of :func:`p_alive` in T.
    Returns None when x == 0 (P(alive) stays 1: it never crosses). If P(alive) is already below
    ``p_star`` right at the last purchase, returns ``t_x`` (it crossed immediately); callers compare
    the result with the customer's current age. May return ``math.inf`` when the crossing lies
    beyond any representable time. The silence timers schedule on this value.
    """
    if not 0.0 < p_star < 1.0:
        raise ValueError(f"p_star must be strictly between 0 and 1, got {p_star}")
    if x <= 0:
        return None
    log_ratio = (math.log(1.0 / p_star - 1.0) + math.log(b + x - 1.0) - math.log(a)) / (r + x)
    if log_ratio <= 0.0:
        return float(t_x)
    try:
        return (alpha + t_x) * math.exp(log_ratio) - alpha
    except OverflowError:
        return math.inf


def loglik(params: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> NDArray[np.float64]:
    """Individual log-likelihoods ln L(r, α, a, b | x_i, t_x_i, T_i), eq. (6) of the paper (array).

    ln L = A1 + A2 + ln(e^A3 + [x>0]·e^A4) with
    A1 = lnΓ(r+x) − lnΓ(r) + r·ln α,  A2 = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x),
    A3 = −(r+x)·ln(α+T),              A4 = ln a − ln(b+x−1) − (r+x)·ln(α+t_x)  (x > 0 only).
    """
    r, alpha, a, b = (float(v) for v in np.asarray(params, dtype=float))
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0) - (r + x) * np.log(alpha + t_x)
    a4 = np.where(x > 0, a4, -np.inf)
    return np.asarray(a1 + a2 + np.logaddexp(a3, a4), dtype=np.float64)
