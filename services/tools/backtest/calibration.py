"""Calibrating temperature and risk from the outcomes the stream itself carries.

The stream says what happened next: a subscription ``cancelled`` event is churn, a purchase is a
customer buying again. Replay history to a training cut T0 = as_of − horizon, take every
customer's features at T0, read the outcomes the stream showed in (T0, as_of], and fit:

- temperature: the adjustment coefficients (payment failure, cancellation request, downgrade,
  escalations, detractor, promoter, low CSAT) and one level shift per model family (subscription,
  purchases) by logistic regression with logit(p_base) of the renewal / purchase model as an
  OFFSET: the base models' parameters are fitted by MLE elsewhere (``population.refit``); here we
  learn how far billing and feedback signals move them, and by how much a misspecified model's
  level is off. Label: still paying at as_of (no cancellation; for purchase-only customers,
  bought again). The purchase model (MBG/NBD, BG/NBD, expected purchases) with the lowest
  log-loss is kept. No usage feature enters: temperature stays the billing/contract number.
- risk: intercept + the four term weights on the unit-weight terms (``risk.features``, with the
  CALIBRATED temperature), for subscribers; label: cancelled in the window.

Both fits are L2-regularised toward the CURRENT config (a Gaussian prior of standard deviation
1/√l2 log-odds around each documented value, intercept free), so thin data leaves the numbers where
they were instead of at zero; signal coefficients keep the sign of their current value (a
detractor never warms a customer up; risk stays monotone in every term); level shifts may take
either sign. Guard rails, each reported: fewer than
``MIN_EVENTS`` outcomes of either class keeps the config; a coefficient whose signal fewer than
``MIN_SIGNAL_CUSTOMERS`` customers show stays at its current value.

Leakage-free by construction: ``OutcomeCollector`` drops every event after as_of, and the features
are read from states at T0. Standard errors come from the inverse Hessian of the penalised
negative log-likelihood (the Laplace approximation around the optimum).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar, cast

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from vitals.core import health as health_model
from vitals.core import risk as risk_model
from vitals.core.config import PurchaseModel, RiskConfig, ScoringConfig, TemperatureConfig
from vitals.core.decay import SECONDS_PER_DAY
from vitals.core.params import ScoringParams
from vitals.core.state import CustomerState
from vitals.core.temperature import (
    ADJUSTMENT_COEFFICIENTS,
    adjustment_features,
    base_probability,
    logit,
)
from vitals.core.usage import measure

# Fewer outcomes than this in the rarer class (e.g. 30 cancellations) and a 5-parameter logistic
# fit's standard errors are of the order of the weights themselves: keep the documented defaults.
MIN_EVENTS = 30
# A coefficient is learnt only from customers who show its signal; with fewer than this its
# estimate is mostly the prior anyway, so it is held at its current value and reported as such.
MIN_SIGNAL_CUSTOMERS = 10
# Prior precision around the current config: a standard deviation of 1 log-odds unit, so moving a
# weight by 1 takes the evidence of a few dozen customers, and quasi-separation (every customer
# who asked to cancel did cancel) gives a large finite coefficient instead of infinity.
DEFAULT_L2 = 1.0
OPTIMIZER_TOL = 1e-10
OPTIMIZER_MAXITER = 2000

# Purchase models the calibration compares on the window's repeat purchases.
PURCHASE_MODEL_CHOICES: tuple[PurchaseModel, ...] = ("mbgnbd_poisson", "mbgnbd", "bgnbd")

Model = Literal["temperature", "risk"]
_Section = TypeVar("_Section", TemperatureConfig, RiskConfig)


class OutcomeCollector:
    """The outcomes the stream showed in (t0, as_of]: feed every event, in any order.

    Events at or before t0 are the features' business and events after as_of are the future:
    both are ignored here (the latter counted in ``ignored_after_as_of``).
    """

    def __init__(self, t0: float, as_of: float) -> None:
        if not t0 < as_of:
            raise ValueError(f"the training cut t0={t0} must be before as_of={as_of}")
        self.t0, self.as_of = t0, as_of
        self.cancelled: dict[str, float] = {}  # customer -> first cancellation time in the window
        self.purchased: dict[str, float] = {}  # customer -> first purchase time in the window
        self.ignored_after_as_of = 0

    def add(self, customer_id: str, kind: str, name: str | None, ts: float) -> None:
        """One event (Unix seconds)."""
        if ts > self.as_of:
            self.ignored_after_as_of += 1
            return
        if ts <= self.t0:
            return
        if kind == "subscription" and name == "cancelled":
            self.cancelled[customer_id] = min(ts, self.cancelled.get(customer_id, ts))
        elif kind == "purchase":
            self.purchased[customer_id] = min(ts, self.purchased.get(customer_id, ts))


@dataclass(frozen=True, slots=True)
class Example:
    """One customer at T0 with what the stream showed next.

    ``paying``: 1 = still paying at as_of (subscribers: no cancellation in the window; purchase-only
    customers: bought again). ``offset`` = logit(p_base) of the model before any level shift;
    ``adjustments`` the temperature signals at weight 1; ``usage_terms`` risk's usage features
    (empty for a customer who never used the product).
    """

    customer_id: str
    kind: Literal["subscription", "purchases"]
    paying: int
    offset: float
    adjustments: dict[str, float]
    usage_terms: dict[str, float]


def examples(
    states: Iterable[CustomerState],
    t0: float,
    params: ScoringParams,
    config: ScoringConfig,
    outcomes: OutcomeCollector,
) -> list[Example]:
    """Labelled examples from customer states at ``t0``: active subscribers and purchase-only
    customers (the ones a label exists for; cancelled or billing-less customers are left out)."""
    out: list[Example] = []
    # The offset is the model's own level: the shifts are refitted as coefficients.
    unshifted = replace(
        config.temperature, subscription_log_odds_shift=0.0, purchase_log_odds_shift=0.0
    )
    for state in states:
        cid = state.customer_id
        if state.sub_status == "active":
            kind: Literal["subscription", "purchases"] = "subscription"
            paying = 0 if cid in outcomes.cancelled else 1
        elif state.sub_status == "none" and state.purchases > 0:
            kind, paying = "purchases", int(cid in outcomes.purchased)
        else:
            continue
        base = base_probability(state, t0, params.models, unshifted)
        if base is None:
            continue
        usage = measure(state, t0, config.health)
        health = health_model.value(usage, params.norms, config.health)
        # The usage terms only: the temperature term is recomputed from each candidate config.
        usage_terms = risk_model.features(50.0, health, usage)
        del usage_terms["from_temperature"]
        out.append(
            Example(
                customer_id=cid,
                kind=kind,
                paying=paying,
                offset=logit(base[0]),
                adjustments=adjustment_features(state, t0, config.temperature),
                usage_terms=usage_terms,
            )
        )
    return out


# --- logistic regression --------------------------------------------------------------------------


@dataclass(frozen=True)
class LogisticFit:
    """Coefficients (original scale), standard errors, unpenalised log-likelihood, convergence."""

    coef: NDArray[np.float64]
    se: NDArray[np.float64]
    loglik: float
    converged: bool
    message: str


def _log_likelihood(eta: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    # log σ(η) for y=1, log(1 − σ(η)) for y=0, without overflow: −log(1 + e^∓η).
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def fit_logistic(
    X: NDArray[np.float64],
    y: NDArray[np.float64],
    *,
    offset: NDArray[np.float64] | None = None,
    prior_mean: NDArray[np.float64] | None = None,
    l2: float = DEFAULT_L2,
    penalised: Sequence[bool] | None = None,
    bounds: Sequence[tuple[float | None, float | None]] | None = None,
) -> LogisticFit:
    """Maximise Σ log-likelihood(y | σ(offset + Xβ)) − l2/2·Σ_penalised (β − prior_mean)².

    ``X`` (n × k, include a column of ones for an intercept and leave it unpenalised), ``y`` in
    {0, 1}; ``bounds`` per coefficient as for scipy (None = open). Standard errors: square roots of
    the diagonal of the inverse penalised Hessian Xᵀ diag(p(1−p)) X + l2·I_penalised; ``inf`` with
    ``converged=False`` when it is singular.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, k = X.shape
    if y.shape != (n,):
        raise ValueError(f"y has shape {y.shape}, expected ({n},) to match X")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 or 1")
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    mean = np.zeros(k) if prior_mean is None else np.asarray(prior_mean, dtype=float)
    mask = np.ones(k) if penalised is None else np.asarray(penalised, dtype=float)
    lam = l2 * mask

    def objective(beta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        eta = off + X @ beta
        p = 1.0 / (1.0 + np.exp(-eta))
        diff = beta - mean
        value = -_log_likelihood(eta, y) + 0.5 * float(np.sum(lam * diff * diff))
        grad = X.T @ (p - y) + lam * diff
        return value, grad

    start = np.clip(
        mean,
        [lo if lo is not None else -np.inf for lo, _ in bounds] if bounds else -np.inf,
        [hi if hi is not None else np.inf for _, hi in bounds] if bounds else np.inf,
    )
    result = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": OPTIMIZER_MAXITER, "ftol": OPTIMIZER_TOL, "gtol": 1e-8},
    )
    beta = np.asarray(result.x, dtype=float)
    eta = off + X @ beta
    p = 1.0 / (1.0 + np.exp(-eta))
    hessian = (X * (p * (1.0 - p))[:, None]).T @ X + np.diag(lam)
    try:
        np.linalg.cholesky(hessian)
        se = np.sqrt(np.diag(np.linalg.inv(hessian)))
        positive_definite = True
    except np.linalg.LinAlgError:
        se, positive_definite = np.full(k, np.inf), False
    converged = bool(result.success) and positive_definite and bool(np.all(np.isfinite(beta)))
    return LogisticFit(beta, se, _log_likelihood(eta, y), converged, str(result.message))


# --- the two fits ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coefficient:
    """One config number: where it was, where the fit put it, and on what evidence."""

    name: str  # the config field
    previous: float
    value: float
    se: float | None  # None when held
    support: int  # customers showing the signal (all rows for the intercept)
    status: str  # "fitted", "at bound", or "held: <why>"


@dataclass(frozen=True)
class FitReport:
    model: Model
    n: int
    positives: int  # the modelled event: "not paying" for temperature, "cancelled" for risk
    applied: bool
    reason: str  # why not applied ("" when applied)
    coefficients: list[Coefficient] = field(default_factory=list)
    log_loss_before: float = math.nan  # mean, in-sample, with the previous config
    log_loss_after: float = math.nan

    def describe(self) -> str:
        head = (
            f"{self.model}: n={self.n}, {self.positives} "
            f"{'not paying' if self.model == 'temperature' else 'cancelled'}; "
        )
        if not self.applied:
            return head + f"kept the config ({self.reason})"
        lines = [
            head + f"log-loss {self.log_loss_before:.4f} -> {self.log_loss_after:.4f} (in-sample)"
        ]
        for c in self.coefficients:
            se = f"±{c.se:.3f}" if c.se is not None else "      "
            lines.append(
                f"  {c.name:<34} {c.previous:>7.3f} -> {c.value:>7.3f} {se:<8} "
                f"n={c.support:<6} {c.status}"
            )
        return "\n".join(lines)


def _kept(model: Model, n: int, positives: int, reason: str) -> FitReport:
    return FitReport(model, n, positives, False, reason)


def _class_guard(n: int, positives: int, min_events: int) -> str:
    rarer = min(positives, n - positives)
    if rarer < min_events:
        return (
            f"{rarer} outcomes in the rarer class < min_events={min_events}: "
            "replay a longer or larger stream"
        )
    return ""


def _fit_columns(
    model: Model,
    names: list[str],
    X: NDArray[np.float64],
    y: NDArray[np.float64],
    offset: NDArray[np.float64],
    previous: NDArray[np.float64],
    penalised: list[bool],  # False: an intercept (unpenalised, unbounded, never held)
    signed: list[bool],  # True: keeps the sign of its previous value (a signal's direction)
    l2: float,
    positives: int,
) -> tuple[FitReport, dict[str, float]]:
    """Fit the supported columns, hold the rest; returns the report and field -> new value."""
    support = [int(np.count_nonzero(X[:, j])) for j in range(X.shape[1])]
    held = [penalised[j] and support[j] < MIN_SIGNAL_CUSTOMERS for j in range(len(names))]
    fitted = [j for j in range(len(names)) if not held[j]]
    held_idx = [j for j in range(len(names)) if held[j]]
    n = len(y)
    if not fitted:
        return _kept(
            model, n, positives, f"no signal is shown by {MIN_SIGNAL_CUSTOMERS}+ customers"
        ), {}
    fixed_offset = offset + X[:, held_idx] @ previous[held_idx]
    bounds: list[tuple[float | None, float | None]] = []
    for j in fitted:
        if not signed[j] or previous[j] == 0:
            bounds.append((None, None))
        else:
            bounds.append((0.0, None) if previous[j] > 0 else (None, 0.0))
    result = fit_logistic(
        X[:, fitted],
        y,
        offset=fixed_offset,
        prior_mean=previous[fitted],
        l2=l2,
        penalised=[penalised[j] for j in fitted],
        bounds=bounds,
    )
    if not result.converged:
        return _kept(model, n, positives, f"the fit did not converge ({result.message})"), {}
    values = previous.copy()
    values[fitted] = result.coef
    coefficients = []
    for j, name in enumerate(names):
        if held[j]:
            status, se = f"held: signal on {support[j]} < {MIN_SIGNAL_CUSTOMERS} customers", None
        else:
            i = fitted.index(j)
            lo, hi = bounds[i]
            at_bound = (lo is not None and abs(values[j] - lo) < 1e-9) or (
                hi is not None and abs(values[j] - hi) < 1e-9
            )
            status, se = ("at bound (sign kept)" if at_bound else "fitted"), float(result.se[i])
        coefficients.append(
            Coefficient(name, float(previous[j]), float(values[j]), se, support[j], status)
        )
    report = FitReport(
        model,
        n,
        positives,
        True,
        "",
        coefficients,
        log_loss_before=-_log_likelihood(offset + X @ previous, y) / n,
        log_loss_after=-_log_likelihood(offset + X @ values, y) / n,
    )
    return report, {name: float(v) for name, v in zip(names, values, strict=True)}


SHIFT_FIELDS = {
    "subscription": "subscription_log_odds_shift",
    "purchases": "purchase_log_odds_shift",
}


def temperature_inputs(row: Example) -> dict[str, float]:
    """TemperatureConfig field -> its multiplier for ``row``: the adjustment signals, and 1 for
    the level shift of the row's model family."""
    out = {ADJUSTMENT_COEFFICIENTS[code]: x for code, x in row.adjustments.items()}
    for kind, name in SHIFT_FIELDS.items():
        out[name] = 1.0 if row.kind == kind else 0.0
    return out


TEMPERATURE_FIELDS = [*ADJUSTMENT_COEFFICIENTS.values(), *SHIFT_FIELDS.values()]


def fit_temperature(
    rows: Sequence[Example],
    config: ScoringConfig,
    *,
    min_events: int = MIN_EVENTS,
    l2: float = DEFAULT_L2,
) -> tuple[FitReport, dict[str, float]]:
    """Refit the adjustment coefficients and the two level shifts on all examples (label: still
    paying), offset logit(p_base). Returns the report and the new TemperatureConfig field values
    (empty when kept)."""
    n = len(rows)
    y = np.array([r.paying for r in rows], dtype=float)
    positives = int(n - y.sum())
    why = _class_guard(n, positives, min_events)
    if why:
        return _kept("temperature", n, positives, why), {}
    inputs = [temperature_inputs(r) for r in rows]
    X = np.array([[x.get(name, 0.0) for name in TEMPERATURE_FIELDS] for x in inputs], dtype=float)
    offset = np.array([r.offset for r in rows], dtype=float)
    previous = np.array(
        [getattr(config.temperature, name) for name in TEMPERATURE_FIELDS], dtype=float
    )
    return _fit_columns(
        "temperature",
        list(TEMPERATURE_FIELDS),
        X,
        y,
        offset,
        previous,
        [True] * len(TEMPERATURE_FIELDS),
        # Adjustments keep their direction; a level shift may go either way.
        [name not in SHIFT_FIELDS.values() for name in TEMPERATURE_FIELDS],
        l2,
        positives,
    )


def calibrated_log_odds(row: Example, temperature: dict[str, float]) -> float:
    """logit(P(paying)) of ``row`` under the TemperatureConfig field values ``temperature``."""
    return row.offset + sum(temperature[name] * x for name, x in temperature_inputs(row).items())


def fit_risk(
    rows: Sequence[Example],
    config: ScoringConfig,
    *,
    min_events: int = MIN_EVENTS,
    l2: float = DEFAULT_L2,
) -> tuple[FitReport, dict[str, float]]:
    """Refit the risk intercept and term weights on subscribers (label: cancelled in the window),
    with the temperature of ``config`` (pass the calibrated one). Returns report, field values."""
    subscribers = [r for r in rows if r.kind == "subscription"]
    n = len(subscribers)
    y = np.array([1 - r.paying for r in subscribers], dtype=float)
    positives = int(y.sum())
    why = _class_guard(n, positives, min_events)
    if why:
        return _kept("risk", n, positives, why), {}
    temperature = {name: getattr(config.temperature, name) for name in TEMPERATURE_FIELDS}
    terms = list(risk_model.TERM_WEIGHTS)
    names = ["intercept", *(risk_model.TERM_WEIGHTS[t] for t in terms)]
    X = np.zeros((n, len(names)))
    X[:, 0] = 1.0
    for i, r in enumerate(subscribers):
        p = 1.0 / (1.0 + math.exp(-calibrated_log_odds(r, temperature)))
        x = {"from_temperature": logit(1.0 - p), **r.usage_terms}
        X[i, 1:] = [x.get(t, 0.0) for t in terms]
    previous = np.array([getattr(config.risk, name) for name in names], dtype=float)
    return _fit_columns(
        "risk",
        names,
        X,
        y,
        np.zeros(n),
        previous,
        [False, *([True] * len(terms))],
        [False, *([True] * len(terms))],
        l2,
        positives,
    )


def _with(section: _Section, values: dict[str, float]) -> _Section:
    """``section`` with the fitted float fields replaced (field names checked by replace)."""
    return replace(section, **cast(dict[str, Any], values))


@dataclass(frozen=True)
class Calibration:
    """The calibrated config and how it was obtained (``describe()`` prints it)."""

    config: ScoringConfig
    temperature: FitReport
    risk: FitReport
    t0: float
    as_of: float
    n_examples: int
    # Purchase model -> in-sample log-loss of the temperature fit with it (the lowest is chosen).
    purchase_models: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        days = (self.as_of - self.t0) / SECONDS_PER_DAY
        lines = [
            f"calibration on {self.n_examples} customers: features at T0 = as_of - {days:g} d, "
            f"outcomes from the stream in (T0, as_of]; config {self.config.version}"
        ]
        if self.purchase_models:
            scores = ", ".join(f"{m} {v:.4f}" for m, v in self.purchase_models.items())
            lines.append(
                f"purchase model: {self.config.temperature.purchase_model} (log-loss {scores})"
            )
        return "\n".join([*lines, self.temperature.describe(), self.risk.describe()])


def calibrate(
    states: Iterable[CustomerState],
    t0: float,
    params: ScoringParams,
    config: ScoringConfig,
    outcomes: OutcomeCollector,
    *,
    min_events: int = MIN_EVENTS,
    l2: float = DEFAULT_L2,
    purchase_models: Sequence[PurchaseModel] = PURCHASE_MODEL_CHOICES,
) -> Calibration:
    """Fit temperature (for each of ``purchase_models``, keeping the one with the lowest log-loss),
    then risk's weights on the calibrated temperature.

    ``states`` are the customers as they were at ``t0`` (``params`` = what the scorer would have
    used then); ``outcomes`` must span (t0, as_of]. Only the fitted numbers (and the purchase model)
    change in the returned config (``dataclasses.replace``); its version says it is calibrated.
    """
    states = list(states)
    candidates = list(dict.fromkeys(purchase_models or [config.temperature.purchase_model]))
    fits: list[tuple[float, ScoringConfig, FitReport, list[Example]]] = []
    losses: dict[str, float] = {}
    for model in candidates:
        trial = replace(config, temperature=replace(config.temperature, purchase_model=model))
        rows = examples(states, t0, params, trial, outcomes)
        report, values = fit_temperature(rows, trial, min_events=min_events, l2=l2)
        if values:
            trial = replace(trial, temperature=_with(trial.temperature, values))
            losses[model] = report.log_loss_after
            fits.append((report.log_loss_after, trial, report, rows))
        elif model == config.temperature.purchase_model:
            fits.append((math.inf, config, report, rows))
    # The current model wins ties and every case where no fit was applied.
    fits.sort(
        key=lambda fit: (
            fit[0],
            fit[1].temperature.purchase_model != config.temperature.purchase_model,
        )
    )
    _, new, t_report, rows = (
        fits[0] if fits else (math.inf, config, _kept("temperature", 0, 0, "no fit"), [])
    )
    r_report, r_values = fit_risk(rows, new, min_events=min_events, l2=l2)
    if r_values:
        new = replace(new, risk=_with(new.risk, r_values))
    if new != config:
        digest = hashlib.sha256(repr((new.temperature, new.risk)).encode()).hexdigest()[:8]
        new = replace(new, version=f"{config.version}+cal-{digest}")
    return Calibration(
        new, t_report, r_report, t0, outcomes.as_of, len(rows), losses if len(losses) > 1 else {}
    )
