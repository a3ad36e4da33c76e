"""Maximum-likelihood fits of the customer-base models, with standard errors.

Every fitter minimises the negative log-likelihood over log-parameters (so all parameters stay
positive) with L-BFGS-B, falls back to Nelder-Mead from where L-BFGS-B stopped if it reports
failure, and returns a :class:`FitResult`. Standard errors come from the inverse of a central-
difference Hessian of the total negative log-likelihood at the optimum, taken in log space and
mapped back by the delta method (cov θ = diag θ · H_log⁻¹ · diag θ), which equals the inverse
Hessian in the original parameterisation at a stationary point.

Errors::

    FitError (ValueError)
    ├── NotEnoughData   too few customers / events to identify the parameters: keep the priors
    ├── InvalidData     inputs that cannot come from the model (negative ages, t_x > T, ...)
    └── FitFailed       the optimiser produced no finite likelihood
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

from . import bgnbd, gammagamma, mbgnbd, sbg

# Minimum sample sizes. Below these the standard errors of a 2-4 parameter model are as large as
# the parameters themselves (checked on simulated data), so a refit would only add noise to priors.
MIN_CUSTOMERS_PURCHASES = 100
# a and b (dropout) are identified only by customers who bought again.
MIN_REPEAT_BUYERS = 20
MIN_SUBSCRIBERS = 50
# α and β are separated only by how the churn rate changes over renewals: need some churn at all.
MIN_CHURN_EVENTS = 10
MIN_SPENDERS = 50

# Log-parameter box: e^±15 ≈ 3e-7..3e6 covers every sensible value (α up to thousands of days)
# while keeping gammaln/exp finite during line searches.
LOG_PARAM_BOUND = 15.0
# Step in log space for the numerical Hessian: truncation error ~h², rounding ~eps·|NLL|/h²;
# 1e-4 balances both for NLLs up to ~1e7 (10^6 customers).
HESSIAN_STEP = 1e-4
OPTIMIZER_TOL = 1e-10
NELDER_MEAD_MAXITER = 4000


class FitError(ValueError):
    """Base class: the model could not be fitted to these data."""


class NotEnoughData(FitError):
    """Too few customers or events; keep using the prior (or previous) parameters."""


class InvalidData(FitError):
    """Inputs inconsistent with the model's definitions; fix the statistics feeding the fit."""


class FitFailed(FitError):
    """The optimiser did not reach a finite likelihood; the data are probably degenerate."""


@dataclass(frozen=True)
class FitResult:
    """Fitted parameters (original scale), their standard errors, total log-likelihood and n.

    ``converged`` is False when the optimiser reported failure, a parameter sits on the search
    box edge, or the Hessian is not positive definite (standard errors are then ``inf``): treat
    such a fit as unidentified and keep the prior.
    """

    model: str
    params: dict[str, float]
    standard_errors: dict[str, float]
    loglik: float
    n: int
    converged: bool
    message: str

    def max_relative_se(self) -> float:
        """Largest standard error ÷ estimate: above ~1 the data do not pin that parameter down."""
        return max(self.standard_errors[k] / v for k, v in self.params.items())

    def values(self) -> tuple[float, ...]:
        """Parameters in the model's order, ready for ``*`` unpacking into the model functions."""
        return tuple(self.params.values())


def _hessian(
    f: Callable[[NDArray[np.float64]], float], x: NDArray[np.float64]
) -> NDArray[np.float64]:
    k = x.size
    h = HESSIAN_STEP
    f0 = f(x)
    hess = np.empty((k, k))
    eye = np.eye(k) * h
    for i in range(k):
        hess[i, i] = (f(x + eye[i]) - 2.0 * f0 + f(x - eye[i])) / h**2
        for j in range(i + 1, k):
            val = (
                f(x + eye[i] + eye[j])
                - f(x + eye[i] - eye[j])
                - f(x - eye[i] + eye[j])
                + f(x - eye[i] - eye[j])
            ) / (4.0 * h**2)
            hess[i, j] = hess[j, i] = val
    return hess


def _standard_errors(
    hess_log: NDArray[np.float64], theta: NDArray[np.float64]
) -> NDArray[np.float64]:
    """sqrt(diag(diag θ · H_log⁻¹ · diag θ)); all ``inf`` if H_log is not positive definite."""
    unidentified = np.full(theta.size, math.inf)
    if not np.all(np.isfinite(hess_log)):
        return unidentified
    try:
        np.linalg.cholesky(hess_log)  # raises unless positive definite
        cov_log = np.linalg.inv(hess_log)
    except np.linalg.LinAlgError:
        return unidentified
    return np.asarray(theta * np.sqrt(np.diag(cov_log)), dtype=np.float64)


def _mle(
    model: str,
    names: Sequence[str],
    total_loglik: Callable[[NDArray[np.float64]], float],
    initial: Sequence[float],
    n: int,
) -> FitResult:
    """Maximise ``total_loglik(theta)`` over theta > 0; see the module docstring."""

    def nll_log(log_theta: NDArray[np.float64]) -> float:
        value = -total_loglik(np.exp(log_theta))
        return value if math.isfinite(value) else math.inf

    def scaled(log_theta: NDArray[np.float64]) -> float:
        # Per-customer scale keeps the optimiser's tolerances meaningful whatever n is.
        value = nll_log(log_theta) / n
        return value if math.isfinite(value) else 1e300

    x0 = np.log(np.asarray(initial, dtype=float))
    if not np.all(np.isfinite(x0)):
        raise ValueError(f"initial parameters must be positive and finite, got {initial}")
    bounds = [(-LOG_PARAM_BOUND, LOG_PARAM_BOUND)] * len(names)
    res = minimize(scaled, x0, method="L-BFGS-B", bounds=bounds, options={"ftol": OPTIMIZER_TOL})
    success, message = bool(res.success), str(res.message)
    if not success:
        nm = minimize(
            scaled,
            res.x,
            method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": OPTIMIZER_TOL, "maxiter": NELDER_MEAD_MAXITER},
        )
        if nm.fun <= res.fun:
            res = nm
        success, message = bool(nm.success), f"L-BFGS-B: {message}; Nelder-Mead: {nm.message}"
    log_theta = np.clip(np.asarray(res.x, dtype=float), -LOG_PARAM_BOUND, LOG_PARAM_BOUND)
    nll = nll_log(log_theta)
    if not math.isfinite(nll):
        raise FitFailed(f"{model}: no finite likelihood found ({message}); check the input data")
    theta = np.exp(log_theta)
    on_edge = bool(np.any(np.abs(log_theta) > LOG_PARAM_BOUND - 1e-3))
    se = _standard_errors(_hessian(nll_log, log_theta), theta)
    positive_definite = bool(np.all(np.isfinite(se)))
    if not positive_definite:
        message += "; Hessian not positive definite (parameters not identified)"
    return FitResult(
        model=model,
        params={name: float(v) for name, v in zip(names, theta, strict=True)},
        standard_errors={name: float(s) for name, s in zip(names, se, strict=True)},
        loglik=-nll,
        n=n,
        converged=success and positive_definite and not on_edge,
        message=message,
    )


def _as_1d(name: str, values: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(arr)):
        raise InvalidData(f"{name} contains NaN or infinite values; drop or repair those rows")
    return arr


def _purchase_arrays(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    xa, ta, Ta = _as_1d("x", x), _as_1d("t_x", t_x), _as_1d("T", T)
    if not xa.size == ta.size == Ta.size:
        raise InvalidData(f"x, t_x, T lengths differ: {xa.size}, {ta.size}, {Ta.size}")
    if np.any(xa < 0) or np.any(xa != np.round(xa)):
        raise InvalidData("x (repeat purchases) must be non-negative integers")
    if np.any(ta < 0) or np.any(ta > Ta):
        raise InvalidData("need 0 <= t_x <= T for every customer (days since first purchase)")
    if xa.size < MIN_CUSTOMERS_PURCHASES:
        raise NotEnoughData(f"{xa.size} customers < {MIN_CUSTOMERS_PURCHASES} needed")
    repeaters = int(np.count_nonzero(xa > 0))
    if repeaters < MIN_REPEAT_BUYERS:
        raise NotEnoughData(f"{repeaters} repeat buyers < {MIN_REPEAT_BUYERS} needed")
    return xa, ta, Ta


def _default_bg_initial(T: NDArray[np.float64]) -> tuple[float, float, float, float]:
    # α is a time scale: start it at the typical customer age so the first steps are sensible.
    return (1.0, max(float(np.mean(T)), 1.0), 1.0, 1.0)


def fit_bgnbd(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike, initial: Sequence[float] | None = None
) -> FitResult:
    """MLE of BG/NBD (r, alpha [days], a, b) from per-customer (x, t_x, T) in days."""
    return _fit_purchases("bgnbd", bgnbd.loglik, x, t_x, T, initial)


def fit_mbgnbd(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike, initial: Sequence[float] | None = None
) -> FitResult:
    """MLE of MBG/NBD (r, alpha [days], a, b) from per-customer (x, t_x, T) in days."""
    return _fit_purchases("mbgnbd", mbgnbd.loglik, x, t_x, T, initial)


def _fit_purchases(
    model: str,
    loglik: Callable[..., NDArray[np.float64]],
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    initial: Sequence[float] | None,
) -> FitResult:
    xa, ta, Ta = _purchase_arrays(x, t_x, T)
    return _mle(
        model,
        ("r", "alpha", "a", "b"),
        lambda th: float(np.sum(loglik(th, xa, ta, Ta))),
        initial or _default_bg_initial(Ta),
        xa.size,
    )


def fit_sbg_survivors(
    cohorts: Sequence[Sequence[int]], initial: Sequence[float] = (1.0, 1.0)
) -> FitResult:
    """MLE of sBG (alpha, beta) from cohort survivor curves, as in Fader & Hardie (2007).

    Each cohort is [N_0, N_1, ..., N_k]: customers who started, then still active after 1..k
    renewals (non-increasing). Cohorts may have different lengths; their likelihoods add.
    """
    curves: list[NDArray[np.float64]] = []
    for i, cohort in enumerate(cohorts):
        arr = _as_1d(f"cohort {i}", cohort)
        if arr.size < 2 or arr[0] <= 0 or np.any(np.diff(arr) > 0) or arr[-1] < 0:
            raise InvalidData(
                f"cohort {i} must be non-increasing survivor counts [N_0 > 0, N_1, ...], "
                f"got {cohort}"
            )
        curves.append(arr)
    n = int(sum(c[0] for c in curves))
    churned = int(sum(c[0] - c[-1] for c in curves))
    _check_subscription_counts(n, churned)

    def total(theta: NDArray[np.float64]) -> float:
        return float(sum(sbg.loglik(theta, -np.diff(c), int(c[-1])) for c in curves))

    return _mle("sbg", ("alpha", "beta"), total, initial, n)


def fit_sbg_individual(
    renewals: ArrayLike, active: ArrayLike, initial: Sequence[float] = (1.0, 1.0)
) -> FitResult:
    """MLE of sBG (alpha, beta) from per-customer (renewals survived, still active?)."""
    n_arr = _as_1d("renewals", renewals)
    act = np.asarray(active, dtype=bool).ravel()
    if n_arr.size != act.size:
        raise InvalidData(f"renewals and active lengths differ: {n_arr.size}, {act.size}")
    if np.any(n_arr < 0) or np.any(n_arr != np.round(n_arr)):
        raise InvalidData("renewals must be non-negative integers")
    _check_subscription_counts(int(n_arr.size), int(np.count_nonzero(~act)))
    return _mle(
        "sbg",
        ("alpha", "beta"),
        lambda th: float(np.sum(sbg.loglik_individual(th, n_arr, act))),
        initial,
        int(n_arr.size),
    )


def _check_subscription_counts(n: int, churned: int) -> None:
    if n < MIN_SUBSCRIBERS:
        raise NotEnoughData(f"{n} subscribers < {MIN_SUBSCRIBERS} needed")
    if churned < MIN_CHURN_EVENTS:
        raise NotEnoughData(f"{churned} cancellations < {MIN_CHURN_EVENTS} needed")


def fit_gammagamma(
    frequency: ArrayLike, monetary_value: ArrayLike, initial: Sequence[float] | None = None
) -> FitResult:
    """MLE of Gamma-Gamma (p, q, v) from customers with frequency > 0 and mean spend > 0."""
    xa, ma = _as_1d("frequency", frequency), _as_1d("monetary_value", monetary_value)
    if xa.size != ma.size:
        raise InvalidData(f"frequency and monetary_value lengths differ: {xa.size}, {ma.size}")
    if np.any(xa <= 0) or np.any(ma <= 0):
        raise InvalidData("pass only customers with frequency > 0 and monetary_value > 0")
    if xa.size < MIN_SPENDERS:
        raise NotEnoughData(f"{xa.size} repeat spenders < {MIN_SPENDERS} needed")
    # v is a currency scale: start it at the mean spend so the first steps are sensible.
    start = initial or (1.0, 2.0, float(np.mean(ma)))
    return _mle(
        "gammagamma",
        ("p", "q", "v"),
        lambda th: float(np.sum(gammagamma.loglik(th, xa, ma))),
        start,
        xa.size,
    )
