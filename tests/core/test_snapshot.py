from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator

from vitals.core.config import DEFAULT_CONFIG, MoneyConfig
from vitals.core.events import parse_event
from vitals.core.fold import apply_event
from vitals.core.snapshot import SNAPSHOT_SCHEMA, evaluate, iso
from vitals.core.state import CustomerState
from vitals.scorer.offline import OfflineScorer

from .conftest import EventFactory, at
from .test_fold import bounded_shuffle

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "score-snapshot.schema.json"


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def errors(validator: Draft202012Validator, snapshot: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(snapshot)
    ]


EURO_REPORTING = replace(DEFAULT_CONFIG, money=MoneyConfig(reporting_currency="EUR"))


def full_customer(make: EventFactory) -> OfflineScorer:
    """Uses the product, subscribes and buys: every part of the snapshot is filled."""
    events = [
        make.profile(
            0,
            name="Acme",
            owner="maria@example.com",
            plan="pro",
            seats=10,
            renewal_date="2026-04-01",
        ),
        make.subscription(0, "started", amount=99.0, currency="EUR"),
        make.purchase(10, amount=30.0),
        make.subscription(30, "renewed", amount=99.0),
        make.purchase(40, amount=45.0),
        make.subscription(59.8, "payment_failed"),
    ]
    events += [
        make.usage(day + 0.5, name=f"feature.{day % 5}", user_id=f"u{day % 4}") for day in range(60)
    ]
    # The customer pays in euros; the tenant reports in euros.
    engine = OfflineScorer(EURO_REPORTING)
    for event in sorted(events, key=lambda e: e.ts):
        assert engine.apply(event).status == "applied"
    return engine


def test_snapshot_of_a_full_customer_validates(
    make: EventFactory, validator: Draft202012Validator
) -> None:
    snap = full_customer(make).snapshot("acme", now=at(62))
    assert errors(validator, snap) == []
    assert snap["schema"] == SNAPSHOT_SCHEMA
    assert snap["as_of"] == "2026-03-04T00:00:00.000Z"
    assert snap["profile"]["owner"] == "maria@example.com"
    assert snap["currency"] == "EUR"
    assert snap["mrr"] == 99.0
    assert snap["temperature"]["model"] == "sbg"
    assert snap["quadrant"] in {"champion", "upsell", "adoption_risk", "at_risk"}
    assert snap["clv"]["method"] == "sbg_truncated_derl"
    assert snap["stats"]["usage_events"] == 60 and snap["stats"]["purchases"] == 2
    assert any(r["text"] == "payment failed 2 days ago" for r in snap["reasons"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams=bounded_shuffle())
def test_snapshots_of_random_customers_who_use_and_buy_validate_and_are_strict_json(
    streams: tuple[list[dict[str, Any]], list[dict[str, Any]]], validator: Draft202012Validator
) -> None:
    make = EventFactory()
    state = CustomerState("acme")

    # A first usage event and purchase make health, quadrant and rfm non-null (nulls: below).
    for raw in [
        make.raw("usage", 0, name="seed"),
        make.raw("purchase", 0, amount=10.0),
        *streams[1],
    ]:
        apply_event(state, parse_event(raw), DEFAULT_CONFIG)
    for offset_days in (0.0, 3.0, 90.0):
        snap = evaluate(
            state, state.last_ts + offset_days * 86_400, OfflineScorer().params, DEFAULT_CONFIG
        )
        json.dumps(snap, allow_nan=False)  # NaN/inf would not be valid JSON
        assert errors(validator, snap) == []


# health, quadrant and rfm are null for customers who never used / never bought: the schema
# allows null for them (it did not when these tests were first written).
def test_snapshot_of_a_never_used_customer_validates(
    make: EventFactory, validator: Draft202012Validator
) -> None:
    engine = OfflineScorer()
    engine.apply(make.purchase(0, amount=20.0))
    engine.apply(make.purchase(30, amount=25.0))
    snap = engine.snapshot("acme")
    assert snap["health"] is None and snap["quadrant"] is None
    assert errors(validator, snap) == []


def test_snapshot_of_a_never_bought_customer_validates(
    make: EventFactory, validator: Draft202012Validator
) -> None:
    engine = OfflineScorer()
    engine.apply(make.usage(0))
    snap = engine.snapshot("acme")
    assert snap["rfm"] is None and snap["clv"] is None
    assert errors(validator, snap) == []


def test_never_used_customer_snapshot_has_null_health_and_quadrant(make: EventFactory) -> None:
    engine = OfflineScorer()
    engine.apply(make.purchase(0, amount=20.0))
    snap = engine.snapshot("acme")
    assert snap["health"] is None and snap["quadrant"] is None
    assert snap["rfm"] is not None and snap["clv"] is not None
    assert set(snap["risk"]["components"]) == {"intercept", "from_temperature"}


def test_reasons_are_ranked_by_impact_and_capped(make: EventFactory) -> None:
    snap = full_customer(make).snapshot("acme", now=at(120))
    impacts = [abs(r["impact"]) for r in snap["reasons"]]
    assert impacts == sorted(impacts, reverse=True)
    assert 1 <= len(snap["reasons"]) <= 5
    assert len(snap["risk_reasons"]) <= 4


def test_evaluate_does_not_change_the_state(make: EventFactory) -> None:
    engine = full_customer(make)
    before = engine.states["acme"].to_bytes()
    engine.snapshot("acme", now=at(500))
    assert engine.states["acme"].to_bytes() == before


def test_iso_formats_unix_seconds_as_utc_with_z() -> None:
    assert iso(at(0)) == "2026-01-01T00:00:00.000Z"
    assert iso(0.0) is None
