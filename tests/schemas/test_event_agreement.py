"""The pydantic event model and schemas/event.schema.json accept and reject the same events.

Structure first (the schema carries the model's constants), then a property test: generated events,
most of them near the contract's edges, then mutated, must get the same verdict from both.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitals.core import events as contract
from vitals.core.events import InvalidEvent, parse_event

from .support import example, validator

EVENTS = validator("event")
SCHEMA = EVENTS.schema


def _branch(event_type: str) -> dict[str, Any]:
    for rule in SCHEMA["allOf"]:
        if rule["if"]["properties"]["type"]["const"] == event_type:
            return rule
    raise AssertionError(f"no if/then for {event_type}")


def test_schema_fields_are_the_model_fields() -> None:
    assert set(SCHEMA["properties"]) == set(contract.Event.model_fields)
    required = {name for name, field in contract.Event.model_fields.items() if field.is_required()}
    assert set(SCHEMA["required"]) == required


def test_schema_timestamp_pattern_is_the_model_pattern() -> None:
    assert SCHEMA["properties"]["timestamp"]["pattern"] == contract.TIMESTAMP_PATTERN
    assert SCHEMA["properties"]["timestamp"]["format"] == "date-time"
    renewal = SCHEMA["$defs"]["profile"]["properties"]["renewal_date"]["anyOf"]
    assert {"type": "string", "format": "date", "pattern": contract.DATE_PATTERN} in renewal


def test_schema_type_and_name_enums_are_the_model_sets() -> None:
    assert SCHEMA["properties"]["type"]["enum"] == list(contract.EVENT_TYPES)
    for event_type, names in [
        ("subscription", contract.SUBSCRIPTION_NAMES),
        ("support", contract.SUPPORT_NAMES),
        ("feedback", contract.FEEDBACK_NAMES),
    ]:
        assert set(_branch(event_type)["then"]["properties"]["name"]["enum"]) == names


def test_schema_limits_are_the_model_limits() -> None:
    props = SCHEMA["properties"]
    assert props["event_id"]["maxLength"] == contract.MAX_ID_LENGTH
    assert props["customer_id"]["maxLength"] == contract.MAX_ID_LENGTH
    assert props["user_id"]["maxLength"] == contract.MAX_ID_LENGTH
    assert props["name"]["maxLength"] == contract.MAX_NAME_LENGTH
    profile = SCHEMA["$defs"]["profile"]["properties"]
    assert profile["seats"]["maximum"] == contract.MAX_SEATS
    for key in contract.PROFILE_TEXT_KEYS:
        assert profile[key]["maxLength"] == contract.MAX_PROFILE_TEXT_LENGTH
    ranges = {
        rule["if"]["properties"]["name"]["const"]: (
            rule["then"]["properties"]["score"]["minimum"],
            rule["then"]["properties"]["score"]["maximum"],
        )
        for rule in _branch("feedback")["then"]["allOf"]
    }
    assert ranges == contract.FEEDBACK_SCORE_RANGE


# --- every field, every edge value, every type ------------------------------------------------

COMMON_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    0.5,
    1e300,
    "",
    "a",
    "a" * 128,
    "a" * 129,
    "é" * 128,
    "é" * 129,
    "a" * 256,
    "a" * 257,
    [],
    {},
    ["x"],
    {"a": 1},
]
FIELD_VALUES: dict[str, list[Any]] = {
    "type": [*contract.EVENT_TYPES, "click", "Usage", " usage"],
    "name": sorted(contract.SUBSCRIPTION_NAMES | contract.SUPPORT_NAMES | contract.FEEDBACK_NAMES),
    "amount": [0, 0.0, -0.0, -0.01, 12.5, 10**12, "12.5"],
    "currency": ["USD", "EUR", "usd", "US", "USD\n", "ÜSD", "USDX", 840],
    "score": [-1, -0.5, 0, 0.5, 1, 2.5, 5, 5.5, 6, 10, 10.5, 11, "9"],
    "properties.seats": [0, 40, 40.0, contract.MAX_SEATS, contract.MAX_SEATS + 1, 2.5, "40"],
    "properties.renewal_date": [
        "2027-02-01",
        "2027-02-30",
        "1899-12-31",
        "2100-01-01",
        "2027-2-1",
        "2027-02-01\n",
        "２０２７-02-01",
        "2027-02-01T00:00:00Z",
        "2027-02-01T00:00:00",
        20270201,
    ],
}
VALID_EXAMPLES = example("events.valid.json")


def _edge_timestamps() -> list[str]:
    good = {
        part: values[0][1] if len(values[0]) > 1 else values[0][0]
        for part, values in TIMESTAMP_PARTS.items()
    }
    out = []
    for part, (good_values, bad_values) in TIMESTAMP_PARTS.items():
        for value in [*good_values, *bad_values]:
            parts = {**good, part: value}
            out.append(
                "{year}-{month}-{day}{sep}{hour}:{minute}:{second}{fraction}"
                "{offset}{suffix}".format(**parts)
            )
    return [*out, "2026-02-29T00:00:00Z", "2024-02-29T00:00:00Z", "2026-04-31T00:00:00Z"]


def _with(event: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    changed = dict(event)
    if field.startswith("properties."):
        changed["properties"] = {**(event.get("properties") or {}), field.split(".")[1]: value}
    else:
        changed[field] = value
    return changed


@pytest.mark.parametrize(
    "base",
    [case["event"] for case in VALID_EXAMPLES],
    ids=[c["description"] for c in VALID_EXAMPLES],
)
def test_model_and_schema_agree_on_every_edge_value_of_every_field(base: dict[str, Any]) -> None:
    fields = [*contract.Event.model_fields, *(f"properties.{k}" for k in contract.PROFILE_KEYS)]
    cases: list[Any] = [{k: v for k, v in base.items() if k != field} for field in base]
    for field in fields:
        values = COMMON_VALUES + FIELD_VALUES.get(field, [])
        if field == "timestamp":
            values += _edge_timestamps()
        cases += [_with(base, field, value) for value in values]
    disagreements = []
    for case in cases:
        try:
            _assert_agree(case)
        except AssertionError as err:
            disagreements.append(str(err))
    assert disagreements == []
    assert len(cases) > 300


def test_timestamp_pattern_alone_rejects_all_the_model_rejects_but_impossible_days() -> None:
    """Validators that skip "format" still get the pattern: only a calendar check is lost."""
    pattern = re.compile(SCHEMA["properties"]["timestamp"]["pattern"])
    for text in _edge_timestamps():
        try:
            contract.parse_timestamp(text)
            model_ok = True
        except ValueError as err:
            if "does not exist" in str(err):
                continue
            model_ok = False
        assert (pattern.search(text) is not None) == model_ok, repr(text)


# --- generated events -------------------------------------------------------------------------

# JSON text: no lone surrogates (not encodable), any other code point.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=6)
LENGTH_EDGE = st.sampled_from([0, 1, 2, 127, 128, 129, 255, 256, 257]).flatmap(
    lambda n: st.sampled_from(["a" * n, "é" * n])
)
STRINGS = st.one_of(TEXT, LENGTH_EDGE)
NUMBERS = st.one_of(
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [0, 0.0, -0.0, 1, 1.0, 5, 5.0, 10, 10.0, 10.5, 0.5, 2.5, 40, 40.0, 1e7, 1e7 + 1]
    ),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, STRINGS)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(STRINGS, inner, max_size=3)
    ),
    max_leaves=6,
)


# Parts of a timestamp: good values, then values at or just past the edge.
TIMESTAMP_PARTS: dict[str, tuple[list[str], list[str]]] = {
    "year": (["1900", "1997", "2026", "2099"], ["0001", "1899", "2100", "9999", "226", "20266"]),
    "month": (["01", "02", "06", "12"], ["00", "13", "1", "１２"]),
    "day": (["01", "28", "29", "30", "31"], ["00", "32", "1"]),
    "sep": (["T", "t"], [" ", "_", ""]),
    "hour": (["00", "12", "23"], ["24", "7"]),
    "minute": (["00", "30", "59"], ["60", "5"]),
    "second": (["00", "30", "59"], ["60", "61", ""]),
    "fraction": (["", ".5", ".123456", ".123456789"], [".1234567890", ".", ",5"]),
    "offset": (
        ["Z", "z", "+02:00", "-05:30", "+23:59", "-00:00"],
        ["", "+24:00", "+0200", "+02", "UTC", "+02:60"],
    ),
    "suffix": ([""], ["\n", " ", "Z"]),
}


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """Timestamps with every part good but (usually) one, which is just past the edge.
    Good parts still combine into days that do not exist (02-30, 2026-02-29)."""
    broken = draw(st.sampled_from([None, *TIMESTAMP_PARTS]))
    parts = {
        part: draw(st.sampled_from(bad if part == broken else good))
        for part, (good, bad) in TIMESTAMP_PARTS.items()
    }
    return (
        f"{parts['year']}-{parts['month']}-{parts['day']}{parts['sep']}{parts['hour']}:"
        f"{parts['minute']}:{parts['second']}{parts['fraction']}{parts['offset']}{parts['suffix']}"
    )


ENUM_NAMES = contract.SUBSCRIPTION_NAMES | contract.SUPPORT_NAMES | contract.FEEDBACK_NAMES
ALL_NAMES = [*sorted(ENUM_NAMES), "report.exported"]
GOOD_TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
GOOD_TIMESTAMPS = st.builds(
    lambda moment, offset_minutes, fraction: (
        moment.strftime("%Y-%m-%dT%H:%M:%S")
        + fraction
        + (
            "Z"
            if offset_minutes is None
            else f"{'-' if offset_minutes < 0 else '+'}{abs(offset_minutes) // 60:02d}:"
            f"{abs(offset_minutes) % 60:02d}"
        )
    ),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2099, 12, 31)),
    st.one_of(st.none(), st.integers(-23 * 60 - 59, 23 * 60 + 59)),
    st.sampled_from(["", ".5", ".250", ".123456789"]),
)
GOOD_NAMES = {
    "subscription": st.sampled_from(sorted(contract.SUBSCRIPTION_NAMES)),
    "support": st.sampled_from(sorted(contract.SUPPORT_NAMES)),
    "feedback": st.sampled_from(sorted(contract.FEEDBACK_NAMES)),
}
GOOD_AMOUNTS = st.one_of(
    st.integers(0, 10**9), st.floats(0, 1e9, allow_nan=False, allow_infinity=False)
)
GOOD_PROFILE_VALUES = {
    "owner": GOOD_TEXT,
    "segment": GOOD_TEXT,
    "plan": GOOD_TEXT,
    "name": GOOD_TEXT,
    "seats": st.one_of(st.integers(0, contract.MAX_SEATS), st.integers(0, 1000).map(float)),
    "renewal_date": st.one_of(
        GOOD_TIMESTAMPS, st.dates(date(1900, 1, 1), date(2099, 12, 31)).map(date.isoformat)
    ),
}
ID_EDGES = st.one_of(LENGTH_EDGE, TEXT, NUMBERS, st.none())
SCORE_EDGES = st.sampled_from([-1, -0.5, 0, 0.5, 1, 5, 5.5, 6, 10, 10.5, 11, "9", True, None])
# Values at or just past the contract's edges, per field ("properties.x": a profile key).
BAD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "event_id": ID_EDGES,
    "customer_id": ID_EDGES,
    "user_id": ID_EDGES,
    "type": st.sampled_from(["click", "Usage", "", None, 1]),
    "timestamp": st.one_of(timestamps(), NUMBERS),
    "name": st.one_of(st.sampled_from(ALL_NAMES), LENGTH_EDGE, st.none()),
    "amount": st.one_of(st.sampled_from([-0.01, -1, "12.5", True, None]), NUMBERS),
    "currency": st.sampled_from(["usd", "US", "USD\n", "ÜSD", "USDX", 840, None]),
    "score": st.one_of(SCORE_EDGES, NUMBERS),
    "properties": st.one_of(st.none(), JSON, st.dictionaries(STRINGS, JSON, max_size=3)),
    "properties.owner": st.sampled_from(["", "a" * 256, "a" * 257, 3, None, True, []]),
    "properties.segment": st.one_of(LENGTH_EDGE, st.none(), NUMBERS),
    "properties.plan": st.one_of(LENGTH_EDGE, st.none(), st.booleans()),
    "properties.name": st.one_of(LENGTH_EDGE, st.none(), st.just({"a": 1})),
    "properties.seats": st.one_of(
        st.sampled_from(
            [contract.MAX_SEATS, contract.MAX_SEATS + 1, -1, 2.5, 40.0, "40", True, None, 1e300]
        ),
        NUMBERS,
    ),
    "properties.renewal_date": st.one_of(
        timestamps(),
        st.sampled_from(["2027-02-30", "1899-12-31", "2027-2-1", "2027-02-01\n", "２０２７-02-01"]),
        st.none(),
        NUMBERS,
    ),
}


@st.composite
def near_valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """An event of a random type, every field good except (usually) one, which takes a value
    at or just past the contract's edges; about a third of them are valid."""
    event_type = draw(st.sampled_from(contract.EVENT_TYPES))
    fields = [f for f in BAD_VALUES if event_type == "profile" or "." not in f]
    broken = draw(
        st.one_of(
            st.just(set[str]()),
            st.sampled_from(fields).map(lambda field: {field}),
            st.sets(st.sampled_from(fields), max_size=3),
        )
    )

    def pick(field: str, good: st.SearchStrategy[Any]) -> Any:
        return draw(BAD_VALUES[field]) if field in broken else draw(good)

    event_type = pick("type", st.just(event_type))
    event: dict[str, Any] = {
        "event_id": pick("event_id", GOOD_TEXT),
        "customer_id": pick("customer_id", GOOD_TEXT),
        "type": event_type,
        "timestamp": pick("timestamp", GOOD_TIMESTAMPS),
    }
    if event_type in ("usage", "subscription", "support", "feedback") or draw(st.booleans()):
        event["name"] = pick("name", GOOD_NAMES.get(str(event_type), GOOD_TEXT))
    if event_type == "purchase" or "amount" in broken or draw(st.booleans()):
        event["amount"] = pick("amount", GOOD_AMOUNTS)
    if "currency" in broken or draw(st.booleans()):
        event["currency"] = pick("currency", st.sampled_from(["USD", "EUR", None]))
    if event_type == "feedback" or "score" in broken:
        low, high = contract.FEEDBACK_SCORE_RANGE.get(str(event.get("name")), (0.0, 10.0))
        good_score = st.one_of(
            st.integers(int(low), int(high)), st.floats(low, high, allow_nan=False)
        )
        event["score"] = pick("score", good_score)
    if "user_id" in broken or draw(st.booleans()):
        event["user_id"] = pick("user_id", st.one_of(GOOD_TEXT, st.none()))
    if event_type == "profile":
        keys = draw(st.lists(st.sampled_from(sorted(GOOD_PROFILE_VALUES)), unique=True, max_size=4))
        keys += [k.split(".")[1] for k in sorted(broken) if k.startswith("properties.")]
        props = {key: pick(f"properties.{key}", GOOD_PROFILE_VALUES[key]) for key in keys}
        if draw(st.booleans()):
            props["industry"] = draw(JSON)
        event["properties"] = pick("properties", st.just(props))
    elif "properties" in broken or draw(st.booleans()):
        event["properties"] = pick("properties", st.dictionaries(GOOD_TEXT, JSON, max_size=3))
    return event


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    event = draw(near_valid_events())
    mutation = draw(st.sampled_from(["none", "drop", "null", "replace", "extra", "not_object"]))
    field = draw(st.sampled_from(sorted(contract.Event.model_fields)))
    if mutation == "drop":
        event.pop(field, None)
    elif mutation == "null":
        event[field] = None
    elif mutation == "replace":
        event[field] = draw(JSON)
    elif mutation == "extra":
        event[draw(st.sampled_from(["ts", "Type", "", "extra"]))] = draw(JSON)
    elif mutation == "not_object":
        return draw(JSON.filter(lambda value: not isinstance(value, dict)))
    return event


def _model_accepts(value: Any) -> bool:
    try:
        parse_event(value)
    except InvalidEvent:
        return False
    return True


def _assert_agree(value: Any) -> None:
    value = orjson.loads(orjson.dumps(value))  # only what JSON can carry
    schema_ok = EVENTS.is_valid(value)
    model_ok = _model_accepts(value)
    assert schema_ok == model_ok, (
        f"schema {'accepts' if schema_ok else 'rejects'} but model "
        f"{'accepts' if model_ok else 'rejects'}: {value!r}; "
        f"schema errors: {[e.message for e in EVENTS.iter_errors(value)][:3]}"
    )


AGREEMENT = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@AGREEMENT
@given(near_valid_events())
def test_model_and_schema_agree_on_generated_events(event: dict[str, Any]) -> None:
    _assert_agree(event)


@AGREEMENT
@given(mutated_events())
def test_model_and_schema_agree_on_mutated_events(value: Any) -> None:
    _assert_agree(value)


@settings(max_examples=300, deadline=None)
@given(timestamps())
def test_model_and_schema_agree_on_timestamps(text: str) -> None:
    _assert_agree(
        {"event_id": "e", "customer_id": "c", "type": "usage", "timestamp": text, "name": "x"}
    )


def test_generators_produce_both_verdicts() -> None:
    """Guards the property tests against a generator that only makes invalid events."""
    seen: set[bool] = set()

    @settings(max_examples=200, deadline=None, database=None)
    @given(near_valid_events())
    def collect(event: dict[str, Any]) -> None:
        seen.add(_model_accepts(orjson.loads(orjson.dumps(event))))

    collect()
    assert seen == {True, False}
