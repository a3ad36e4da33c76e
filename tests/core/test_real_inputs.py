"""Numbers that hold on input as tenants really send it (issue: scores on real customers' data).

Every case is built from events as an app, a billing export or an analytics SDK sends them —
line items, late exports, annual plans, currencies, wrong clocks — never from hand-set state.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import orjson
import pytest

from vitals.core import clv as clv_model
from vitals.core.alert_rules import evaluate_rules
from vitals.core.config import DEFAULT_CONFIG, HealthConfig, MoneyConfig, ScoringConfig
from vitals.core.events import parse_event
from vitals.core.norms import NormsRow, fit_norms
from vitals.core.params import DEFAULT_PARAMS
from vitals.core.state import CustomerState
from vitals.scorer.offline import OfflineScorer
from vitals.scorer.processor import RecordProcessor, SourceRecord
from vitals.scorer.store import MemoryStore

from .conftest import DAY, EventFactory, at, rfc3339

CFG = DEFAULT_CONFIG
SECOND = 1.0 / 86_400.0


def engine_of(*events: Any, config: ScoringConfig = CFG) -> OfflineScorer:
    engine = OfflineScorer(config)
    for event in sorted(events, key=lambda e: e.ts):
        assert engine.apply(event).status == "applied", event
    return engine


def daily_user(customer_id: str, days: int, start: float = 0.0) -> list[Any]:
    make = EventFactory(customer_id)
    return [
        make.usage(start + d + 0.4, user_id="u1", event_id=f"{customer_id}-use-{d}")
        for d in range(days)
    ]


# --- 1. line items are one transaction -----------------------------------------------------------


def test_one_order_sent_as_three_line_items_is_one_purchase(make: EventFactory) -> None:
    engine = engine_of(
        make.purchase(10, amount=20.0),
        make.purchase(10 + 1 * SECOND, amount=15.0),
        make.purchase(10 + 2 * SECOND, amount=5.0),
    )
    snap = engine.snapshot("acme", now=at(10) + 3600.0)
    state = engine.states["acme"]
    assert (state.purchases, state.purchase_events) == (1, 3)
    assert state.spend_total == 40.0 and state.first_purchase_amount == 40.0
    assert snap["repurchase"]["status"] == "n/a"  # one purchase: no rhythm yet, never "lapsed"
    assert snap["lifecycle"]["stage"] != "churned"
    assert snap["temperature"]["components"]["x"] == 0.0
    alerts = evaluate_rules(state, snap, at(10) + 3600.0, CFG, "http://x")
    assert not [a for a in alerts if a["rule"].startswith("repurchase")]


def test_a_repeat_order_in_line_items_keeps_the_rhythm_of_days(make: EventFactory) -> None:
    items = [make.purchase(day + k * SECOND, amount=10.0) for day in (0, 30, 60) for k in range(3)]
    engine = engine_of(*items)
    snap = engine.snapshot("acme", now=at(61))
    assert engine.states["acme"].purchases == 3
    assert snap["repurchase"]["mean_interval_days"] == pytest.approx(30.0, abs=0.01)
    assert snap["repurchase"]["ratio"] == pytest.approx(1 / 30, abs=0.01)
    assert snap["repurchase"]["status"] == "ok"
    assert snap["rfm"]["frequency"] == 3
    assert snap["rfm"]["monetary"] == pytest.approx(30.0)


def test_an_order_across_midnight_counts_once_by_its_order_id(make: EventFactory) -> None:
    engine = engine_of(
        make.purchase(4.99999, amount=10.0, properties={"order_id": "o-1"}),
        make.purchase(5.00001, amount=12.0, properties={"order_id": "o-1"}),
        make.purchase(5.5, amount=7.0, properties={"order_id": "o-2"}),  # same day: same visit
        make.purchase(9.5, amount=9.0, properties={"order_id": "o-3"}),
    )
    state = engine.states["acme"]
    assert state.purchases == 3
    assert state.first_purchase_amount == 22.0


def test_the_day_is_the_customers_own_local_day() -> None:
    make = EventFactory("tokyo")
    evening = parse_event(
        {**make.raw("purchase", 0, amount=10.0), "timestamp": "2026-01-05T23:30:00+09:00"}
    )
    morning = parse_event(
        {**make.raw("purchase", 0, amount=10.0), "timestamp": "2026-01-05T01:00:00+09:00"}
    )
    engine = engine_of(morning, evening)  # different UTC days (4th and 5th), one day in Tokyo
    assert engine.states["tokyo"].purchases == 1


# --- 2. purchase temperature is "buys again within the horizon" ----------------------------------


def test_a_frequent_buyer_is_warmer_than_a_rare_one_at_the_same_recency() -> None:
    frequent, rare = EventFactory("frequent"), EventFactory("rare")
    engine = engine_of(
        *[frequent.purchase(day) for day in range(0, 100, 10)],
        *[rare.purchase(day) for day in (0, 90)],
    )
    hot = engine.snapshot("frequent", now=at(110))["temperature"]["value"]
    cold = engine.snapshot("rare", now=at(110))["temperature"]["value"]
    assert hot > cold


# --- 3. paying but not using: adoption risk ------------------------------------------------------


def subscriber_events(make: EventFactory, renewals: int) -> list[Any]:
    return [make.subscription(0, "started", amount=100.0)] + [
        make.subscription(30 * k, "renewed", amount=100.0) for k in range(1, renewals + 1)
    ]


def test_paying_but_never_using_is_adoption_risk_once_the_tenant_sends_usage() -> None:
    idle, busy = EventFactory("idle"), EventFactory("busy")
    engine = engine_of(
        *subscriber_events(idle, 11), *subscriber_events(busy, 11), *daily_user("busy", 340)
    )
    now = at(341)
    engine.refit(now)  # the population now shows the tenant sends usage
    idle_snap, busy_snap = engine.snapshot("idle", now=now), engine.snapshot("busy", now=now)
    assert idle_snap["health"]["value"] == 0.0
    assert idle_snap["quadrant"] == "adoption_risk"
    assert idle_snap["risk"]["value"] > busy_snap["risk"]["value"] + 30
    assert any(r["code"] == "never_used" for r in idle_snap["reasons"])
    # Its risk reasons speak of no usage, not of a trend against a baseline it never had.
    texts = {r["code"]: r["text"] for r in idle_snap["risk_reasons"]}
    assert texts["trend"] == "never used the product: no usage to hold up"
    assert texts["quiet"].startswith("no product activity since they started (")
    assert "baseline" in {r["code"]: r["text"] for r in busy_snap["risk_reasons"]}["trend"]


def test_a_purchase_only_tenant_is_unaffected_by_the_usage_rule(make: EventFactory) -> None:
    engine = engine_of(*[make.purchase(day) for day in (0, 40, 80)])
    engine.refit(at(100))
    snap = engine.snapshot("acme", now=at(100))
    assert snap["health"] is None and snap["quadrant"] is None


def test_a_new_payer_is_not_judged_on_usage_during_onboarding(make: EventFactory) -> None:
    config = replace(CFG, health=HealthConfig(usage_tracked="yes"))
    engine = engine_of(make.subscription(0, "started", amount=100.0), config=config)
    assert engine.snapshot("acme", now=at(10))["health"] is None
    assert engine.snapshot("acme", now=at(31))["health"]["value"] == 0.0


# --- 4. subscriptions: periods, overdue renewals, tenure, trials ---------------------------------


def test_an_annual_plan_is_scored_per_year_not_per_month(make: EventFactory) -> None:
    annual = EventFactory("annual")
    monthly = EventFactory("monthly")
    engine = engine_of(
        annual.subscription(0, "started", amount=100.0, properties={"interval": "year"}),
        monthly.subscription(0, "started", amount=100.0, properties={"interval": "month"}),
    )
    a = engine.snapshot("annual", now=at(40))
    m = engine.snapshot("monthly", now=at(40))
    assert a["temperature"]["components"]["period_days"] == pytest.approx(365.25)
    assert a["temperature"]["components"]["renewals_due"] == 1.0
    assert m["temperature"]["components"]["renewals_due"] == 3.0
    # CLV over one horizon: the annual plan's next renewal is 12 months of MRR.
    assert a["clv"]["horizon_days"] == m["clv"]["horizon_days"] == CFG.clv.horizon_days
    assert a["clv"]["components"]["payment_per_period"] == pytest.approx(1200.0)


def test_a_subscriber_past_renewal_without_a_renewal_loses_temperature(make: EventFactory) -> None:
    engine = engine_of(*subscriber_events(make, 6))  # last renewal day 180, next due ~day 210
    on_time = engine.snapshot("acme", now=at(209))["temperature"]["value"]
    overdue = [engine.snapshot("acme", now=at(d))["temperature"]["value"] for d in (216, 225, 240)]
    assert overdue[0] < on_time
    assert overdue == sorted(overdue, reverse=True)
    assert overdue[-1] < 30
    assert "renewal_overdue" in engine.snapshot("acme", now=at(225))["temperature"]["components"]


def test_tenure_from_before_the_stream_is_not_a_new_customer(make: EventFactory) -> None:
    started = rfc3339(-730)
    engine = engine_of(
        make.subscription(
            0, "started", amount=100.0, properties={"started_at": started, "renewal_count": 24}
        ),
        *daily_user("acme", 5),
    )
    snap = engine.snapshot("acme", now=at(5))
    assert snap["temperature"]["components"]["renewals"] == 24.0
    assert snap["lifecycle"]["stage"] != "onboarding"
    young = engine_of(make.subscription(0, "started", amount=100.0), *daily_user("acme", 5))
    assert young.snapshot("acme", now=at(5))["lifecycle"]["stage"] == "onboarding"
    assert snap["temperature"]["value"] > young.snapshot("acme", now=at(5))["temperature"]["value"]


def test_started_at_alone_infers_the_renewals_from_the_period(make: EventFactory) -> None:
    engine = engine_of(
        make.subscription(0, "started", amount=100.0, properties={"started_at": rfc3339(-365)})
    )
    assert engine.states["acme"].renewals_survived == 11


@pytest.mark.parametrize(
    ("properties", "amount", "model"), [({"trial": True}, 50.0, "trial"), ({}, 0.0, "free")]
)
def test_customers_who_never_paid_are_not_hot(
    make: EventFactory, properties: dict[str, Any], amount: float, model: str
) -> None:
    engine = engine_of(make.subscription(0, "started", amount=amount, properties=properties))
    snap = engine.snapshot("acme", now=at(5))
    assert snap["temperature"]["model"] == model
    assert snap["temperature"]["band"] in {"cool", "cold"}
    assert snap["mrr"] == 0.0
    # Converting to paid makes it a renewal-model customer.
    engine.apply(make.subscription(6, "renewed", amount=50.0))
    assert engine.snapshot("acme", now=at(7))["temperature"]["model"] == "sbg"


# --- 5. CLV agrees with temperature; never a NaN published as 0 ----------------------------------


def test_a_cancellation_request_lowers_clv_with_temperature(make: EventFactory) -> None:
    events = subscriber_events(make, 3)
    before = engine_of(*events).snapshot("acme", now=at(100))
    after = engine_of(*events, make.subscription(95, "cancellation_requested")).snapshot(
        "acme", now=at(100)
    )
    assert after["temperature"]["value"] < before["temperature"]["value"]
    assert after["clv"]["value"] < 0.5 * before["clv"]["value"]


def test_an_unstable_clv_is_null_with_a_reason(
    make: EventFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_of(make.purchase(0), make.purchase(20))
    monkeypatch.setattr(
        clv_model, "clv_purchases", lambda *a, **k: clv_model.CLVEstimate(math.nan, {})
    )
    clv = engine.snapshot("acme", now=at(30))["clv"]
    assert clv["value"] is None and "not computable" in clv["reason"]


# --- 6. big accounts -----------------------------------------------------------------------------


def test_a_thousand_seat_account_with_900_active_users_is_about_90_percent_active() -> None:
    make = EventFactory("bigco")
    events = [make.profile(0, seats=1000)] + [
        make.usage(1 + i / 1000, user_id=f"user-{i}") for i in range(900)
    ]
    engine = engine_of(*events)
    share = engine.snapshot("bigco", now=at(3))["health"]["components"]["seats_active"]
    assert share == pytest.approx(0.9, abs=0.05)
    assert len(engine.states["bigco"].users) <= CFG.stream.max_users


# --- 7. norms and trend --------------------------------------------------------------------------


def test_usage_norms_come_from_currently_active_customers() -> None:
    active = [NormsRow(10.0, 4.0, None, 0, 0.0, used=True) for _ in range(40)]
    gone = [NormsRow(None, None, None, 0, 0.0, used=True) for _ in range(200)]
    norms = fit_norms(active + gone, DEFAULT_PARAMS.norms)
    assert norms.usage_rate_median == 10.0
    assert norms.usage_customers == 240


def test_norms_rows_leave_out_the_quiet_and_the_cancelled() -> None:
    engine = engine_of(*daily_user("now", 60), *daily_user("gone", 20))
    engine.refit(at(61))
    rows = {cid: engine.states[cid] for cid in ("now", "gone")}
    from vitals.core.params import norms_row

    assert norms_row(rows["now"], at(61), CFG).usage_rate is not None
    assert norms_row(rows["gone"], at(61), CFG).usage_rate is None


def test_a_light_user_with_a_steady_rhythm_is_not_declining_between_visits() -> None:
    make = EventFactory("light")
    events = [
        make.usage(visit * 25 + k * 0.01, user_id="u1") for visit in range(8) for k in range(5)
    ]
    engine = engine_of(*events)
    last_visit = 7 * 25
    for quiet in (5, 15, 24, 30):
        snap = engine.snapshot("light", now=at(last_visit + quiet))
        assert snap["health"]["components"]["trend"] == 1.0, quiet
        assert not [r for r in snap["reasons"] if r["code"] == "usage_drop"]
        assert snap["lifecycle"]["stage"] != "decline"
    gone = engine.snapshot("light", now=at(last_visit + 90))
    assert gone["health"]["components"]["trend"] < 0.5
    assert any(r["code"] == "usage_drop" for r in gone["reasons"])


# --- 8. bad clocks and late data -----------------------------------------------------------------


def test_one_event_from_2099_is_refused_and_never_locks_the_customer() -> None:
    wall = at(100)
    store = MemoryStore()
    processor = RecordProcessor(
        store=store,
        config=CFG,
        params=lambda: DEFAULT_PARAMS,
        partitions=1,
        clock="wall",
        now=lambda p: wall,
        wall=lambda: wall,
    )
    make = EventFactory("acme")

    def record(offset: int, event: dict[str, Any]) -> SourceRecord:
        return SourceRecord("events", 0, offset, b"acme", orjson.dumps(event))

    bad = {**make.raw("usage", 0, name="x"), "timestamp": "2099-01-01T00:00:00Z"}
    out = processor.process([record(0, bad)])
    assert [orjson.loads(v)["reason"].split(":")[0] for _, v in out.dead] == ["future"]
    out = processor.process([record(1, make.raw("usage", 99.9, name="x"))])
    assert out.dead == []
    assert store.states["acme"].usage_events == 1
    assert store.states["acme"].late_events == 0


def test_dedup_holds_for_the_window_not_for_a_count(make: EventFactory) -> None:
    engine = OfflineScorer()
    first = make.usage(1.0)
    engine.apply(first)
    for i in range(2_000):
        engine.apply(make.usage(1.0 + (i + 1) / 4_000))
    assert engine.apply(first).status == "duplicate"
    assert engine.states["acme"].usage_events == 2_001


# --- 9. money ------------------------------------------------------------------------------------


def test_a_refund_lowers_monetary_value_and_clv(make: EventFactory) -> None:
    orders = [make.purchase(d, amount=100.0, properties={"order_id": f"o{d}"}) for d in (0, 20, 40)]
    kept = engine_of(*orders).snapshot("acme", now=at(50))
    refunded_engine = engine_of(
        *orders, make.purchase(45, name="refund", amount=100.0, properties={"order_id": "o40"})
    )
    refunded = refunded_engine.snapshot("acme", now=at(50))
    assert refunded_engine.states["acme"].purchases == 3  # a refund is not a purchase
    assert refunded["rfm"]["monetary"] < kept["rfm"]["monetary"]
    assert refunded["clv"]["value"] < kept["clv"]["value"]
    assert refunded["stats"]["refunds"] == 1


def test_amounts_in_other_currencies_are_converted_never_summed_raw() -> None:
    config = replace(CFG, money=MoneyConfig(reporting_currency="USD", fx_rates={"EUR": 1.1}))
    make = EventFactory("acme")
    engine = engine_of(
        make.purchase(0, amount=100.0, currency="USD"),
        make.purchase(10, amount=100.0, currency="EUR"),
        make.purchase(20, amount=10_000.0, currency="JPY"),  # no rate configured
        config=config,
    )
    state = engine.states["acme"]
    assert state.spend_total == pytest.approx(210.0)
    assert state.purchases == 3 and state.unconverted == 1
    snap = engine.snapshot("acme", now=at(21))
    assert snap["currency"] == "USD" and snap["stats"]["unconverted"] == 1


def test_the_subscription_mrr_is_reported_in_the_reporting_currency() -> None:
    config = replace(CFG, money=MoneyConfig(reporting_currency="USD", fx_rates={"EUR": 1.1}))
    make = EventFactory("acme")
    engine = engine_of(make.subscription(0, "started", amount=100.0, currency="EUR"), config=config)
    assert engine.snapshot("acme", now=at(1))["mrr"] == pytest.approx(110.0)


def test_state_of_every_new_field_round_trips(make: EventFactory) -> None:
    engine = engine_of(
        make.purchase(0, amount=10.0, properties={"order_id": "o1"}),
        make.purchase(1, name="refund", amount=5.0, properties={"order_id": "o1"}),
        make.subscription(
            2, "started", amount=10.0, properties={"interval": "year", "trial": True}
        ),
        *daily_user("acme", 3),
    )
    state = engine.states["acme"]
    assert CustomerState.from_bytes(state.to_bytes()) == state
    assert DAY == 86_400.0


def test_the_first_payment_after_a_trial_converts_and_is_not_a_renewal(make: EventFactory) -> None:
    engine = engine_of(
        make.subscription(0, "started", amount=50.0, properties={"trial": True}),
        make.subscription(14, "renewed", amount=50.0),  # Stripe: the first paid cycle
        make.subscription(44, "renewed", amount=50.0),
    )
    state = engine.states["acme"]
    assert state.sub_paid_ts == at(14)
    assert state.renewals_survived == 1
