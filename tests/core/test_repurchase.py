from __future__ import annotations

import pytest

from vitals.core.config import DEFAULT_CONFIG, RepurchaseConfig
from vitals.core.fold import apply_event
from vitals.core.repurchase import crossing_time, evaluate
from vitals.core.state import CustomerState

from .conftest import DAY, EventFactory, at

CFG = DEFAULT_CONFIG.repurchase


def bought_on(make: EventFactory, days: list[float]) -> CustomerState:
    state = CustomerState("acme")
    for day in days:
        assert apply_event(state, make.purchase(day), DEFAULT_CONFIG) == "applied"
    return state


def test_one_purchase_has_no_ratio(make: EventFactory) -> None:
    result = evaluate(bought_on(make, [10]), at(20), CFG)
    assert (result.ratio, result.status) == (None, "n/a")
    assert result.days_since_last == pytest.approx(10.0)


def test_never_bought_has_nothing(make: EventFactory) -> None:
    result = evaluate(CustomerState("acme"), at(20), CFG)
    assert (result.ratio, result.status, result.days_since_last) == (None, "n/a", None)


@pytest.mark.parametrize(
    ("days", "mean_interval"),
    [
        ([0, 10], 10.0),  # 2 purchases: one interval
        ([0, 10, 30], 15.0),  # 3 purchases: mean of 10 and 20
        ([0, 10, 30, 60], 20.0),  # 4 purchases: mean of 10, 20, 30
        ([-500, 0, 10, 30, 60], 20.0),  # 5: only the last 3 intervals count
    ],
)
def test_ratio_is_days_since_last_over_mean_of_last_intervals(
    make: EventFactory, days: list[float], mean_interval: float
) -> None:
    state = bought_on(make, days)
    result = evaluate(state, at(days[-1] + 25), CFG)
    assert result.mean_interval_days == pytest.approx(mean_interval)
    assert result.ratio == pytest.approx(25.0 / mean_interval)
    assert result.days_since_last == pytest.approx(25.0)


def test_status_thresholds_overdue_and_lapsed(make: EventFactory) -> None:
    state = bought_on(make, [0, 10])  # mean interval 10 days
    assert evaluate(state, at(10 + 14.9), CFG).status == "ok"
    assert evaluate(state, at(10 + 15.0), CFG).status == "overdue"  # ρ = 1.5
    assert evaluate(state, at(10 + 29.9), CFG).status == "overdue"
    assert evaluate(state, at(10 + 30.0), CFG).status == "lapsed"  # ρ = 3
    strict = RepurchaseConfig(overdue_ratio=1.1, lapsed_ratio=2.0)
    assert evaluate(state, at(10 + 12), strict).status == "overdue"
    assert evaluate(state, at(10 + 20), strict).status == "lapsed"


def test_crossing_time_is_last_plus_ratio_times_mean_interval(make: EventFactory) -> None:
    state = bought_on(make, [0, 10, 30, 60])  # mean 20 days
    when = crossing_time(state, CFG.overdue_ratio)
    assert when == pytest.approx(at(60) + 1.5 * 20 * DAY)
    assert when is not None
    assert evaluate(state, when, CFG).ratio == pytest.approx(CFG.overdue_ratio)
    assert evaluate(state, when, CFG).status == "overdue"
    assert crossing_time(bought_on(EventFactory(), [5]), 1.5) is None


def test_purchases_at_the_same_instant_give_no_ratio(make: EventFactory) -> None:
    state = bought_on(make, [5, 5])
    assert evaluate(state, at(10), CFG).status == "n/a"
    assert crossing_time(state, 1.5) is None


def test_as_dict_rounds_for_display(make: EventFactory) -> None:
    state = bought_on(make, [0, 3])
    shown = evaluate(state, at(4), CFG).as_dict()
    assert shown == {
        "ratio": 0.333,
        "status": "ok",
        "days_since_last": 1.0,
        "mean_interval_days": 3.0,
    }
