"""Growth event types: the model and schemas/event.schema.json agree on every rule of
vitals.core.growth_events, on generated events near each rule's edges."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemas.test_event_agreement import SCHEMA, _assert_agree

from vitals.core import growth_events as growth
from vitals.core.events import EVENT_TYPES, parse_event

EDGE_TEXT = st.one_of(
    st.sampled_from(["", "a", "a" * 128, "a" * 129, "é" * 128, "é" * 129]),
    st.text(max_size=4),
)
ODD = st.sampled_from([None, 0, 1.5, True, [], {}, ["a"], {"a": 1}])
KEY_VALUES = st.one_of(EDGE_TEXT, ODD)
TAGS = st.one_of(
    ODD,
    EDGE_TEXT,
    st.lists(st.one_of(EDGE_TEXT, ODD), max_size=3),
    st.integers(31, 33).map(lambda n: ["t"] * n),
)
STAGES = st.one_of(st.sampled_from([*growth.REPORTED_STAGES, "visitor", "stranger", "MQL"]), ODD)


@st.composite
def growth_events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(growth.GROWTH_EVENT_TYPES))
    names = sorted(growth.NAMES_BY_TYPE[kind])
    event: dict[str, Any] = {
        "event_id": "e1",
        "customer_id": "c1",
        "type": kind,
        "timestamp": "2026-11-23T18:30:00Z",
    }
    if draw(st.integers(0, 9)) > 0:
        event["name"] = draw(st.one_of(st.sampled_from(names), st.sampled_from(["x", "Created"])))
    keys = {
        "tags": TAGS,
        "stage": STAGES,
        "referrer_id": KEY_VALUES,
        "experiment": KEY_VALUES,
        "arm": KEY_VALUES,
        "source": EDGE_TEXT,
    }
    if draw(st.integers(0, 5)) > 0:
        chosen = draw(st.lists(st.sampled_from(sorted(keys)), unique=True, max_size=4))
        event["properties"] = {key: draw(keys[key]) for key in chosen}
    elif draw(st.booleans()):
        event["properties"] = None
    return event


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(growth_events())
def test_model_and_schema_agree_on_generated_growth_events(event: dict[str, Any]) -> None:
    _assert_agree(event)


def test_schema_lists_the_growth_types_and_names() -> None:
    assert set(growth.GROWTH_EVENT_TYPES) <= set(EVENT_TYPES)
    branches = {rule["if"]["properties"]["type"]["const"]: rule for rule in SCHEMA["allOf"]}
    for kind, names in growth.NAMES_BY_TYPE.items():
        assert set(branches[kind]["then"]["properties"]["name"]["enum"]) == names
    assert SCHEMA["$defs"]["lead"]["properties"]["tags"]["maxItems"] == growth.MAX_TAGS


def test_stage_changed_names_the_stage_reached() -> None:
    event = parse_event(
        {
            "event_id": "e",
            "customer_id": "lead-1",
            "type": "lead",
            "timestamp": "2026-11-23T18:30:00Z",
            "name": "stage_changed",
            "properties": {"stage": "opportunity"},
        }
    )
    assert event.properties == {"stage": "opportunity"}
