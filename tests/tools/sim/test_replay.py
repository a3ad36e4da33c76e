from __future__ import annotations

import asyncio
import re
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import murmur2
from click.testing import CliRunner

from vitals.platform.partitioning import kafka_partition
from vitals.platform.settings import Settings
from vitals.tools.sim.generator import simulate
from vitals.tools.sim.replay import TopicMissing, replay_file

# Consuming everything back must not take long on a local broker.
CONSUME_TIMEOUT_S = 30.0


@pytest.mark.parametrize(
    ("key", "java"),
    # Utils.murmur2 of the Java client (as quoted by Akka's Murmur2Spec from Kafka's Utils.java).
    [
        ("1", -1993445489),
        ("12", 126087238),
        ("123", -267702483),
        ("1234", -1614185708),
        ("12345", -1188365604),
    ],
)
def test_partition_hash_is_kafkas_murmur2(key: str, java: int) -> None:
    assert murmur2(key.encode()) == java & 0xFFFFFFFF
    assert kafka_partition(key.encode(), 8) == (java & 0x7FFFFFFF) % 8


def _events_file(
    tmp_path: Path, customers: int = 40, days: int = 20
) -> tuple[Path, list[dict[str, Any]], list[int]]:
    """A simulated stream with two bad lines: (path, valid events, bad line numbers)."""
    events = list(
        simulate(customers, datetime(2026, 3, 1, tzinfo=UTC), days, seed=21, kind="mixed").events
    )
    lines = [orjson.dumps(e) for e in events]
    lines.insert(5, b'{"event_id": "x", "customer_id": "c", "type": "usage"}')  # no timestamp
    lines.insert(10, b"not json at all")
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, events, [6, 11]


async def _consume(settings: Settings, expected_events: int) -> list[tuple[int, bytes, Any]]:
    """(partition, key, decoded value) of the events topic's records, until all events are seen."""
    consumer = AIOKafkaConsumer(
        settings.topic_events,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[tuple[int, bytes, Any]] = []
    seen = 0
    deadline = time.monotonic() + CONSUME_TIMEOUT_S
    try:
        while seen < expected_events and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                for message in messages:
                    value = orjson.loads(message.value)
                    records.append((message.partition, message.key, value))
                    seen += len(value["events"]) if "events" in value else 1
    finally:
        await consumer.stop()
    return records


async def test_replay_sends_every_valid_line_keyed_by_customer_and_reports_bad_lines(
    settings: Settings, tmp_path: Path
) -> None:
    path, events, bad_lines = _events_file(tmp_path)
    reported: list[int] = []
    report = await replay_file(
        path, settings, progress=False, on_invalid=lambda n, _: reported.append(n)
    )
    assert (report.events, report.records, report.invalid_count) == (len(events), len(events), 2)
    assert [number for number, _ in report.invalid] == reported == bad_lines
    assert "timestamp" in report.invalid[0][1]
    records = await _consume(settings, len(events))
    assert sorted(v["event_id"] for _, _, v in records) == sorted(e["event_id"] for e in events)
    partitions = settings.partitions
    for partition, key, value in records:
        assert key == value["customer_id"].encode()
        assert partition == kafka_partition(key, partitions)


async def test_envelopes_hold_only_events_of_the_partition_they_are_written_to(
    settings: Settings, tmp_path: Path
) -> None:
    path, events, _ = _events_file(tmp_path, customers=60)
    report = await replay_file(path, settings, envelope_size=25, progress=False)
    assert report.events == len(events)
    assert report.records < len(events) / 10
    records = await _consume(settings, len(events))
    delivered: dict[str, list[str]] = defaultdict(list)
    for partition, key, value in records:
        batch = value["events"]
        assert 1 <= len(batch) <= 25
        assert key == batch[0]["customer_id"].encode()
        for event in batch:
            assert kafka_partition(event["customer_id"].encode(), settings.partitions) == partition
            delivered[event["customer_id"]].append(event["event_id"])
    # Every event arrives once, and each customer's events keep their file order.
    expected: dict[str, list[str]] = defaultdict(list)
    for event in events:
        expected[event["customer_id"]].append(event["event_id"])
    assert delivered == expected


async def test_rate_limits_the_send_speed(settings: Settings, tmp_path: Path) -> None:
    path, events, _ = _events_file(tmp_path, customers=3, days=3)
    events_sent = min(len(events), 60)
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events[:events_sent]) + b"\n")
    begin = time.monotonic()
    report = await replay_file(path, settings, rate=200, progress=False)
    assert report.events == events_sent
    assert time.monotonic() - begin >= (events_sent - 1) / 200


async def test_a_missing_topic_is_refused_by_name(settings: Settings, tmp_path: Path) -> None:
    path, _, _ = _events_file(tmp_path, customers=2, days=2)
    missing = f"{settings.topic_events}-missing"
    with pytest.raises(TopicMissing, match=f"{re.escape(missing)}.*does not exist"):
        await replay_file(path, settings, topic=missing, progress=False)


def test_replay_command_help_names_its_options() -> None:
    from vitals.cli import main

    result = CliRunner().invoke(main, ["replay", "--help"])
    assert result.exit_code == 0
    assert "--envelope-size" in result.output and "--rate" in result.output


def test_envelope_size_out_of_range_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="envelope_size"):
        asyncio.run(replay_file(path, Settings(), envelope_size=0))
