"""Unit-price buckets and the thresholds the population fits (groups.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vitals.growth.groups import fit_thresholds, fitted_thresholds, price_bucket

BUCKETS = [0.0] + [step * 10.0**exp for exp in range(-0, 9) for step in (1.0, 2.0, 5.0)]


@pytest.mark.parametrize(
    ("price", "bucket"),
    [
        (0.5, 0.0),
        (1.0, 1.0),
        (1.99, 1.0),
        (2.0, 2.0),
        (4.99, 2.0),
        (5.0, 5.0),
        (9.99, 5.0),
        (10.0, 10.0),
        (99.99, 50.0),
        (100.0, 100.0),
        (1000.0, 1000.0),
        (999.99, 500.0),
        (1e6, 1e6),
    ],
)
def test_a_price_falls_in_its_1_2_5_bucket(price: float, bucket: float) -> None:
    assert price_bucket(price) == bucket


@given(st.floats(min_value=0.0, max_value=1e8, allow_nan=False))
def test_the_bucket_is_the_largest_bound_at_or_under_the_price(price: float) -> None:
    assert price_bucket(price) == max(b for b in BUCKETS if b <= price)


@given(
    st.lists(st.tuples(st.integers(1, 30), st.floats(1.0, 10_000.0, allow_nan=False)), min_size=1),
    st.floats(0.01, 0.99),
)
def test_histogram_quantiles_are_the_exact_ones_bucketed(
    buyers: list[tuple[int, float]], quantile: float
) -> None:
    customers = [(orders, orders * price) for orders, price in buyers]
    prices: dict[float, int] = {}
    orders: dict[int, int] = {}
    for count, spend in customers:
        bucket = price_bucket(spend / count)
        prices[bucket] = prices.get(bucket, 0) + 1
        orders[count] = orders.get(count, 0) + 1
    exact = fit_thresholds(customers, quantile)
    assert exact is not None
    assert fitted_thresholds(prices, orders, quantile) == (
        price_bucket(exact[0]),
        int(exact[1]),
        len(buyers),
    )


def test_no_buyers_fit_nothing() -> None:
    assert fitted_thresholds({}, {}, 0.5) is None
