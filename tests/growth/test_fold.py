"""Single-event rules of the growth fold that the generated streams do not exercise."""

from __future__ import annotations

from typing import Any

from vitals.core.events import parse_event
from vitals.growth.config import DEFAULT_GROWTH
from vitals.growth.fold import apply_growth_event
from vitals.growth.funnel import current_stage, stage_entries
from vitals.growth.state import GrowthState


def fold(*raw: dict[str, Any]) -> GrowthState:
    state = GrowthState("acme")
    for i, item in enumerate(raw):
        event = {"event_id": f"e{i}", "customer_id": "acme", "timestamp": "2026-03-01T10:00:00Z"}
        apply_growth_event(state, parse_event({**event, **item}), DEFAULT_GROWTH)
    return state


def test_a_refund_is_not_an_order_and_makes_no_customer() -> None:
    state = fold({"type": "purchase", "name": "refund", "amount": 20.0})
    assert state.purchases == {}
    assert current_stage(stage_entries(state, DEFAULT_GROWTH)) == "visitor"


def test_a_trial_subscription_is_registered_not_customer() -> None:
    state = fold({"type": "subscription", "name": "started", "properties": {"trial": True}})
    assert current_stage(stage_entries(state, DEFAULT_GROWTH)) == "registered"
    paid = fold({"type": "subscription", "name": "started", "amount": 49.0})
    assert current_stage(stage_entries(paid, DEFAULT_GROWTH)) == "customer"
    assert len(paid.purchases) == 1


def test_the_same_event_twice_changes_nothing_the_second_time() -> None:
    state = GrowthState("acme")
    event = parse_event(
        {
            "event_id": "x",
            "customer_id": "acme",
            "type": "purchase",
            "amount": 10.0,
            "timestamp": "2026-03-01T10:00:00Z",
        }
    )
    assert apply_growth_event(state, event, DEFAULT_GROWTH) == "changed"
    assert apply_growth_event(state, event, DEFAULT_GROWTH) == "unchanged"
    assert state.version == 1
