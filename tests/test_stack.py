"""The local stack (deploy/stack.sh via vitals.tools.stackctl), the topics and the fixtures work."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from vitals.platform.settings import Settings
from vitals.platform.topics import (
    TopicError,
    ensure_topics,
    list_topics,
    topic_specs,
    wait_for_kafka,
)
from vitals.tools.stackctl import StackError, repo_root, run_blocking, stack_running, stack_up

# A record produced on a healthy single node arrives in well under a second; this bounds a hang.
CONSUME_TIMEOUT_S = 20.0


def _pid(path: Path) -> int:
    return int(path.read_text().strip())


async def _topic_config(settings: Settings, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        await admin.start()
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    [resource] = response.to_object()["resources"]
    assert resource["error_code"] == 0, resource
    return {e["config_names"]: e["config_value"] for e in resource["config_entries"]}


async def _partition_counts(settings: Settings) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        await admin.start()
        topics = await admin.describe_topics(None)
    finally:
        await admin.close()
    return {t["topic"]: len(t["partitions"]) for t in topics if t["error_code"] == 0}


async def test_kafka_delivers_a_produced_record_to_a_consumer(settings: Settings) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            settings.topic_events, key=b"customer-1", value=b'{"event_id":"e1"}'
        )
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        settings.topic_events,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"{settings.scorer_app_id}-probe",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), CONSUME_TIMEOUT_S)
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"customer-1", b'{"event_id":"e1"}')
    assert (record.partition, record.offset) == (sent.partition, sent.offset)


def test_redis_answers_ping_set_get_in_an_empty_test_database(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        assert client.ping() is True
        assert client.dbsize() == 0
        client.set("vitals:probe", "42")
        assert client.get("vitals:probe") == b"42"
    finally:
        client.close()


def test_each_test_gets_its_own_topics_redis_db_and_data_dir(
    stack: Settings, settings: Settings, tmp_path: Path
) -> None:
    assert settings.topic_events != stack.topic_events
    assert settings.topic_events.startswith(f"{stack.topic_events}-")
    assert settings.scorer_app_id != stack.scorer_app_id
    db = int(settings.redis_url.rsplit("/", 1)[1])
    assert 1 <= db <= 15
    assert settings.data_dir.is_dir() and settings.data_dir.is_relative_to(tmp_path)
    existing = run_blocking(lambda: list_topics(settings))
    assert {spec.name for spec in topic_specs(settings)} <= set(existing)


def test_up_twice_keeps_the_running_processes(stack: Settings) -> None:
    kafka_pid_file = stack.data_dir / "kafka" / "kafka.pid"
    redis_pid_file = stack.data_dir / "redis" / "redis.pid"
    before = (_pid(kafka_pid_file), _pid(redis_pid_file))

    stack_up(stack, create_topics=False)

    assert (_pid(kafka_pid_file), _pid(redis_pid_file)) == before
    assert stack_running(stack)


async def test_scores_topic_is_compacted_and_events_topic_is_not(settings: Settings) -> None:
    scores = await _topic_config(settings, settings.topic_scores)
    events = await _topic_config(settings, settings.topic_events)
    assert scores["cleanup.policy"] == "compact"
    assert events["cleanup.policy"] == "delete"


async def test_topics_get_the_configured_partitions(settings: Settings) -> None:
    counts = await _partition_counts(settings)
    assert counts[settings.topic_events] == settings.partitions
    assert counts[settings.topic_scores] == settings.partitions
    assert counts[settings.topic_alerts] == settings.partitions
    assert counts[settings.topic_events_dead] == 1
    assert counts[settings.topic_alerts_dead] == 1


async def test_ensure_topics_twice_changes_nothing(settings: Settings) -> None:
    ours = {spec.name for spec in topic_specs(settings)}
    before = {t: n for t, n in (await _partition_counts(settings)).items() if t in ours}
    await ensure_topics(settings)
    after = {t: n for t, n in (await _partition_counts(settings)).items() if t in ours}
    assert after == before
    assert set(before) == ours


async def test_ensure_topics_refuses_a_topic_with_fewer_partitions(settings: Settings) -> None:
    wider = settings.model_copy(update={"partitions": settings.partitions * 2})
    with pytest.raises(TopicError, match="partitions"):
        await ensure_topics(wider)


async def test_broker_does_not_auto_create_topics(settings: Settings) -> None:
    missing = f"{settings.topic_events}-never-created"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        await admin.start()
        # A metadata request naming a topic is what auto-creates it on a permissive broker.
        [described] = await admin.describe_topics([missing])
    finally:
        await admin.close()
    assert described["error_code"] == 3  # UNKNOWN_TOPIC_OR_PARTITION
    assert missing not in await list_topics(settings)


async def test_wait_for_kafka_times_out_naming_the_address(stack: Settings) -> None:
    # Port 1 is never a broker: every connection attempt is refused.
    nowhere = stack.model_copy(update={"kafka_bootstrap": "127.0.0.1:1"})
    with pytest.raises(TimeoutError, match=r"127\.0\.0\.1:1\b"):
        await wait_for_kafka(nowhere, timeout=0.5)


def test_up_fails_with_a_clear_error_when_a_port_is_taken(stack: Settings, tmp_path: Path) -> None:
    clash = stack.model_copy(
        update={
            "data_dir": tmp_path / "other-stack",
            "redis_port": stack.redis_port,  # held by the session's Redis
            "kafka_port": stack.kafka_port + 1000,
            "kafka_controller_port": stack.kafka_controller_port + 1000,
        }
    )
    with pytest.raises(StackError, match=f"port {stack.redis_port} is taken"):
        stack_up(clash, create_topics=False)


def test_stack_script_is_found_in_the_checkout() -> None:
    script = repo_root() / "deploy" / "stack.sh"
    assert script.is_file()
    assert os.access(script, os.X_OK)
