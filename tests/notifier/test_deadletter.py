from __future__ import annotations

import asyncio
import json

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from vitals.notifier.deadletter import InMemoryDeadLetterSink, KafkaDeadLetterSink
from vitals.platform.settings import Settings

from .support import make_alert


async def test_in_memory_sink_keeps_alert_destination_and_reason() -> None:
    sink = InMemoryDeadLetterSink(clock=lambda: 42.0)
    alert = make_alert()
    await sink.dead(alert, "sales", "HTTP 404")
    assert sink.records == [
        {"alert": alert, "destination_id": "sales", "reason": "HTTP 404", "dead_at": 42.0}
    ]


async def test_kafka_sink_produces_to_the_dead_letter_topic(settings: Settings) -> None:
    alert = make_alert()
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        await KafkaDeadLetterSink(producer, settings.topic_alerts_dead).dead(
            alert, "sales", "HTTP 410 gone"
        )
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        settings.topic_alerts_dead,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        found = None
        for _ in range(10):
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), 10)
            for record in (r for rs in batch.values() for r in rs):
                if record.key == alert["alert_id"].encode():
                    found = json.loads(record.value)
            if found:
                break
    finally:
        await consumer.stop()
    assert found is not None
    assert found["alert"] == alert and found["destination_id"] == "sales"
    assert found["reason"] == "HTTP 410 gone" and found["dead_at"] > 0
