from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from core.conftest import EventFactory, at

from vitals.core import risk as risk_model
from vitals.core.config import DEFAULT_CONFIG, ScoringConfig
from vitals.core.fold import apply_event
from vitals.core.params import DEFAULT_PARAMS
from vitals.core.state import CustomerState
from vitals.core.temperature import evaluate as temperature_of
from vitals.core.usage import measure
from vitals.tools.backtest.calibration import (
    MIN_SIGNAL_CUSTOMERS,
    OutcomeCollector,
    calibrate,
    calibrated_log_odds,
    examples,
    fit_logistic,
)

CFG = DEFAULT_CONFIG
T0_DAY, AS_OF_DAY = 90.0, 180.0


def _simulate_logistic(
    rng: np.random.Generator, n: int, beta: np.ndarray, offset: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    X = np.column_stack([np.ones(n), rng.normal(size=(n, len(beta) - 1))])
    eta = X @ beta + (0.0 if offset is None else offset)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    return X, y


# --- the logistic fit -----------------------------------------------------------------------------


def test_logistic_fit_recovers_known_coefficients_within_standard_errors() -> None:
    rng = np.random.default_rng(11)
    beta = np.array([-1.0, 0.8, -0.5, 0.0])
    X, y = _simulate_logistic(rng, 20_000, beta)
    fit = fit_logistic(X, y, l2=1e-6)
    assert fit.converged
    assert np.all(np.abs(fit.coef - beta) < 3 * fit.se)
    assert np.all(fit.se < 0.05)  # 20,000 rows pin each coefficient to a few hundredths


def test_offset_is_added_not_fitted() -> None:
    rng = np.random.default_rng(12)
    offset = rng.normal(2.0, 1.5, 20_000)
    beta = np.array([0.0, -0.7])
    X, y = _simulate_logistic(rng, 20_000, beta, offset)
    with_offset = fit_logistic(X, y, offset=offset, l2=1e-6)
    assert np.all(np.abs(with_offset.coef - beta) < 3 * with_offset.se)
    without = fit_logistic(X, y, l2=1e-6)
    # Ignoring the offset puts its mean level into the intercept and attenuates the slope.
    assert without.coef[0] > 1.0
    assert abs(without.coef[1] - beta[1]) > 3 * without.se[1]


def test_l2_shrinks_toward_the_prior_mean_and_leaves_the_intercept_free() -> None:
    rng = np.random.default_rng(13)
    X, y = _simulate_logistic(rng, 200, np.array([1.0, 2.0]))
    fit = fit_logistic(X, y, prior_mean=np.array([0.0, -0.5]), l2=1e6, penalised=[False, True])
    assert fit.coef[1] == pytest.approx(-0.5, abs=1e-3)
    assert fit.coef[0] > 0.5  # the unpenalised intercept still follows the data


def test_bounds_keep_a_coefficient_on_its_side_of_zero() -> None:
    rng = np.random.default_rng(14)
    X, y = _simulate_logistic(rng, 5_000, np.array([0.0, 1.0]))
    fit = fit_logistic(X, y, bounds=[(None, None), (None, 0.0)])
    assert fit.coef[1] == pytest.approx(0.0, abs=1e-9)


def test_logistic_fit_refuses_labels_that_are_not_zero_or_one() -> None:
    with pytest.raises(ValueError, match="0 or 1"):
        fit_logistic(np.ones((3, 1)), np.array([0.0, 2.0, 1.0]))


# --- outcomes from the stream ---------------------------------------------------------------------


def test_outcomes_count_only_the_window_between_the_cut_and_as_of() -> None:
    outcomes = OutcomeCollector(at(T0_DAY), at(AS_OF_DAY))
    outcomes.add("before", "subscription", "cancelled", at(T0_DAY))  # at T0: a feature, not a label
    outcomes.add("inside", "subscription", "cancelled", at(100))
    outcomes.add("after", "subscription", "cancelled", at(AS_OF_DAY + 1))  # the future
    outcomes.add("buyer", "purchase", None, at(150))
    outcomes.add("asked", "subscription", "cancellation_requested", at(120))
    assert set(outcomes.cancelled) == {"inside"}
    assert set(outcomes.purchased) == {"buyer"}
    assert outcomes.ignored_after_as_of == 1


def test_outcome_window_must_be_non_empty() -> None:
    with pytest.raises(ValueError, match="before as_of"):
        OutcomeCollector(at(10), at(10))


# --- calibrate on folded customers ----------------------------------------------------------------


def _population(
    n: int,
    cancel_share_failed: float,
    cancel_share_ok: float,
    seed: int,
    with_usage: bool = False,
    cancel_day: float = 130.0,
) -> tuple[list[CustomerState], OutcomeCollector]:
    """``n`` monthly subscribers; half had a payment failure 10 days before T0. A share of each
    half cancels at ``cancel_day`` (the outcome); the states are taken at T0."""
    # Separate streams: adding usage must not change who cancels.
    rng, usage_rng = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    outcomes = OutcomeCollector(at(T0_DAY), at(AS_OF_DAY))
    states = []
    for i in range(n):
        make = EventFactory(f"c{i}")
        events = [make.subscription(0, "started", amount=50.0)]
        events += [make.subscription(30.0 * k, "renewed", amount=50.0) for k in (1, 2)]
        failed = i % 2 == 0
        if failed:
            events.append(make.subscription(80, "payment_failed"))
        if with_usage:
            events += [make.usage(day) for day in range(0, 90, int(usage_rng.integers(1, 9)))]
        state = CustomerState(f"c{i}")
        for event in sorted(events, key=lambda e: e.ts):
            apply_event(state, event, CFG)
        states.append(state)
        if rng.random() < (cancel_share_failed if failed else cancel_share_ok):
            outcomes.add(f"c{i}", "subscription", "cancelled", at(cancel_day))
    return states, outcomes


def test_calibration_learns_a_stronger_payment_failure_effect_and_fits_risk() -> None:
    states, outcomes = _population(400, 0.6, 0.1, seed=1)
    result = calibrate(states, at(T0_DAY), DEFAULT_PARAMS, CFG, outcomes, purchase_models=())
    temperature = {c.name: c for c in result.temperature.coefficients}
    assert result.temperature.applied and result.risk.applied
    # True effect: logit(0.4) - logit(0.9) ≈ -2.6 log-odds on a signal of ~0.72 (10 days decayed).
    assert result.config.temperature.payment_failure_log_odds < -2.0
    assert temperature["payment_failure_log_odds"].status == "fitted"
    assert temperature["promoter_log_odds"].status.startswith("held")  # nobody answered NPS
    assert result.config.temperature.promoter_log_odds == CFG.temperature.promoter_log_odds
    # Nobody used the product: the usage weights have no support and stay put.
    risk = {c.name: c for c in result.risk.coefficients}
    assert risk["weight_usage"].status.startswith("held")
    assert result.config.risk.weight_usage == CFG.risk.weight_usage
    assert result.risk.log_loss_after < result.risk.log_loss_before
    assert result.config.version.startswith(CFG.version + "+cal-")
    assert "payment_failure_log_odds" in result.describe()


def test_the_fitted_model_is_the_scoring_model() -> None:
    # The fit's features times the fitted coefficients give exactly the score the core computes.
    states, outcomes = _population(200, 0.6, 0.1, seed=2)
    result = calibrate(states, at(T0_DAY), DEFAULT_PARAMS, CFG, outcomes, purchase_models=())
    config = result.config
    rows = {
        r.customer_id: r for r in examples(states, at(T0_DAY), DEFAULT_PARAMS, config, outcomes)
    }
    values = {name: getattr(config.temperature, name) for name in _temperature_fields()}
    for state in states[:6]:
        scored = temperature_of(
            state, at(T0_DAY), DEFAULT_PARAMS.models, config.temperature, config.bands
        )
        expected = 1.0 / (1.0 + np.exp(-calibrated_log_odds(rows[state.customer_id], values)))
        assert scored.raw == pytest.approx(100 * expected, rel=1e-9)
        assert scored.value == round(scored.raw, 2)
        usage = measure(state, at(T0_DAY), config.health)
        risk = risk_model.value(scored.value, None, usage, config.risk)
        assert 0 < risk < 100


def _temperature_fields() -> list[str]:
    from vitals.tools.backtest.calibration import TEMPERATURE_FIELDS

    return list(TEMPERATURE_FIELDS)


def test_temperature_does_not_learn_from_usage() -> None:
    plain, outcomes = _population(300, 0.6, 0.1, seed=3)
    used, same_outcomes = _population(300, 0.6, 0.1, seed=3, with_usage=True)
    assert outcomes.cancelled == same_outcomes.cancelled
    a = calibrate(plain, at(T0_DAY), DEFAULT_PARAMS, CFG, outcomes, purchase_models=())
    b = calibrate(used, at(T0_DAY), DEFAULT_PARAMS, CFG, same_outcomes, purchase_models=())
    assert a.config.temperature == b.config.temperature
    assert a.config.risk != b.config.risk  # risk may (and here does) use the usage terms


def test_too_few_cancellations_keep_the_config_and_say_why() -> None:
    states, outcomes = _population(100, 0.1, 0.05, seed=4)
    assert len(outcomes.cancelled) < 30
    result = calibrate(states, at(T0_DAY), DEFAULT_PARAMS, CFG, outcomes)
    assert not result.temperature.applied and not result.risk.applied
    assert "min_events=30" in result.risk.reason
    assert result.config == CFG
    assert "kept the config" in result.describe()


def test_a_signal_on_too_few_customers_is_held() -> None:
    states, outcomes = _population(400, 0.6, 0.1, seed=5)
    # Only a handful of customers keep their payment failure: the rest are rebuilt without it.
    few = [
        s if int(s.customer_id[1:]) < 2 * (MIN_SIGNAL_CUSTOMERS - 1) else _without_failure(s)
        for s in states
    ]
    result = calibrate(few, at(T0_DAY), DEFAULT_PARAMS, CFG, outcomes, purchase_models=())
    coefficient = {c.name: c for c in result.temperature.coefficients}["payment_failure_log_odds"]
    assert coefficient.support == MIN_SIGNAL_CUSTOMERS - 1
    assert coefficient.status.startswith("held")
    assert (
        result.config.temperature.payment_failure_log_odds
        == CFG.temperature.payment_failure_log_odds
    )


def _without_failure(state: CustomerState) -> CustomerState:
    copy = CustomerState.from_bytes(state.to_bytes())
    copy.payment_failures = 0.0
    return copy


def test_calibration_never_moves_a_coefficient_across_zero() -> None:
    # Failed payers cancel LESS here: the fit may not turn a payment failure into a good sign.
    states, outcomes = _population(400, 0.05, 0.4, seed=6)
    result = calibrate(states, at(T0_DAY), DEFAULT_PARAMS, CFG, outcomes, purchase_models=())
    assert result.config.temperature.payment_failure_log_odds == pytest.approx(0.0, abs=1e-9)
    assert result.config.risk.weight_billing >= 0


def test_purchase_model_is_chosen_by_the_windows_repeat_purchases() -> None:
    # One-time buyers of long ago never come back: MBG/NBD (dropout at time 0) and the expected
    # purchases both beat BG/NBD, which keeps a one-time buyer's P(alive) at 1.
    states: list[CustomerState] = []
    outcomes = OutcomeCollector(at(T0_DAY), at(AS_OF_DAY))
    rng = np.random.default_rng(7)
    for i in range(300):
        make = EventFactory(f"b{i}")
        state = CustomerState(f"b{i}")
        frequent = i % 3 == 0
        days = [5.0, 30.0, 55.0, 80.0] if frequent else [float(rng.uniform(0, 20))]
        for day in days:
            apply_event(state, make.purchase(day, amount=20.0), CFG)
        states.append(state)
        if frequent and rng.random() < 0.9:
            outcomes.add(f"b{i}", "purchase", None, at(120))
    config: ScoringConfig = replace(
        CFG, temperature=replace(CFG.temperature, purchase_model="bgnbd")
    )
    result = calibrate(states, at(T0_DAY), DEFAULT_PARAMS, config, outcomes)
    assert set(result.purchase_models) == {"mbgnbd_poisson", "mbgnbd", "bgnbd"}
    assert result.config.temperature.purchase_model != "bgnbd"
    assert result.purchase_models["bgnbd"] > min(result.purchase_models.values())
    assert "purchase model:" in result.describe()
