"""The ingest app over the real Kafka: records land keyed by customer; no 200 without a write."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import DefaultPartitioner
from e2e.services import await_for

from vitals.ingest.app import create_app
from vitals.ingest.limits import RETRY_AFTER_S
from vitals.ingest.producer import KafkaEventSink
from vitals.platform.settings import Settings

from .support import event, running

# How long a test waits for records to be readable after a 200 (they are acknowledged already,
# so this only covers the consumer's own start-up).
CONSUME_TIMEOUT_S = 15.0
# A sink that must fail, and how soon: the timeouts are shortened so the test stays fast; the
# bound leaves room for a loaded 2-core machine.
FAST_REQUEST_TIMEOUT_MS = 1_000
FAST_DELIVERY_TIMEOUT_S = 3.0
FAIL_WITHIN_S = 8.0


async def consume_all(settings: Settings, expected: int) -> list[tuple[int, bytes, bytes]]:
    """(partition, key, value) of the first ``expected`` records of the events topic."""
    # No group: the consumer is assigned every partition of the topic and reads from the start.
    consumer = AIOKafkaConsumer(
        settings.topic_events,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        found: list[tuple[int, bytes, bytes]] = []
        deadline = time.monotonic() + CONSUME_TIMEOUT_S
        while len(found) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for tp, records in batches.items():
                found += [(tp.partition, r.key, r.value) for r in records]
        return found
    finally:
        await consumer.stop()


@pytest.fixture
async def kafka_client(settings: Settings) -> AsyncIterator[object]:
    app = create_app(settings)
    async with running(app) as client:
        sink = app.state.sink
        assert isinstance(sink, KafkaEventSink)
        assert await sink.wait_connected(10.0), "the test Kafka did not accept a producer"
        yield client


async def test_batch_lands_in_kafka_keyed_by_customer(settings: Settings, kafka_client) -> None:  # type: ignore[no-untyped-def]
    batch = [event(i, customer=f"cust-{i % 4}") for i in range(40)]
    batch[7] = {**batch[7], "amount": "12"}  # rejected, must not be written
    response = await kafka_client.post("/v1/batch", json={"batch": batch})
    assert response.status_code == 200
    assert response.json()["accepted"] == 39
    assert [r["index"] for r in response.json()["rejected"]] == [7]

    records = await consume_all(settings, 39)
    assert len(records) == 39
    by_id = {orjson.loads(value)["event_id"]: (key, value) for _, key, value in records}
    assert "evt-7" not in by_id
    for sent in batch[:7] + batch[8:]:
        key, value = by_id[str(sent["event_id"])]
        assert key == str(sent["customer_id"]).encode()
        assert orjson.loads(value) == sent
    # One customer, one partition: the scorer's per-customer order depends on it.
    partitions_of: dict[bytes, set[int]] = {}
    for partition, key, _ in records:
        partitions_of.setdefault(key, set()).add(partition)
    assert all(len(parts) == 1 for parts in partitions_of.values())
    # ... and it is the partition Kafka's default partitioner picks for the key (the sink groups
    # records per partition itself, so this must keep holding).
    everything = list(range(settings.partitions))
    for key, parts in partitions_of.items():
        assert parts == {DefaultPartitioner()(key, everything, everything)}


async def test_readyz_is_ready_with_kafka_up(kafka_client) -> None:  # type: ignore[no-untyped-def]
    response = await kafka_client.get("/readyz")
    assert response.status_code == 200


async def test_missing_topic_is_503_within_the_delivery_bound(settings: Settings) -> None:
    missing = settings.model_copy(update={"topic_events": f"{settings.topic_events}.absent"})
    sink = KafkaEventSink(
        missing,
        request_timeout_ms=FAST_REQUEST_TIMEOUT_MS,
        delivery_timeout_s=FAST_DELIVERY_TIMEOUT_S,
    )
    async with running(create_app(missing, sink)) as client:
        assert await sink.wait_connected(10.0)
        started = time.monotonic()
        response = await client.post("/v1/batch", json={"batch": [event(1)]})
        elapsed = time.monotonic() - started
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    assert elapsed < FAIL_WITHIN_S
    assert "vitals_ingest_produce_failures_total" in metrics
    assert "vitals_ingest_events_accepted_total 0.0" in metrics


async def test_unreachable_kafka_is_503_with_retry_after_and_not_ready() -> None:
    settings = Settings(kafka_bootstrap="127.0.0.1:1")  # nothing listens on port 1
    async with running(create_app(settings)) as client:
        response = await client.post("/v1/batch", json={"batch": [event(1)]})
        ready = await client.get("/readyz")
        health = await client.get("/healthz")
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    assert response.headers["content-type"] == "application/problem+json"
    assert "not connected to Kafka at 127.0.0.1:1" in response.json()["detail"]
    assert ready.status_code == 503 and health.status_code == 200
    assert 'vitals_ingest_produce_failures_total{reason="not_connected"} 1.0' in metrics


async def test_sink_keeps_retrying_and_stops_cleanly_while_kafka_is_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="vitals.ingest.producer")
    sink = KafkaEventSink(Settings(kafka_bootstrap="127.0.0.1:1"))
    await sink.start()

    def retries() -> int:
        return sum(r.getMessage() == "kafka not reachable, retrying" for r in caplog.records)

    # Still retrying, not crashed: a second failed attempt was logged (not: time passed).
    await await_for(lambda: retries() >= 2, timeout=30, what="a second connection attempt")
    assert not sink.connected
    assert not await sink.ready()
    await sink.stop()
    connecting = [t for t in asyncio.all_tasks() if t.get_name() == "ingest-kafka-connect"]
    assert not connecting  # stop() cancelled and awaited the connection loop


async def test_concurrent_batches_share_rounds_and_all_land_once_in_order(
    settings: Settings, kafka_client
) -> None:  # type: ignore[no-untyped-def]
    # 16 requests at once (more than the producer keeps in flight per partition): each must be
    # answered 200 with its events in Kafka, once, each customer's events in request order.
    batches = [
        [event(b * 100 + i, customer=f"cust-{i % 8}") for i in range(100)] for b in range(16)
    ]
    responses = await asyncio.gather(
        *(kafka_client.post("/v1/batch", json={"batch": batch}) for batch in batches)
    )
    assert [r.status_code for r in responses] == [200] * 16
    records = await consume_all(settings, 1600)
    ids = [orjson.loads(value)["event_id"] for _, _, value in records]
    assert len(ids) == len(set(ids)) == 1600
    for customer in (f"cust-{i}" for i in range(8)):
        mine = [
            int(orjson.loads(v)["event_id"].removeprefix("evt-"))
            for _, k, v in records
            if k == customer.encode()
        ]
        # Within one request, a customer's events keep their order.
        for b in range(16):
            in_request = [n for n in mine if n // 100 == b]
            assert in_request == sorted(in_request)
