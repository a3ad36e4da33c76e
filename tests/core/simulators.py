"""Exact, vectorised simulators of the customer-base models, for parameter-recovery tests."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def simulate_bg(
    rng: np.random.Generator,
    T: FloatArray,
    r: float,
    alpha: float,
    a: float,
    b: float,
    *,
    dropout_at_zero: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """(x, t_x) for customers of ages T under BG/NBD (or MBG/NBD with ``dropout_at_zero``).

    Purchases arrive as Poisson(λ) while alive, λ ~ Gamma(r, rate α). The dropout coin
    (p ~ Beta(a, b)) is tossed after each repeat purchase (and at time 0 under MBG/NBD), so the
    number of repeat purchases made before dying is K ~ Geometric(p) on {1, 2, ...} (BG) or K − 1
    (MBG).
    Given N(T) Poisson arrivals in [0, T], the k-th arrival time is T·Beta(k, N−k+1).
    """
    n = T.size
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    p = rng.beta(a, b, size=n)
    max_repeats = rng.geometric(p) - (1 if dropout_at_zero else 0)
    arrivals = rng.poisson(lam * T)
    x = np.minimum(max_repeats, arrivals)
    t_x = np.zeros(n)
    bought = x > 0
    t_x[bought] = T[bought] * rng.beta(x[bought], arrivals[bought] - x[bought] + 1)
    return x.astype(float), t_x


def simulate_sbg(
    rng: np.random.Generator, horizon: NDArray[np.int64], alpha: float, beta: float
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """(renewals survived, still active) after ``horizon`` renewal opportunities per customer.

    θ ~ Beta(α, β); lifetime in periods ~ Geometric(θ) on {1, 2, ...}.
    """
    theta = rng.beta(alpha, beta, size=horizon.size)
    lifetime = rng.geometric(theta)
    active = lifetime > horizon
    renewals = np.where(active, horizon, lifetime - 1)
    return renewals.astype(np.int64), active


def sbg_survivor_curve(
    rng: np.random.Generator, n: int, periods: int, alpha: float, beta: float
) -> list[int]:
    """[N_0, N_1, ..., N_periods] survivors of one simulated cohort."""
    lifetime = rng.geometric(rng.beta(alpha, beta, size=n))
    return [int(np.count_nonzero(lifetime > t)) for t in range(periods + 1)]


def simulate_gammagamma(
    rng: np.random.Generator, frequency: FloatArray, p: float, q: float, v: float
) -> FloatArray:
    """Mean spend over ``frequency`` transactions: ν ~ Gamma(q, rate v), z ~ Gamma(p, rate ν)."""
    nu = rng.gamma(q, 1.0 / v, size=frequency.size)
    # The sum of x Gamma(p, ν) transactions is Gamma(p·x, ν).
    return rng.gamma(p * frequency, 1.0 / nu) / frequency
