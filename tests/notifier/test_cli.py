"""The `vitals notifier` plumbing: offset tracking, bootstrap destinations, and a full run
against the real Kafka and Redis (alerts topic in, webhook server out, dead letters out)."""

from __future__ import annotations

import asyncio
import json
import uuid

import click
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from e2e.services import await_for

from vitals.notifier.cli import OffsetTracker, bootstrap_destinations, notifier, run_notifier
from vitals.notifier.delivery_log import RedisDeliveryLog
from vitals.notifier.destinations import InMemoryDestinationStore
from vitals.platform.settings import Settings

from .support import Reply, ScriptedServer, create_topics, make_alert


def test_notifier_is_a_click_command() -> None:
    assert isinstance(notifier, click.Command) and notifier.name == "notifier"


async def test_offsets_commit_only_past_finished_prefixes() -> None:
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in range(4)]
    tracker = OffsetTracker()
    for offset, fut in zip((10, 11, 12, 13), futures, strict=True):
        tracker.add("p0", offset, fut)
    assert tracker.committable() == {}
    futures[1].set_result({"d": "delivered"})
    assert tracker.committable() == {}  # 10 is still in flight
    futures[0].set_result({"d": "dead"})
    assert tracker.committable() == {"p0": 12}
    futures[2].set_result({"d": "failed"})  # not safely handled: hold the commit here
    futures[3].set_result({})
    assert tracker.committable() == {}


async def test_bootstrap_writes_destinations_and_errors_hide_the_url() -> None:
    store = InMemoryDestinationStore()
    raw = json.dumps(
        [
            {"id": "a", "kind": "slack", "url": "https://hooks.slack.com/services/X/Y/Z"},
            {"id": "b", "kind": "discord", "url": "https://discord.com/api/webhooks/1/t"},
        ]
    )
    assert await bootstrap_destinations(store, raw) == 2
    assert [d.id for d in await store.list()] == ["a", "b"]
    assert await bootstrap_destinations(store, None) == 0
    bad = json.dumps([{"id": "c", "kind": "slack", "url": "ftp://h/SECRETPATH"}])
    with pytest.raises(click.UsageError) as err:
        await bootstrap_destinations(store, bad)
    assert "0.url" in str(err.value) and "SECRETPATH" not in str(err.value)


async def test_run_consumes_alerts_delivers_and_dead_letters(
    settings: Settings, server: ScriptedServer
) -> None:
    topic = f"alerts-test-{uuid.uuid4().hex[:8]}"
    dead_topic = f"alerts-dead-test-{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(update={"topic_alerts": topic, "topic_alerts_dead": dead_topic})
    destinations = json.dumps(
        [
            {"id": "ok", "kind": "slack", "url": server.url("slack/ok0000000")},
            {"id": "gone", "kind": "discord", "url": server.script("dc/gone00000", Reply(404))},
        ]
    )
    await create_topics(settings.kafka_bootstrap, topic, dead_topic)
    good, broken = make_alert(), b"not json"
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, json.dumps(good).encode(), key=b"acme")
        await producer.send_and_wait(topic, broken, key=b"x")
    finally:
        await producer.stop()

    stop = asyncio.Event()
    run = asyncio.create_task(
        run_notifier(
            settings,
            stop,
            stop_deadline_s=2,
            bootstrap_json=destinations,
            group_id=f"notifier-test-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
        )
    )
    try:
        await await_for(
            lambda: server.received("slack/ok0000000") or run.done(), timeout=20, interval=0.01
        )
        await await_for(lambda: server.received("dc/gone00000"), timeout=5)
    finally:
        stop.set()
        await asyncio.wait_for(run, 15)

    assert server.received("slack/ok0000000")[0].json()["blocks"][0]["type"] == "header"
    redis = aioredis.from_url(settings.redis_url)
    try:
        states = {
            s.destination_id: s.status
            for s in await RedisDeliveryLog(redis).for_alert(good["alert_id"])
        }
    finally:
        await redis.aclose()
    assert states == {"ok": "delivered", "gone": "dead"}

    consumer = AIOKafkaConsumer(
        dead_topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        records = []
        while len(records) < 2:
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), 10)
            records += [json.loads(r.value) for rs in batch.values() for r in rs]
            if not batch:
                break
    finally:
        await consumer.stop()
    reasons = {r["destination_id"]: r["reason"] for r in records}
    assert "HTTP 404" in reasons["gone"]
    assert reasons[""].startswith("invalid:")
