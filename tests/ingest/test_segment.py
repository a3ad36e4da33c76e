"""Segment/RudderStack calls onto the contract: page/screen, identify/group per customer model,
the e-commerce spec, the configurable name table."""

from __future__ import annotations

import pytest

from vitals.core.events import InvalidEvent, parse_event
from vitals.ingest.adapters import Adapters
from vitals.ingest.mapped import Ignored
from vitals.ingest.segment_names import NameTable
from vitals.platform.settings import Settings

B2B = Adapters.from_settings(Settings()).to_contract
B2C = Adapters.from_settings(Settings(ingest_customer_model="b2c")).to_contract
WHEN = "2026-11-23T18:30:00.000+00:00"


def call(kind: str, **fields: object) -> dict[str, object]:
    return {
        "type": kind,
        "messageId": f"m-{kind}",
        "userId": "u-1",
        "timestamp": WHEN,
        "context": {"groupId": "acme", "library": {"name": "analytics-python"}},
        **fields,
    }


def track(name: str, **properties: object) -> dict[str, object]:
    return call("track", event=name, properties=properties)


@pytest.mark.parametrize(
    ("kind", "title", "name"),
    [
        ("page", "Pricing", "Viewed Pricing Page"),
        ("page", None, "Loaded a Page"),
        ("screen", "Settings", "Viewed Settings Screen"),
        ("screen", "", "Loaded a Screen"),
    ],
)
def test_page_and_screen_are_usage(kind: str, title: str | None, name: str) -> None:
    mapped = B2B(call(kind, name=title, properties={"path": "/pricing"}))
    event = parse_event(mapped)
    assert (event.type, event.name, event.customer_id, event.user_id) == (
        "usage",
        name,
        "acme",
        "u-1",
    )
    assert event.properties == {"path": "/pricing"}


def test_order_completed_is_a_purchase_with_revenue_currency_and_order_id() -> None:
    mapped = B2B(track("Order Completed", order_id=50314, revenue=25.0, total=30.5, currency="usd"))
    event = parse_event(mapped)
    assert (event.type, event.name, event.amount, event.currency) == (
        "purchase",
        "order_completed",
        25.0,
        "USD",
    )
    assert event.properties is not None and event.properties["order_id"] == "50314"
    assert event.event_id == "m-track"


@pytest.mark.parametrize(
    ("properties", "amount"),
    [({"total": 30.5}, 30.5), ({"value": "12.25"}, 12.25), ({"revenue": 0}, 0.0)],
)
def test_order_amount_falls_back_from_revenue_to_total_then_value(
    properties: dict[str, object], amount: float
) -> None:
    assert parse_event(B2B(track("order_completed", **properties))).amount == amount


def test_order_without_totals_sums_its_products() -> None:
    products = [
        {"product_id": "p1", "price": 10.0, "quantity": 2},
        {"product_id": "p2", "price": 5},
    ]
    event = parse_event(B2B(track("Order Refunded", order_id="o-2", products=products)))
    assert (event.name, event.amount) == ("refund", 25.0)


@pytest.mark.parametrize(
    "properties",
    [{}, {"revenue": "lots"}, {"revenue": True}, {"products": [{"price": "x"}]}],
)
def test_order_without_a_usable_amount_is_rejected_naming_the_property(
    properties: dict[str, object],
) -> None:
    with pytest.raises(InvalidEvent, match="amount: ") as caught:
        B2B(track("Order Completed", **properties))
    assert caught.value.field == "amount"


def test_order_refunded_is_a_refund_purchase_with_a_positive_amount() -> None:
    event = parse_event(B2B(track("Order Refunded", order_id="o-1", total=-30, currency="EUR")))
    assert (event.type, event.name, event.amount, event.currency) == (
        "purchase",
        "refund",
        30.0,
        "EUR",
    )
    assert event.properties == {"order_id": "o-1", "total": -30, "currency": "EUR"}


def test_subscription_names_map_to_subscription_events_with_mrr() -> None:
    event = parse_event(
        B2B(track("Subscription Cancelled", mrr=99, currency="usd", interval="month"))
    )
    assert (event.type, event.name, event.amount, event.currency) == (
        "subscription",
        "cancelled",
        99.0,
        "USD",
    )


def test_trial_started_is_a_free_subscription_start_marked_trial() -> None:
    event = parse_event(B2B(track("Trial Started", plan="pro")))
    assert (event.type, event.name, event.amount) == ("subscription", "started", 0.0)
    assert event.properties == {"plan": "pro", "trial": True}


def test_unknown_track_names_are_usage_named_as_sent() -> None:
    event = parse_event(B2B(track("Report Exported", format="pdf")))
    assert (event.type, event.name) == ("usage", "Report Exported")


def test_configured_names_override_and_extend_the_built_in_table() -> None:
    mapper = Adapters.from_settings(
        Settings(
            ingest_event_names={
                "Plan Changed": "subscription:upgraded",
                "heartbeat": "ignore",
                "Order Completed": "usage",
                "NPS Submitted": "feedback:nps",
            }
        )
    ).to_contract
    assert parse_event(mapper(track("plan_changed", mrr=10))).name == "upgraded"
    assert isinstance(mapper(track("Heartbeat")), Ignored)
    assert parse_event(mapper(track("Order Completed", revenue=5))).type == "usage"
    feedback = parse_event(mapper(track("NPS Submitted", score=9)))
    assert (feedback.type, feedback.name, feedback.score) == ("feedback", "nps", 9.0)


@pytest.mark.parametrize("target", ["subscription:paused", "purchases", "feedback", "usage:x"])
def test_a_bad_configured_target_refuses_to_start_saying_what_is_allowed(target: str) -> None:
    with pytest.raises(ValueError, match="is not a target: use usage, ignore"):
        NameTable({"Something": target})


def test_b2b_group_is_the_account_profile_keeping_only_profile_traits() -> None:
    traits = {"name": "Acme", "plan": "pro", "seats": 40, "email": "ceo@acme.test"}
    event = parse_event(B2B(call("group", groupId="acme-co", traits=traits)))
    assert (event.type, event.customer_id) == ("profile", "acme-co")
    assert event.properties == {"name": "Acme", "plan": "pro", "seats": 40}


def test_b2c_identify_is_the_person_profile_and_b2c_group_is_ignored() -> None:
    identify = call("identify", traits={"firstName": "Ada", "lastName": "L", "plan": "gold"})
    event = parse_event(B2C(identify))
    assert (event.type, event.customer_id) == ("profile", "u-1")
    assert event.properties == {"plan": "gold", "name": "Ada L"}
    assert isinstance(B2C(call("group", groupId="g", traits={"plan": "x"})), Ignored)


def test_rudderstack_identify_reads_traits_from_the_context() -> None:
    identify = call("identify", context={"traits": {"plan": "basic"}})
    assert parse_event(B2C(identify)).properties == {"plan": "basic"}


def test_identify_or_group_without_profile_traits_is_ignored() -> None:
    assert isinstance(B2C(call("identify", traits={"email": "a@b.test"})), Ignored)
    assert isinstance(B2B(call("group", groupId="acme", traits={})), Ignored)
