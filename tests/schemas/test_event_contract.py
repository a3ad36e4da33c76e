"""vitals.core.events: event time, error details and the fields' documented rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vitals.core.events import InvalidEvent, parse_event, parse_timestamp

BASE = {
    "event_id": "e-1",
    "customer_id": "acme",
    "type": "usage",
    "timestamp": "2026-11-23T18:30:00Z",
    "name": "report.exported",
}
NOON_UTC = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2026-11-23T12:00:00Z", NOON_UTC),
        ("2026-11-23t12:00:00z", NOON_UTC),
        ("2026-11-23T14:00:00+02:00", NOON_UTC),
        ("2026-11-23T06:30:00-05:30", NOON_UTC),
        ("2026-11-23T12:00:00-00:00", NOON_UTC),
        ("2026-11-23T12:00:00.5Z", NOON_UTC + 0.5),
        ("2026-11-23T12:00:00.250Z", NOON_UTC + 0.25),
        ("2026-11-23T12:00:00.123456789Z", NOON_UTC + 0.123456),  # kept to microseconds
        ("1970-01-01T00:00:00Z", 0.0),
        ("1900-01-01T00:00:00Z", -2208988800.0),
    ],
)
def test_parse_timestamp_gives_unix_seconds(text: str, seconds: float) -> None:
    assert parse_timestamp(text) == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-23T12:00:00",
        "2026-11-23",
        "2026-02-29T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "2026-11-23T12:00:00Z\n",
        " 2026-11-23T12:00:00Z",
        "2026-W47-1T12:00:00Z",
        "20261123T120000Z",
    ],
)
def test_parse_timestamp_rejects_what_is_not_rfc3339_with_offset(text: str) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_timestamp(text)


def test_event_ts_is_the_timestamp_in_unix_seconds() -> None:
    event = parse_event({**BASE, "timestamp": "2026-11-23T14:00:00+02:00"})
    assert event.ts == NOON_UTC
    assert event.timestamp == "2026-11-23T14:00:00+02:00"  # kept as sent


def test_invalid_event_carries_event_id_and_field() -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event({**BASE, "amount": "12"})
    assert caught.value.event_id == "e-1"
    assert caught.value.field == "amount"


def test_invalid_event_model_rule_names_its_field() -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event({**BASE, "type": "feedback", "name": "nps", "score": 11})
    assert caught.value.field == "score"
    assert str(caught.value) == "score: nps scores run from 0 to 10"


def test_invalid_event_unknown_field_has_no_field_and_says_where_custom_data_goes() -> None:
    with pytest.raises(InvalidEvent, match="put custom data in properties") as caught:
        parse_event({**BASE, "plan": "pro"})
    assert caught.value.field is None


def test_invalid_event_without_text_event_id_has_none() -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event({**BASE, "event_id": 5})
    assert caught.value.event_id is None


@pytest.mark.parametrize(
    ("value", "kind"),
    [([], "an array"), ("x", "a string"), (None, "null"), (3, "a number"), (True, "a boolean")],
)
def test_non_object_event_is_named_by_its_json_type(value: object, kind: str) -> None:
    with pytest.raises(InvalidEvent, match=f"got {kind}$"):
        parse_event(value)


def test_event_is_frozen() -> None:
    event = parse_event(BASE)
    with pytest.raises(ValueError, match="frozen"):
        event.name = "other"  # type: ignore[misc]


def test_null_optional_fields_mean_absent() -> None:
    event = parse_event({**BASE, "user_id": None, "properties": None, "currency": None})
    assert event.user_id is None and event.properties is None and event.currency is None
