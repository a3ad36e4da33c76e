from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vitals.core.models import sbg

REGULAR = (0.704, 1.182)  # Fader & Hardie (2007), "regular" segment


def test_survival_with_uniform_churn_probability_is_one_over_t_plus_one() -> None:
    # θ ~ Beta(1, 1): S(t) = E[(1−θ)^t] = 1/(t+1).
    for t in range(0, 20):
        assert sbg.survival(t, 1.0, 1.0) == pytest.approx(1.0 / (t + 1), rel=1e-12)


def test_p_renew_after_n_renewals_is_the_conditional_survival_of_the_next_one() -> None:
    for n in range(0, 15):
        expected = sbg.survival(n + 1, *REGULAR) / sbg.survival(n, *REGULAR)
        assert sbg.p_renew(n, *REGULAR) == pytest.approx(expected, rel=1e-12)
    # The paper's first retention rate r_1 = β/(α+β): probability of making the first renewal.
    assert sbg.p_renew(0, *REGULAR) == pytest.approx(1.182 / (0.704 + 1.182))


def test_projected_survivors_match_fader_hardie_2007_regular_segment() -> None:
    # Survivors per 1,000 in years 1-7 of the paper's regular segment (the calibration data):
    # the fitted curve stays within a few customers of them.
    observed = [631, 468, 382, 326, 289, 262, 241]
    for t, survivors in enumerate(observed, start=1):
        assert 1000 * sbg.survival(t, *REGULAR) == pytest.approx(survivors, abs=12)


def test_p_survive_horizon_is_product_of_renewal_probabilities() -> None:
    n, k = 3, 5
    product = math.prod(sbg.p_renew(n + j, *REGULAR) for j in range(k))
    assert sbg.p_survive_horizon(n, k, *REGULAR) == pytest.approx(product, rel=1e-12)
    assert sbg.p_survive_horizon(n, 0, *REGULAR) == 1.0


@pytest.mark.parametrize("n", [0, 1, 4, 30])
@pytest.mark.parametrize("discount", [0.01, 0.1, 0.5])
@pytest.mark.parametrize("params", [REGULAR, (0.668, 3.806), (2.0, 0.5)])
def test_derl_closed_form_matches_truncated_sum(
    n: int, discount: float, params: tuple[float, float]
) -> None:
    # Terms are below p_survive · 1e-16 once (1+d)^−(k−1) is: stop there.
    last = int(math.log(1e16) / math.log1p(discount)) + 2
    truncated = sum(
        sbg.p_survive_horizon(n, k, *params) * math.exp(-(k - 1) * math.log1p(discount))
        for k in range(1, last)
    )
    assert sbg.expected_remaining_lifetime(n, *params, discount) == pytest.approx(
        truncated, rel=1e-8
    )


def test_derl_of_homogeneous_cohort_is_geometric() -> None:
    # Nearly all customers share θ ≈ 0.2 (huge α, β): DERL → (1−θ)/(1 − (1−θ)/(1+d)).
    alpha, beta, d = 2e5, 8e5, 0.1
    keep = 0.8
    assert sbg.expected_remaining_lifetime(0, alpha, beta, d) == pytest.approx(
        keep / (1.0 - keep / (1.0 + d)), rel=1e-4
    )


def test_derl_rejects_non_positive_discount() -> None:
    with pytest.raises(ValueError, match="discount"):
        sbg.expected_remaining_lifetime(2, *REGULAR, 0.0)


def test_individual_loglik_equals_cohort_loglik_for_one_cohort() -> None:
    survivors = [1000, 631, 468, 382, 326, 289, 262, 241]
    lost = -np.diff(survivors)
    cohort = sbg.loglik(REGULAR, lost, survivors[-1])
    renewals = np.concatenate(
        [np.full(count, t) for t, count in enumerate(lost)] + [np.full(survivors[-1], 7)]
    )
    active = np.concatenate([np.zeros(int(lost.sum()), bool), np.ones(survivors[-1], bool)])
    individual = float(np.sum(sbg.loglik_individual(REGULAR, renewals, active)))
    assert individual == pytest.approx(cohort, rel=1e-12)


def test_cohort_loglik_matches_fader_hardie_2007_reported_value() -> None:
    # The paper's spreadsheet reports LL = −1680.3 for the regular segment at the MLE.
    survivors = [1000, 631, 468, 382, 326, 289, 262, 241]
    assert sbg.loglik(REGULAR, -np.diff(survivors), survivors[-1]) == pytest.approx(
        -1680.3, abs=0.1
    )


params_st = st.floats(0.05, 50.0)


@given(alpha=params_st, beta=params_st, n=st.integers(0, 500), k=st.integers(1, 100))
def test_retention_rises_with_tenure_and_survival_falls_with_horizon(
    alpha: float, beta: float, n: int, k: int
) -> None:
    assert 0.0 < sbg.p_renew(n, alpha, beta) <= sbg.p_renew(n + 1, alpha, beta) < 1.0
    assert 0.0 <= sbg.survival(n + k, alpha, beta) <= sbg.survival(n, alpha, beta) <= 1.0
    assert 0.0 <= sbg.p_survive_horizon(n, k, alpha, beta) <= 1.0
