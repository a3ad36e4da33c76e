from __future__ import annotations

import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter

from vitals.core import clv
from vitals.core.models import sbg
from vitals.core.models.bgnbd import BGParams
from vitals.core.models.gammagamma import GGParams

BG_DAYS = BGParams(r=0.243, alpha=30.898, a=0.793, b=2.426)
GG = GGParams(p=6.25, q=3.74, v=15.44)
CUSTOMERS = [  # (x, t_x, T, monetary) in days
    (0, 0.0, 120.0, 0.0),
    (2, 213.0, 272.0, 22.35),
    (7, 300.0, 320.0, 80.0),
    (1, 10.0, 400.0, 11.77),
]


@pytest.mark.parametrize(
    "model, cls", [("bgnbd", BetaGeoFitter), ("mbgnbd", ModifiedBetaGeoFitter)]
)
def test_clv_purchases_matches_lifetimes_customer_lifetime_value(model: str, cls: type) -> None:
    # lifetimes: `time` months of 30 days, discounted monthly at (1+m)^k. Our annual rate
    # (1+m)^(365.25/30) − 1 with 30-day steps is the same cash-flow discounting.
    months, monthly_rate = 12, 0.01
    annual = (1 + monthly_rate) ** (clv.DAYS_PER_YEAR / 30.0) - 1
    transactions = cls()
    transactions.params_ = pd.Series(BG_DAYS._asdict())
    # fit() normally sets this alias; we set parameters directly instead of fitting.
    transactions.predict = transactions.conditional_expected_number_of_purchases_up_to_time
    spend = GammaGammaFitter()
    spend.params_ = pd.Series(GG._asdict())
    frame = pd.DataFrame(CUSTOMERS, columns=["x", "t_x", "T", "m"])
    theirs = spend.customer_lifetime_value(
        transactions,
        frame["x"],
        frame["t_x"],
        frame["T"],
        frame["m"],
        time=months,
        discount_rate=monthly_rate,
        freq="D",
    )
    for (x, t_x, T, m), expected in zip(CUSTOMERS, theirs, strict=True):
        ours = clv.clv_purchases(
            x,
            t_x,
            T,
            x,
            m,
            BG_DAYS,
            GG,
            model=model,  # type: ignore[arg-type]
            horizon_days=30.0 * months,
            step_days=30.0,
            annual_discount=annual,
        )
        assert ours.value == pytest.approx(expected, rel=1e-6)


def test_clv_purchases_result_does_not_depend_on_the_step_when_undiscounted() -> None:
    monthly = clv.clv_purchases(2, 213.0, 272.0, 2, 22.35, BG_DAYS, GG, annual_discount=0.0)
    daily = clv.clv_purchases(
        2, 213.0, 272.0, 2, 22.35, BG_DAYS, GG, annual_discount=0.0, step_days=1.0
    )
    assert daily.value == pytest.approx(monthly.value, rel=1e-12)
    assert monthly.components["discounted_purchases"] == pytest.approx(
        monthly.components["expected_purchases"]
    )


def test_clv_purchases_shows_its_components() -> None:
    estimate = clv.clv_purchases(2, 213.0, 272.0, 2, 22.35, BG_DAYS, GG, horizon_days=400.0)
    parts = estimate.components
    assert parts["horizon_days"] == 400.0
    assert 0 < parts["discounted_purchases"] < parts["expected_purchases"]
    assert estimate.value == pytest.approx(
        parts["expected_spend_per_purchase"] * parts["discounted_purchases"]
    )


def test_clv_subscription_counts_the_renewals_due_within_the_horizon() -> None:
    alpha, beta = 0.704, 1.182
    estimate = clv.clv_subscription(100.0, 3, alpha, beta, period_days=365.25, annual_discount=0.1)
    # A yearly period pays 12 × MRR and is discounted at exactly the annual rate; within the
    # default 365-day horizon exactly one renewal is due.
    assert estimate.components["payment_per_period"] == pytest.approx(1200.0)
    assert estimate.components["period_discount"] == pytest.approx(0.1)
    p_next = (beta + 3) / (alpha + beta + 3)
    assert estimate.value == pytest.approx(1200.0 * p_next)
    assert estimate.components["p_renew_next"] == pytest.approx(p_next)


def test_clv_subscription_over_a_long_horizon_is_payment_times_derl() -> None:
    alpha, beta = 0.704, 1.182
    estimate = clv.clv_subscription(
        100.0, 3, alpha, beta, period_days=365.25, annual_discount=0.1, horizon_days=365.25 * 400
    )
    derl = sbg.expected_remaining_lifetime(3, alpha, beta, 0.1)
    assert estimate.value == pytest.approx(1200.0 * derl, rel=1e-6)


def test_clv_subscription_grows_with_tenure_under_heterogeneous_churn() -> None:
    new = clv.clv_subscription(50.0, 0, 0.704, 1.182, period_days=30.4375)
    loyal = clv.clv_subscription(50.0, 24, 0.704, 1.182, period_days=30.4375)
    assert loyal.value > new.value > 0


def test_clv_subscription_rejects_zero_discount() -> None:
    with pytest.raises(ValueError, match="annual_discount"):
        clv.clv_subscription(50.0, 0, 0.704, 1.182, period_days=30.0, annual_discount=0.0)
