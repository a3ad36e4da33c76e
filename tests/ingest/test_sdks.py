"""The real Segment and RudderStack Python SDKs, unchanged (only host, write key and options set),
against a running ingest with API keys on and the real Kafka: their calls land as the right
contract events, and a 503 after the write landed makes them resend with the same messageIds."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from e2e.kafka_io import read_all
from pydantic import SecretStr
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

from vitals.ingest.app import create_app
from vitals.ingest.producer import KafkaEventSink
from vitals.platform.settings import Settings

from .live import LostAckSink, serving

WRITE_KEY = "sdk-write-key-0123456789"
KEYS = SecretStr(f"{WRITE_KEY}:ingest;reader-0123456789:read")
# The SDKs' own retry waits: Segment honours Retry-After (5 s), RudderStack backs off 1-2 s.
CONNECT_TIMEOUT_S = 15.0

SDKS: dict[str, Callable[[str, list[Exception]], Any]] = {
    "segment": lambda host, errors: SegmentClient(
        write_key=WRITE_KEY, host=host, on_error=lambda e, batch: errors.append(e)
    ),
    "rudderstack": lambda host, errors: RudderClient(
        write_key=WRITE_KEY, host=host, on_error=lambda e, batch: errors.append(e)
    ),
}


async def connected(kafka: KafkaEventSink) -> None:
    """Wait for the server's producer (it lives on the server thread's loop) to connect."""
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while not kafka.connected:
        assert time.monotonic() < deadline, "the test Kafka took no producer"
        await asyncio.sleep(0.05)


def drive(client: Any) -> None:
    """What a B2B app sends: an account, a person, usage, a page view, an order."""
    account = {"groupId": "acme"}
    client.group(
        user_id="u-1",
        group_id="acme",
        traits={"name": "Acme", "plan": "pro", "seats": 12, "email": "it@acme.test"},
    )
    client.identify(user_id="u-1", traits={"email": "ada@acme.test", "name": "Ada"})
    client.track(
        user_id="u-1", event="Report Exported", properties={"format": "pdf"}, context=dict(account)
    )
    client.page(
        user_id="u-1", name="Dashboard", properties={"path": "/dash"}, context=dict(account)
    )
    client.track(
        user_id="u-1",
        event="Order Completed",
        properties={"order_id": 1001, "revenue": 49.5, "currency": "usd"},
        context=dict(account),
    )


@pytest.mark.parametrize("sdk", sorted(SDKS))
async def test_sdk_calls_land_as_contract_events_and_a_lost_ack_is_resent_same_ids(
    sdk: str, settings: Settings
) -> None:
    settings = settings.model_copy(update={"api_keys": KEYS})
    kafka = KafkaEventSink(settings)
    sink = LostAckSink(kafka, failures=1)
    errors: list[Exception] = []
    with serving(create_app(settings, sink)) as host:
        await connected(kafka)
        client = SDKS[sdk](host, errors)
        drive(client)
        await asyncio.to_thread(client.flush)  # returns once every batch was answered 200
        await asyncio.to_thread(client.join)
    assert errors == []
    assert len(sink.failed) == 1  # the 503 happened, and the SDK retried past it

    values = [value for _, value in await read_all(settings, settings.topic_events)]
    copies = Counter(v["event_id"] for v in values)
    failed_ids = {orjson.loads(value)["event_id"] for _, value in sink.failed[0]}
    # Everything in the batch that got the 503 was written twice, with the same event_id
    # (the messageId): the scorer's de-duplication counts it once.
    assert failed_ids and all(copies[i] == 2 for i in failed_ids)
    assert all(n == 1 for i, n in copies.items() if i not in failed_ids)

    by_kind = {(v["type"], v.get("name")): v for v in values}
    assert set(by_kind) == {
        ("profile", None),
        ("usage", "Report Exported"),
        ("usage", "Viewed Dashboard Page"),
        ("purchase", "order_completed"),
    }  # identify: accepted and ignored in B2B mode
    assert all(v["customer_id"] == "acme" for v in values)
    assert by_kind[("profile", None)]["properties"] == {"name": "Acme", "plan": "pro", "seats": 12}
    order = by_kind[("purchase", "order_completed")]
    assert (order["amount"], order["currency"], order["properties"]["order_id"]) == (
        49.5,
        "USD",
        "1001",
    )
    assert by_kind[("usage", "Report Exported")]["user_id"] == "u-1"


async def test_sdk_with_a_wrong_write_key_is_refused_and_told_why(settings: Settings) -> None:
    settings = settings.model_copy(update={"api_keys": KEYS})
    errors: list[Exception] = []
    with serving(create_app(settings)) as host:
        client = SegmentClient(
            write_key="not-a-key", host=host, on_error=lambda e, batch: errors.append(e)
        )
        client.track(user_id="u-1", event="x", context={"groupId": "acme"})
        await asyncio.to_thread(client.flush)
        await asyncio.to_thread(client.join)
    assert len(errors) == 1
    assert errors[0].status == 401  # type: ignore[attr-defined]
    assert "VITALS_API_KEYS" in errors[0].message  # type: ignore[attr-defined]


async def test_b2c_identify_from_the_sdk_is_the_person_profile(settings: Settings) -> None:
    settings = settings.model_copy(update={"api_keys": KEYS, "ingest_customer_model": "b2c"})
    kafka = KafkaEventSink(settings)
    errors: list[Exception] = []
    with serving(create_app(settings, kafka)) as host:
        await connected(kafka)
        client = RudderClient(
            write_key=WRITE_KEY, host=host, on_error=lambda e, batch: errors.append(e)
        )
        client.identify(user_id="shopper-9", traits={"name": "Ada", "email": "ada@x.test"})
        client.track(user_id="shopper-9", event="Order Completed", properties={"total": 30})
        client.group(user_id="shopper-9", group_id="household", traits={"plan": "family"})
        await asyncio.to_thread(client.flush)
        await asyncio.to_thread(client.join)
    assert errors == []
    values = [value for _, value in await read_all(settings, settings.topic_events)]
    assert [(v["type"], v["customer_id"]) for v in values] == [
        ("profile", "shopper-9"),
        ("purchase", "shopper-9"),
    ]  # the group call is ignored in B2C mode
    assert values[0]["properties"] == {"name": "Ada"}
