from __future__ import annotations

from pathlib import Path

import lifetimes
import numpy as np
import pandas as pd
import pytest

from vitals.core.models import fitting
from vitals.core.models.fitting import FitResult

from ..simulators import sbg_survivor_curve, simulate_bg, simulate_gammagamma, simulate_sbg

DATASETS = Path(lifetimes.__file__).parent / "datasets"
# Recovery must land within this many of the fitter's own standard errors.
MAX_SE_DISTANCE = 3.0


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(DATASETS / "cdnow_customers_summary.csv")


def _assert_recovers(result: FitResult, truth: dict[str, float]) -> None:
    assert result.converged, result.message
    for name, true_value in truth.items():
        estimate, se = result.params[name], result.standard_errors[name]
        assert 0 < se < abs(true_value), (name, se)  # a useful, finite standard error
        assert abs(estimate - true_value) <= MAX_SE_DISTANCE * se, (name, estimate, true_value, se)


def test_bgnbd_fit_reproduces_fader_hardie_lee_cdnow_estimates(cdnow: pd.DataFrame) -> None:
    # Paper, §5 (time in weeks): r=0.243, α=4.414, a=0.793, b=2.426, LL=−9582.4.
    result = fitting.fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert result.params[name] == pytest.approx(value, rel=2e-3), name
    assert result.loglik == pytest.approx(-9582.4, abs=0.1)
    assert result.n == len(cdnow)


def test_bgnbd_standard_errors_match_lifetimes_autograd_hessian(cdnow: pd.DataFrame) -> None:
    theirs = lifetimes.BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    ours = fitting.fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    for name in ("r", "alpha", "a", "b"):
        assert ours.standard_errors[name] == pytest.approx(theirs.standard_errors_[name], rel=1e-2)


def test_bgnbd_fit_in_days_scales_alpha_by_seven(cdnow: pd.DataFrame) -> None:
    weeks = fitting.fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    days = fitting.fit_bgnbd(cdnow["frequency"], 7 * cdnow["recency"], 7 * cdnow["T"])
    assert days.params["alpha"] == pytest.approx(7 * weeks.params["alpha"], rel=1e-3)
    assert days.params["r"] == pytest.approx(weeks.params["r"], rel=1e-3)


def test_gammagamma_fit_reproduces_lifetimes_cdnow_example() -> None:
    data = pd.read_csv(DATASETS / "cdnow_customers_summary_with_transactions.csv")
    returning = data[data["x"] > 0]
    result = fitting.fit_gammagamma(returning["x"], returning["zbar"])
    for name, value in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert result.params[name] == pytest.approx(value, rel=2e-3), name


@pytest.mark.parametrize(
    "survivors, published",
    [
        ([1000, 631, 468, 382, 326, 289, 262, 241], {"alpha": 0.704, "beta": 1.182}),
        ([1000, 869, 743, 653, 593, 551, 517, 491], {"alpha": 0.668, "beta": 3.806}),
    ],
    ids=["regular", "high-end"],
)
def test_sbg_fit_reproduces_fader_hardie_2007_segments(
    survivors: list[int], published: dict[str, float]
) -> None:
    result = fitting.fit_sbg_survivors([survivors])
    for name, value in published.items():
        assert result.params[name] == pytest.approx(value, abs=1e-3), name


def test_bgnbd_fit_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(20050101)
    truth = {"r": 0.5, "alpha": 20.0, "a": 0.8, "b": 3.0}
    T = rng.uniform(90.0, 730.0, 3000)
    x, t_x = simulate_bg(rng, T, *truth.values())
    _assert_recovers(fitting.fit_bgnbd(x, t_x, T), truth)


def test_mbgnbd_fit_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(20070301)
    truth = {"r": 0.7, "alpha": 25.0, "a": 1.5, "b": 6.0}
    T = rng.uniform(90.0, 730.0, 3000)
    x, t_x = simulate_bg(rng, T, *truth.values(), dropout_at_zero=True)
    _assert_recovers(fitting.fit_mbgnbd(x, t_x, T), truth)


def test_sbg_individual_fit_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(2007)
    truth = {"alpha": 0.8, "beta": 2.5}
    # Customers who joined over the last two years of monthly billing: 0..24 renewal opportunities.
    horizon = rng.integers(0, 25, 3000)
    renewals, active = simulate_sbg(rng, horizon, *truth.values())
    _assert_recovers(fitting.fit_sbg_individual(renewals, active), truth)


def test_sbg_survivor_fit_recovers_simulated_parameters_from_several_cohorts() -> None:
    rng = np.random.default_rng(2010)
    truth = {"alpha": 1.2, "beta": 4.0}
    cohorts = [sbg_survivor_curve(rng, 1000, periods, *truth.values()) for periods in (4, 8, 12)]
    _assert_recovers(fitting.fit_sbg_survivors(cohorts), truth)


def test_gammagamma_fit_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(20050401)
    truth = {"p": 6.0, "q": 4.0, "v": 15.0}
    frequency = rng.integers(1, 15, 3000).astype(float)
    monetary = simulate_gammagamma(rng, frequency, *truth.values())
    _assert_recovers(fitting.fit_gammagamma(frequency, monetary), truth)


def test_fit_rejects_too_few_customers_with_not_enough_data() -> None:
    with pytest.raises(fitting.NotEnoughData, match="customers"):
        fitting.fit_bgnbd([1, 2, 0], [3.0, 4.0, 0.0], [10.0, 10.0, 10.0])


def test_fit_rejects_population_without_repeat_buyers() -> None:
    n = 500
    with pytest.raises(fitting.NotEnoughData, match="repeat buyers"):
        fitting.fit_bgnbd(np.zeros(n), np.zeros(n), np.full(n, 100.0))


def test_fit_rejects_recency_after_age_with_invalid_data() -> None:
    n = 200
    with pytest.raises(fitting.InvalidData, match="t_x <= T"):
        fitting.fit_mbgnbd(np.ones(n), np.full(n, 50.0), np.full(n, 40.0))


def test_sbg_fit_rejects_increasing_survivor_counts() -> None:
    with pytest.raises(fitting.InvalidData, match="non-increasing"):
        fitting.fit_sbg_survivors([[100, 80, 90]])


def test_sbg_fit_rejects_cohort_without_churn() -> None:
    with pytest.raises(fitting.NotEnoughData, match="cancellations"):
        fitting.fit_sbg_individual(np.full(200, 3), np.ones(200, bool))


def test_gammagamma_fit_rejects_zero_spend() -> None:
    with pytest.raises(fitting.InvalidData, match="monetary_value > 0"):
        fitting.fit_gammagamma(np.ones(100), np.zeros(100))


def test_sbg_standard_errors_are_calibrated_over_repeated_simulations() -> None:
    # If the reported SE is right, (estimate − truth)/SE is ~N(0, 1) across data sets.
    rng = np.random.default_rng(42)
    truth = (0.8, 2.5)
    z_scores = []
    for _ in range(40):
        renewals, active = simulate_sbg(rng, rng.integers(0, 13, 800), *truth)
        result = fitting.fit_sbg_individual(renewals, active)
        z_scores.append(
            [
                (v - t) / s
                for v, t, s in zip(
                    result.values(), truth, result.standard_errors.values(), strict=True
                )
            ]
        )
    spread = np.std(np.asarray(z_scores), axis=0)
    assert np.all((spread > 0.7) & (spread < 1.4)), spread


def test_unidentified_sbg_fit_reports_standard_errors_larger_than_the_estimates() -> None:
    # Everyone observed for exactly one renewal: only α/(α+β) is identified, not α and β.
    rng = np.random.default_rng(1)
    renewals, active = simulate_sbg(rng, np.ones(2000, np.int64), 1.0, 2.0)
    result = fitting.fit_sbg_individual(renewals, active)
    assert result.max_relative_se() > 1.0
