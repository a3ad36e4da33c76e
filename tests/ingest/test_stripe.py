"""Stripe webhooks: signatures verified as Stripe signs them, events mapped to subscription
events with MRR, billing period and trials."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson
import pytest
from pydantic import SecretStr

from vitals.core.events import parse_event
from vitals.ingest.app import create_app
from vitals.ingest.mapped import Ignored
from vitals.ingest.stripe_map import to_contract
from vitals.platform.settings import Settings

from .stripe_fixtures import (
    CREATED,
    SECRET,
    body,
    envelope,
    invoice_2024,
    invoice_basil,
    price,
    sign,
    subscription,
)
from .support import MemorySink, running

KEY = "vitals_customer_id"
WHEN = datetime.fromtimestamp(CREATED, UTC).isoformat().replace("+00:00", "Z")


def mapped(kind: str, obj: dict, previous: dict | None = None) -> dict:  # type: ignore[type-arg]
    result = to_contract(envelope(kind, obj, previous), KEY)
    assert not isinstance(result, Ignored), result
    parse_event(result)  # always a valid contract event
    return result


def test_subscription_created_is_started_with_mrr_and_period() -> None:
    sub = subscription([(price(4900), 3), (price(1000, price_id="price_addon"), 1)])
    event = mapped("customer.subscription.created", sub)
    assert event == {
        "event_id": "evt_1QxYz",
        "customer_id": "acme",
        "type": "subscription",
        "timestamp": WHEN,
        "name": "started",
        "amount": 157.0,  # 3 × 49 + 10 per month
        "currency": "USD",
        "properties": {
            "stripe_subscription_id": "sub_1Abc",
            "interval": "month",
            "interval_count": 1,
            "plan": "price_pro_m",
        },
    }


@pytest.mark.parametrize(
    ("unit", "interval", "count", "currency", "mrr"),
    [
        (120_000, "year", 1, "usd", 100.0),  # the contract's example: 1,200/year is 100
        (30_000, "month", 3, "usd", 100.0),  # quarterly
        (120_000, "year", 1, "jpy", 10_000.0),  # zero-decimal currency
        (1_000, "week", 1, "usd", 43.48),
    ],
)
def test_amounts_are_normalised_to_monthly_major_units(
    unit: int, interval: str, count: int, currency: str, mrr: float
) -> None:
    sub = subscription([(price(unit, interval, count), 1)], currency=currency)
    event = mapped("customer.subscription.created", sub)
    assert event["amount"] == pytest.approx(mrr, abs=0.01)
    assert event["currency"] == currency.upper()
    assert (event["properties"]["interval"], event["properties"]["interval_count"]) == (
        interval,
        count,
    )


def test_trialing_subscription_is_a_started_trial() -> None:
    event = mapped("customer.subscription.created", subscription([(price(4900), 1)], "trialing"))
    assert event["name"] == "started" and event["properties"]["trial"] is True


def test_incomplete_subscription_starts_when_it_becomes_active() -> None:
    sub = subscription([(price(4900), 1)], "incomplete")
    assert isinstance(to_contract(envelope("customer.subscription.created", sub), KEY), Ignored)
    active = {**sub, "status": "active"}
    assert mapped("customer.subscription.updated", active, {"status": "incomplete"})["name"] == (
        "started"
    )


@pytest.mark.parametrize(
    ("change", "previous", "name"),
    [
        ({"cancel_at_period_end": True}, {"cancel_at_period_end": False}, "cancellation_requested"),
        ({"cancel_at": CREATED + 86400}, {"cancel_at": None}, "cancellation_requested"),
    ],
)
def test_cancellation_at_period_end_is_a_cancellation_request(
    change: dict,
    previous: dict,
    name: str,  # type: ignore[type-arg]
) -> None:
    sub = subscription([(price(4900), 1)], **change)
    assert mapped("customer.subscription.updated", sub, previous)["name"] == name


@pytest.mark.parametrize(("old_quantity", "name"), [(1, "upgraded"), (5, "downgraded")])
def test_item_changes_are_upgrades_or_downgrades_by_mrr(old_quantity: int, name: str) -> None:
    sub = subscription([(price(4900), 3)])
    old_items = subscription([(price(4900), old_quantity)])["items"]
    event = mapped("customer.subscription.updated", sub, {"items": old_items})
    assert (event["name"], event["amount"]) == (name, 147.0)


def test_deleted_subscription_is_cancelled() -> None:
    sub = subscription([(price(4900), 1)], "canceled")
    assert mapped("customer.subscription.deleted", sub)["name"] == "cancelled"


def test_renewal_invoice_is_renewed_with_mrr() -> None:
    event = mapped("invoice.paid", invoice_2024(120_000, "year"))
    assert (event["name"], event["amount"], event["customer_id"]) == ("renewed", 100.0, "acme")
    assert event["properties"]["interval"] == "year"
    assert event["properties"]["stripe_invoice_id"] == "in_1Renew"


@pytest.mark.parametrize(
    ("days", "interval", "count", "mrr"),
    [
        (365, "year", 1, 100.0),
        (31, "month", 1, 1200.0),
        (28, "month", 1, 1200.0),
        (91, "month", 3, 400.0),
    ],
)
def test_renewal_invoice_without_prices_on_lines_reads_the_period_from_the_line(
    days: int, interval: str, count: int, mrr: float
) -> None:
    event = mapped("invoice.paid", invoice_basil(120_000, days))
    assert event["name"] == "renewed"
    assert (event["properties"]["interval"], event["properties"]["interval_count"]) == (
        interval,
        count,
    )
    assert event["amount"] == pytest.approx(mrr)
    assert event["customer_id"] == "cus_Acme"  # no metadata: Stripe's customer id
    assert event["currency"] == "EUR"


def test_payment_failed_invoice_is_payment_failed() -> None:
    event = mapped("invoice.payment_failed", invoice_2024(4900, attempt_count=2))
    assert event["name"] == "payment_failed" and event["properties"]["attempt_count"] == 2
    assert "amount" not in event


@pytest.mark.parametrize(
    ("kind", "obj"),
    [
        ("invoice.paid", invoice_2024(4900, reason="subscription_create")),
        ("invoice.payment_succeeded", invoice_2024(4900)),  # same payment as invoice.paid
        ("invoice.paid", {**invoice_2024(4900), "subscription": None}),
        ("charge.succeeded", {"id": "ch_1", "object": "charge"}),
        ("customer.subscription.updated", subscription([(price(4900), 1)])),  # nothing changed
    ],
)
def test_events_with_no_contract_meaning_are_ignored(kind: str, obj: dict) -> None:  # type: ignore[type-arg]
    assert isinstance(
        to_contract(envelope(kind, obj, {} if "updated" in kind else None), KEY), Ignored
    )


# --- the HTTP door -------------------------------------------------------------------------------

SETTINGS = Settings(stripe_webhook_secret=SecretStr(SECRET))
RENEWAL = envelope("invoice.paid", invoice_2024(4900), event_id="evt_renewal_1")


async def post(client, payload: bytes, signature: str | None):  # type: ignore[no-untyped-def]
    headers = {"content-type": "application/json; charset=utf-8"}
    if signature is not None:
        headers["stripe-signature"] = signature
    return await client.post("/v1/stripe/webhook", content=payload, headers=headers)


async def test_signed_renewal_is_written_and_a_retry_carries_the_same_event_id() -> None:
    sink = MemorySink()
    payload = body(RENEWAL)
    async with running(create_app(SETTINGS, sink)) as client:
        first = await post(client, payload, sign(payload))
        retry = await post(client, payload, sign(payload))  # Stripe re-signs each attempt
    assert first.status_code == retry.status_code == 200, first.text
    assert first.json()["accepted"] == 1
    values = [orjson.loads(v) for _, v in sink.records]
    assert [v["event_id"] for v in values] == ["evt_renewal_1", "evt_renewal_1"]
    assert values[0]["name"] == "renewed" and values[0]["amount"] == 49.0
    assert sink.records[0][0] == b"acme"


async def test_rolled_secret_with_two_signatures_verifies() -> None:
    sink = MemorySink()
    payload = body(RENEWAL)
    now = int(time.time())
    old = sign(payload, "whsec_old", now)
    new = sign(payload, timestamp=now)
    header = f"{old},v1={new.split('v1=')[1]}"
    async with running(create_app(SETTINGS, sink)) as client:
        response = await post(client, payload, header)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "case", ["tampered", "stale", "wrong_secret", "no_header", "garbage_header", "v0_only"]
)
async def test_unverified_deliveries_are_400_and_write_nothing(case: str) -> None:
    sink = MemorySink()
    payload = body(RENEWAL)
    signature: str | None = sign(payload)
    if case == "tampered":
        payload = payload.replace(b"4900", b"9900")
    elif case == "stale":
        signature = sign(payload, timestamp=int(time.time()) - 301)
    elif case == "wrong_secret":
        signature = sign(payload, "whsec_someone_else")
    elif case == "no_header":
        signature = None
    elif case == "garbage_header":
        signature = "nonsense"
    elif case == "v0_only":
        signature = sign(payload).replace("v1=", "v0=")
    async with running(create_app(SETTINGS, sink)) as client:
        response = await post(client, payload, signature)
        metrics = (await client.get("/metrics")).text
    assert 'vitals_ingest_batches_total{outcome="bad_signature"} 1.0' in metrics
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Signature not verified"
    assert sink.batches == []


async def test_ignored_stripe_events_are_200_so_stripe_stops_retrying() -> None:
    sink = MemorySink()
    payload = body(envelope("charge.succeeded", {"id": "ch_1", "object": "charge"}))
    async with running(create_app(SETTINGS, sink)) as client:
        response = await post(client, payload, sign(payload))
    assert response.status_code == 200
    assert response.json()["accepted"] == 0
    assert response.json()["ignored"][0]["reason"] == "Stripe charge.succeeded events are not used"
    assert sink.batches == []


async def test_without_a_secret_the_stripe_door_is_closed() -> None:
    payload = body(RENEWAL)
    async with running(create_app(Settings(), MemorySink())) as client:
        response = await post(client, payload, sign(payload))
    assert response.status_code == 404
    assert "VITALS_STRIPE_WEBHOOK_SECRET" in response.json()["detail"]


async def test_stripe_door_needs_no_api_key_but_its_signature() -> None:
    sink = MemorySink()
    settings = SETTINGS.model_copy(update={"api_keys": SecretStr("k-0123456789:ingest")})
    payload = body(RENEWAL)
    async with running(create_app(settings, sink)) as client:
        response = await post(client, payload, sign(payload))
    assert response.status_code == 200
