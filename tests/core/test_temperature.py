from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitals.core.config import DEFAULT_CONFIG, ScoringConfig, StreamConfig, TemperatureConfig
from vitals.core.events import Event
from vitals.core.fold import apply_event
from vitals.core.models import mbgnbd
from vitals.core.population import PRIORS
from vitals.core.state import CustomerState
from vitals.core.temperature import Temperature, days_to_renewal, evaluate, logit, sigmoid

from .conftest import EventFactory, at

CFG = DEFAULT_CONFIG
# Lateness large enough that any arrival order is folded: the property below interleaves freely.
ANY_ORDER = ScoringConfig(
    stream=StreamConfig(allowed_lateness_days=10_000.0, lateness_days_by_type={})
)


def fold(events: list[Event], config: ScoringConfig = CFG) -> CustomerState:
    state = CustomerState("acme")
    for event in events:
        assert apply_event(state, event, config) == "applied"
    return state


def temperature_at(
    state: CustomerState, day: float, config: TemperatureConfig = CFG.temperature
) -> Temperature:
    return evaluate(state, at(day), PRIORS, config, CFG.bands)


def reason_texts(result: Temperature) -> dict[str, str]:
    return {r.code: r.text for r in result.reasons}


# --- temperature never depends on usage ----------------------------------------------------------

NON_USAGE = st.one_of(
    st.tuples(
        st.just("subscription"),
        st.sampled_from(
            [
                "started",
                "renewed",
                "upgraded",
                "downgraded",
                "payment_failed",
                "cancellation_requested",
                "cancelled",
            ]
        ),
    ),
    st.tuples(st.just("purchase"), st.just("")),
    st.tuples(
        st.just("support"), st.sampled_from(["ticket_opened", "ticket_escalated", "ticket_closed"])
    ),
    st.tuples(st.just("feedback"), st.sampled_from(["nps", "csat"])),
    st.tuples(st.just("profile"), st.sampled_from(["plan", "renewal_date", "seats"])),
)


def _non_usage_event(make: EventFactory, kind: str, name: str, day: float) -> Event:
    fields: dict[str, Any] = {}
    if kind == "subscription":
        fields = {"name": name, "amount": 49.0}
    elif kind == "purchase":
        fields = {"amount": 30.0}
    elif kind in ("support",):
        fields = {"name": name}
    elif kind == "feedback":
        fields = {"name": name, "score": 3.0 if name == "nps" else 2.0}
    else:
        value = {"plan": "pro", "renewal_date": "2026-03-15", "seats": 20}[name]
        fields = {"properties": {name: value}}
    return make(kind, day, **fields)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    billing=st.lists(st.tuples(NON_USAGE, st.integers(0, 200 * 24)), max_size=25),
    usage=st.lists(
        st.tuples(st.integers(0, 200 * 24), st.sampled_from(["a", "b", "c"])),
        min_size=1,
        max_size=60,
    ),
    read_day=st.integers(200, 400),
)
def test_adding_usage_events_never_changes_temperature(
    make: EventFactory,
    billing: list[tuple[tuple[str, str], int]],
    usage: list[tuple[int, str]],
    read_day: int,
) -> None:
    billing_events = [
        _non_usage_event(make, kind, name, hour / 24) for (kind, name), hour in billing
    ]
    usage_events = [make.usage(hour / 24, name=name, user_id="u1") for hour, name in usage]
    without = fold(billing_events, ANY_ORDER)
    with_usage = fold(
        usage_events[: len(usage_events) // 2]
        + billing_events
        + usage_events[len(usage_events) // 2 :],
        ANY_ORDER,
    )
    assert with_usage.usage_events == len(usage_events)
    a, b = temperature_at(without, read_day), temperature_at(with_usage, read_day)
    assert (a.value, a.band, a.model, a.components, a.p_alive) == (
        b.value,
        b.band,
        b.model,
        b.components,
        b.p_alive,
    )
    assert a.reasons == b.reasons


# --- billing and contract signals ----------------------------------------------------------------


def test_payment_failure_lowers_temperature_with_a_plain_reason(make: EventFactory) -> None:
    base = [
        make.subscription(0, "started", amount=99.0),
        make.subscription(30, "renewed", amount=99.0),
    ]
    healthy = temperature_at(fold(base), 43)
    failed = temperature_at(fold([*base, make.subscription(40, "payment_failed")]), 43)
    assert failed.value < healthy.value
    assert reason_texts(failed)["payment_failed"] == "payment failed 3 days ago"
    impact = next(r.impact for r in failed.reasons if r.code == "payment_failed")
    assert impact < 0
    assert failed.components["payment_failed"] < 0


def test_payment_failure_hurts_less_once_the_subscription_renews_and_fades(
    make: EventFactory,
) -> None:
    base = [make.subscription(0, "started", amount=99.0), make.subscription(40, "payment_failed")]
    failed = temperature_at(fold(base), 43)
    recovered_state = fold([*base, make.subscription(41, "renewed", amount=99.0)])
    recovered = temperature_at(recovered_state, 43)
    assert recovered.value > failed.value
    assert reason_texts(recovered)["payment_failed"] == "payment failed 3 days ago (renewed since)"
    # Payment failures decay: months later it no longer moves the number.
    assert "payment_failed" not in temperature_at(recovered_state, 400).components


def test_cancellation_request_lowers_temperature_with_a_plain_reason(make: EventFactory) -> None:
    base = [make.subscription(0, "started", amount=99.0)]
    healthy = temperature_at(fold(base), 12)
    requested = temperature_at(fold([*base, make.subscription(10, "cancellation_requested")]), 12)
    assert requested.value < healthy.value - 20
    assert reason_texts(requested)["cancellation_requested"] == "cancellation requested 2 days ago"


def test_cancellation_request_is_withdrawn_by_a_later_renewal(make: EventFactory) -> None:
    events = [
        make.subscription(0, "started", amount=99.0),
        make.subscription(10, "cancellation_requested"),
        make.subscription(30, "renewed", amount=99.0),
    ]
    assert "cancellation_requested" not in temperature_at(fold(events), 31).components


def test_cancelled_subscription_is_zero(make: EventFactory) -> None:
    state = fold([make.subscription(0, "started", amount=99.0), make.subscription(20, "cancelled")])
    result = temperature_at(state, 27)
    assert (result.value, result.band, result.model) == (0.0, "cold", "cancelled")
    assert reason_texts(result)["cancelled"] == "subscription cancelled 7 days ago"


def test_more_renewals_mean_a_warmer_subscriber(make: EventFactory) -> None:
    young = fold([make.subscription(0, "started", amount=10.0)])
    loyal = fold(
        [make.subscription(0, "started", amount=10.0)]
        + [make.subscription(30 * i, "renewed", amount=10.0) for i in range(1, 13)]
    )
    assert temperature_at(loyal, 365).value > temperature_at(young, 365).value
    assert temperature_at(loyal, 365).model == "sbg"


# --- purchase-only customers ---------------------------------------------------------------------


def test_purchase_only_customer_is_p_of_buying_within_the_horizon_under_mbgnbd(
    make: EventFactory,
) -> None:
    state = fold([make.purchase(0), make.purchase(20), make.purchase(50)])
    result = temperature_at(state, 120, replace(CFG.temperature, purchase_model="mbgnbd"))
    horizon = CFG.temperature.horizon_days
    expected = mbgnbd.p_purchase_within(horizon, 2.0, 50.0, 120.0, *PRIORS.mbgnbd)
    assert result.model == "mbgnbd"
    assert result.p_alive == pytest.approx(mbgnbd.p_alive(2.0, 50.0, 120.0, *PRIORS.mbgnbd))
    assert result.p_alive is not None and expected < result.p_alive
    # No adjustments apply and the purchase family's level shift is 0 since 2026.12.1.
    shifted = sigmoid(logit(expected) + CFG.temperature.purchase_log_odds_shift)
    assert result.raw == pytest.approx(100 * shifted, rel=1e-9)
    assert result.value == round(result.raw, 2)
    assert "P(buys again within 3 months)" in reason_texts(result)["purchase_recency"]
    assert (result.components["x"], result.components["t_x_days"], result.components["T_days"]) == (
        2.0,
        50.0,
        120.0,
    )


def test_the_default_purchase_temperature_is_the_poisson_form_of_expected_purchases(
    make: EventFactory,
) -> None:
    state = fold([make.purchase(0), make.purchase(20), make.purchase(50)])
    result = temperature_at(state, 120)
    expected = mbgnbd.expected_purchases(90.0, 2.0, 50.0, 120.0, *PRIORS.mbgnbd)
    assert CFG.temperature.purchase_model == "mbgnbd_poisson"
    assert result.raw == pytest.approx(100 * (1 - math.exp(-expected)), rel=1e-9)
    exact = mbgnbd.p_purchase_within(90.0, 2.0, 50.0, 120.0, *PRIORS.mbgnbd)
    assert 0 < exact < result.raw / 100  # Jensen: the Poisson form is above the mixture's


def test_one_time_buyer_cools_down_under_mbgnbd_but_not_under_bgnbd(make: EventFactory) -> None:
    state = fold([make.purchase(0)])
    mbg = [temperature_at(state, day).value for day in (10, 100, 400)]
    assert mbg == sorted(mbg, reverse=True) and mbg[-1] < mbg[0]
    bg_config = TemperatureConfig(purchase_model="bgnbd")
    assert temperature_at(state, 400, bg_config).p_alive == 1.0  # BG/NBD's known blind spot


def test_no_billing_events_gives_the_prior_with_a_reason(make: EventFactory) -> None:
    result = temperature_at(fold([make.usage(1)]), 2)
    assert result.model == "prior"
    assert 0 < result.value < 100
    assert "no_billing" in reason_texts(result)


# --- renewal date --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "renewal",
    ["2026-02-01", "2026-02-01T00:00:00Z", "2026-02-01t00:00:00z", "2026-02-01T01:00:00+01:00"],
)
def test_renewal_date_in_every_contract_form_is_understood(
    make: EventFactory, renewal: str
) -> None:
    state = fold([make.profile(0, renewal_date=renewal)])
    assert days_to_renewal(state, at(0)) == pytest.approx(31.0)


def test_a_renewal_inside_the_window_makes_adjustments_count_more(make: EventFactory) -> None:
    base = [
        make.subscription(0, "started", amount=99.0),
        make.subscription(40, "downgraded", amount=50.0),
    ]
    far = fold([make.profile(0, renewal_date="2027-06-01"), *base])
    near = fold([make.profile(0, renewal_date="2026-02-20"), *base])
    assert (
        temperature_at(near, 41).components["downgraded"]
        < temperature_at(far, 41).components["downgraded"]
    )
