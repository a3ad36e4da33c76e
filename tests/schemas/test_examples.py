"""Every published example validates against its schema; every invalid example fails, and the
event model (vitals.core.events) agrees with the event schema on all of them."""

from __future__ import annotations

from typing import Any

import pytest

from vitals.core.events import EVENT_TYPES, InvalidEvent, parse_event

from .support import (
    EXAMPLES,
    apply_variant,
    error_paths,
    example,
    is_rfc3339_date_time,
    validator,
)

EVENTS = validator("event")
SNAPSHOTS = validator("score-snapshot")
ALERTS = validator("alert")

VALID_EVENTS: list[dict[str, Any]] = example("events.valid.json")
INVALID_EVENTS: list[dict[str, Any]] = example("events.invalid.json")
SNAPSHOT_VARIANTS: dict[str, Any] = example("score-snapshot.variants.json")
ALERT_VARIANTS: dict[str, Any] = example("alert.variants.json")
EXPERIMENT_ALERT = "alert.experiment.example.json"


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["description"] for case in cases]


def test_every_example_file_is_exercised_by_these_tests() -> None:
    used = {
        "alert.example.json",
        "alert.experiment.example.json",
        "alert.variants.json",
        "batch.example.json",
        "event.example.json",
        "events.invalid.json",
        "events.valid.json",
        "score-snapshot.example.json",
        "score-snapshot.no-purchases.example.json",
        "score-snapshot.variants.json",
    }
    assert {path.name for path in EXAMPLES.iterdir()} == used


@pytest.mark.parametrize("case", VALID_EVENTS, ids=_ids(VALID_EVENTS))
def test_valid_event_example_passes_schema_and_model(case: dict[str, Any]) -> None:
    assert list(EVENTS.iter_errors(case["event"])) == []
    assert parse_event(case["event"]).event_id == case["event"]["event_id"]


@pytest.mark.parametrize("case", INVALID_EVENTS, ids=_ids(INVALID_EVENTS))
def test_invalid_event_example_fails_schema_and_model_with_its_error(case: dict[str, Any]) -> None:
    assert not EVENTS.is_valid(case["event"])
    with pytest.raises(InvalidEvent) as caught:
        parse_event(case["event"])
    assert str(caught.value) == case["error"]


def test_valid_event_examples_cover_every_type_several_times() -> None:
    counts: dict[str, int] = {}
    for case in VALID_EVENTS:
        counts[case["event"]["type"]] = counts.get(case["event"]["type"], 0) + 1
    assert set(counts) == set(EVENT_TYPES)
    assert min(counts.values()) >= 3


def test_invalid_event_examples_cover_every_field_of_the_contract() -> None:
    fields = set(EVENTS.schema["properties"]) | {
        f"properties.{k}" for k in ("owner", "segment", "plan", "seats", "renewal_date", "name")
    }
    blamed = {case["error"].split(":", 1)[0] for case in INVALID_EVENTS}
    assert fields <= blamed, f"no invalid example for {sorted(fields - blamed)}"


def test_single_event_example_is_valid() -> None:
    event = example("event.example.json")
    assert EVENTS.is_valid(event)
    parse_event(event)


def test_batch_example_holds_only_valid_events() -> None:
    batch = example("batch.example.json")["batch"]
    assert len(batch) >= 5
    for event in batch:
        assert EVENTS.is_valid(event)
        parse_event(event)


@pytest.mark.parametrize(
    "name", ["score-snapshot.example.json", "score-snapshot.no-purchases.example.json"]
)
def test_snapshot_example_validates(name: str) -> None:
    assert list(SNAPSHOTS.iter_errors(example(name))) == []


def test_alert_example_validates() -> None:
    assert list(ALERTS.iter_errors(example("alert.example.json"))) == []


@pytest.mark.parametrize(
    "variant", SNAPSHOT_VARIANTS["valid"], ids=_ids(SNAPSHOT_VARIANTS["valid"])
)
def test_snapshot_valid_variant_validates(variant: dict[str, Any]) -> None:
    snapshot = apply_variant(example("score-snapshot.example.json"), variant)
    assert list(SNAPSHOTS.iter_errors(snapshot)) == []


@pytest.mark.parametrize(
    "variant", SNAPSHOT_VARIANTS["invalid"], ids=_ids(SNAPSHOT_VARIANTS["invalid"])
)
def test_snapshot_invalid_variant_fails_at_its_path(variant: dict[str, Any]) -> None:
    snapshot = apply_variant(example("score-snapshot.example.json"), variant)
    assert variant["error_path"] in error_paths(SNAPSHOTS, snapshot)


@pytest.mark.parametrize("variant", ALERT_VARIANTS["valid"], ids=_ids(ALERT_VARIANTS["valid"]))
def test_alert_valid_variant_validates(variant: dict[str, Any]) -> None:
    alert = apply_variant(example("alert.example.json"), variant)
    assert list(ALERTS.iter_errors(alert)) == []


@pytest.mark.parametrize("variant", ALERT_VARIANTS["invalid"], ids=_ids(ALERT_VARIANTS["invalid"]))
def test_alert_invalid_variant_fails_at_its_path(variant: dict[str, Any]) -> None:
    alert = apply_variant(example("alert.example.json"), variant)
    assert variant["error_path"] in error_paths(ALERTS, alert)


def test_experiment_alert_example_validates() -> None:
    assert list(ALERTS.iter_errors(example(EXPERIMENT_ALERT))) == []


@pytest.mark.parametrize(
    "variant", ALERT_VARIANTS["experiment_valid"], ids=_ids(ALERT_VARIANTS["experiment_valid"])
)
def test_experiment_alert_valid_variant_validates(variant: dict[str, Any]) -> None:
    alert = apply_variant(example(EXPERIMENT_ALERT), variant)
    assert list(ALERTS.iter_errors(alert)) == []


@pytest.mark.parametrize(
    "variant", ALERT_VARIANTS["experiment_invalid"], ids=_ids(ALERT_VARIANTS["experiment_invalid"])
)
def test_experiment_alert_invalid_variant_fails_at_its_path(variant: dict[str, Any]) -> None:
    alert = apply_variant(example(EXPERIMENT_ALERT), variant)
    assert variant["error_path"] in error_paths(ALERTS, alert)


def test_snapshot_enums_are_the_agreed_ones() -> None:
    props = SNAPSHOTS.schema["properties"]
    assert props["temperature"]["properties"]["band"]["enum"] == ["hot", "warm", "cool", "cold"]
    assert props["health"]["anyOf"][1]["properties"]["band"]["enum"] == ["good", "fair", "poor"]
    assert props["risk"]["properties"]["band"]["enum"] == ["high", "medium", "low"]
    assert props["quadrant"]["enum"] == ["champion", "upsell", "adoption_risk", "at_risk", None]
    assert props["repurchase"]["properties"]["status"]["enum"] == ["ok", "overdue", "lapsed", "n/a"]
    assert len(props["rfm"]["properties"]["segment"]["enum"]) == 9  # 8 segments + null
    assert len(props["lifecycle"]["properties"]["stage"]["enum"]) == 6


def test_alert_rules_and_severities_are_the_agreed_ones() -> None:
    props = ALERTS.schema["properties"]
    assert props["severity"]["enum"] == ["info", "warning", "critical"]
    assert len(props["rule"]["enum"]) == 12
    exercised = {v["set"]["rule"] for v in ALERT_VARIANTS["valid"] if "rule" in v.get("set", {})}
    exercised |= {example(name)["rule"] for name in ("alert.example.json", EXPERIMENT_ALERT)}
    assert exercised == set(props["rule"]["enum"])


def test_snapshot_and_alert_stay_open_for_added_fields() -> None:
    assert SNAPSHOTS.schema.get("additionalProperties", True) is True
    assert ALERTS.schema.get("additionalProperties", True) is True
    assert EVENTS.schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2026-11-23T18:30:00Z", True),
        ("2016-12-31T23:59:60Z", True),
        ("2026-02-30T00:00:00Z", False),
        ("2026-11-23T18:30:00", False),
        ("2026-11-23T18:30:00+24:00", False),
    ],
)
def test_fallback_date_time_format_check_follows_rfc3339(text: str, ok: bool) -> None:
    assert is_rfc3339_date_time(text) is ok
