"""Producing to and reading back from the real broker in end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from vitals.platform.settings import Settings


async def produce(settings: Settings, records: Iterable[tuple[bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(settings.topic_events, key=key, value=value)
    finally:
        await producer.stop()


def event_records(events: Iterable[dict[str, Any]]) -> list[tuple[bytes | None, bytes]]:
    return [(e["customer_id"].encode(), orjson.dumps(e)) for e in events]


async def read_all(settings: Settings, topic: str) -> list[tuple[bytes | None, dict[str, Any]]]:
    """Every record currently in ``topic`` (all partitions, from the beginning), decoded."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()  # the public topics() drops the rest
        partitions = cluster.partitions_for_topic(topic) or set()
        if not partitions:
            raise LookupError(f"topic {topic!r} does not exist")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[tuple[bytes | None, dict[str, Any]]] = []
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=2000)
            for tp, messages in batch.items():
                for message in messages:
                    out.append((message.key, orjson.loads(message.value)))
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
            if not batch:
                remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        return out
    finally:
        await consumer.stop()


async def produce_pipelined(
    settings: Settings, records: Iterable[tuple[bytes | None, bytes | None]], topic: str = ""
) -> None:
    """Like :func:`produce` without waiting for each record in turn (thousands of records in a
    second instead of tens of seconds); order per partition is kept (idempotent producer).
    ``topic`` defaults to the events topic; ``max_request_size`` admits ~1 MB records."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_request_size=MAX_TEST_RECORD_BYTES,
    )
    await producer.start()
    try:
        futures = [
            await producer.send(topic or settings.topic_events, key=key, value=value)
            for key, value in records
        ]
        for future in futures:
            await future
    finally:
        await producer.stop()


# The broker's default message.max.bytes is 1 MiB (+ batch overhead); the tests' "huge" records
# stay just under it so the broker takes them and the scorer has to cope.
MAX_TEST_RECORD_BYTES = 1_048_576 + 4096


async def topic_size(settings: Settings, topic: str) -> int:
    """Records in ``topic`` (sum of end offsets): a cheap progress measure, no records read."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
        tps = [TopicPartition(topic, p) for p in cluster.partitions_for_topic(topic) or ()]
        return sum((await consumer.end_offsets(tps)).values()) if tps else 0
    finally:
        await consumer.stop()
