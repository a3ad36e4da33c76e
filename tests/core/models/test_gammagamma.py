from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lifetimes import GammaGammaFitter

from vitals.core.models import gammagamma

CDNOW = (6.25, 3.74, 15.44)  # lifetimes' CDNOW example
PARAM_SETS = [CDNOW, (2.0, 1.5, 100.0), (12.0, 8.0, 3.0)]


def _fitter(params: tuple[float, float, float]) -> GammaGammaFitter:
    fitter = GammaGammaFitter()
    fitter.params_ = pd.Series(dict(zip(("p", "q", "v"), params, strict=True)))
    return fitter


@pytest.mark.parametrize("params", PARAM_SETS)
def test_conditional_expected_average_profit_matches_lifetimes(
    params: tuple[float, float, float],
) -> None:
    fitter = _fitter(params)
    for frequency in (1, 2, 5, 30, 200):
        for monetary in (0.5, 12.0, 35.0, 480.0):
            theirs = float(fitter.conditional_expected_average_profit(frequency, monetary))
            ours = gammagamma.conditional_expected_average_profit(frequency, monetary, *params)
            assert abs(ours - theirs) <= 1e-6 * max(1.0, abs(theirs))


def test_loglik_matches_lifetimes_negative_log_likelihood() -> None:
    rng = np.random.default_rng(3)
    frequency = rng.integers(1, 20, 300).astype(float)
    monetary = rng.gamma(2.0, 20.0, 300)
    for params in PARAM_SETS:
        theirs = GammaGammaFitter._negative_log_likelihood(
            np.log(params), frequency, monetary, np.ones_like(frequency), 0.0
        )
        ours = -float(np.mean(gammagamma.loglik(params, frequency, monetary)))
        assert ours == pytest.approx(theirs, rel=1e-10)


def test_customer_without_repeat_purchases_gets_population_mean() -> None:
    p, q, v = CDNOW
    assert gammagamma.conditional_expected_average_profit(0, 999.0, *CDNOW) == pytest.approx(
        p * v / (q - 1)
    )


def test_population_mean_rejects_q_at_most_one() -> None:
    with pytest.raises(ValueError, match="q <= 1"):
        gammagamma.population_mean_spend(2.0, 1.0, 10.0)


@given(
    frequency=st.integers(1, 1000),
    monetary=st.floats(0.01, 1e5),
    p=st.floats(0.1, 50.0),
    q=st.floats(1.01, 50.0),
    v=st.floats(0.1, 1e4),
)
def test_expected_spend_lies_between_observed_mean_and_population_mean(
    frequency: int, monetary: float, p: float, q: float, v: float
) -> None:
    mean = gammagamma.population_mean_spend(p, q, v)
    value = gammagamma.conditional_expected_average_profit(frequency, monetary, p, q, v)
    slack = 1e-9 * max(mean, monetary)
    assert min(mean, monetary) - slack <= value <= max(mean, monetary) + slack
    more = gammagamma.conditional_expected_average_profit(frequency + 1, monetary, p, q, v)
    # More transactions move the estimate towards the customer's own mean.
    assert abs(more - monetary) <= abs(value - monetary) + slack
