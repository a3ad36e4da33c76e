"""``vitals replay``: send a JSONL event file to Kafka (backfill, load tests, demos).

Each valid line becomes a record on ``settings.topic_events`` keyed by customer_id, so a
customer's events keep their file order inside one partition. With ``--envelope-size K`` (> 1)
events are grouped into envelopes ``{"events": [...]}`` of up to K events *of one partition*:
the partition is computed exactly as the default partitioner does (murmur2 of the key bytes,
Kafka's Java formula, as aiokafka implements it) and the envelope is written to it explicitly,
keyed by its first event. Envelopes cut the scorer's per-record overhead ~250-fold
(docs/measurements.md).

Guarantee: the producer is idempotent with acks=all, so a broker retry never duplicates a
record; a replay run twice sends everything twice (the scorer dedups by event_id). Invalid lines
are reported with their line numbers and skipped, never fatal.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from tqdm import tqdm

from vitals.platform.partitioning import kafka_partition
from vitals.platform.producers import events_producer
from vitals.platform.settings import Settings
from vitals.tools.eventfile import read_event_file

# One JSON value per envelope must stay under the broker's default message.max.bytes (1 MiB)
# and the producer's max_request_size (1 MiB) with room for the record overhead.
MAX_ENVELOPE_BYTES = 900_000
MAX_ENVELOPE_SIZE = 5_000
# A partly filled envelope is sent after this long, so a slow --rate still delivers promptly.
ENVELOPE_LINGER_S = 1.0
# Producer batching: 20 ms of linger fills 256 KiB batches at file speed (measured: +50% vs 0).
PRODUCER_LINGER_MS = 20
PRODUCER_BATCH_BYTES = 256 * 1024
# Sends awaited together: bounds memory and surfaces a broker error within a few thousand records.
MAX_IN_FLIGHT = 5_000
# Waiting for metadata of a missing topic (auto-creation is off) should fail in seconds, not 40.
PRODUCER_REQUEST_TIMEOUT_MS = 15_000
# Invalid lines printed one by one; past this only the count grows.
MAX_INVALID_PRINTED = 100


@dataclass
class ReplayReport:
    """What a replay did: lines read, events and Kafka records sent, invalid lines."""

    lines: int = 0
    events: int = 0
    records: int = 0
    invalid_count: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0


class _Pacer:
    """Holds the send rate at ``rate`` events/s (None = as fast as possible)."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.start = time.monotonic()

    async def wait(self, sent: int) -> None:
        if self.rate:
            ahead = sent / self.rate - (time.monotonic() - self.start)
            if ahead > 0:
                await asyncio.sleep(ahead)


class _Envelopes:
    """Per-partition buffers of serialized events, flushed by count, size or age."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.parts: dict[int, list[bytes]] = {}
        self.keys: dict[int, bytes] = {}
        self.bytes: dict[int, int] = {}
        self.since: dict[int, float] = {}

    def add(self, partition: int, key: bytes, value: bytes) -> bool:
        """Buffer one event; True when the partition's envelope is full."""
        if partition not in self.parts:
            self.parts[partition], self.keys[partition] = [], key
            self.bytes[partition], self.since[partition] = 0, time.monotonic()
        self.parts[partition].append(value)
        self.bytes[partition] += len(value) + 1
        return (
            len(self.parts[partition]) >= self.size or self.bytes[partition] >= MAX_ENVELOPE_BYTES
        )

    def take(self, partition: int) -> tuple[bytes, bytes, int]:
        """(key, envelope value, event count) of the partition's buffer, which is emptied."""
        parts = self.parts.pop(partition)
        key = self.keys.pop(partition)
        del self.bytes[partition], self.since[partition]
        return key, b'{"events":[' + b",".join(parts) + b"]}", len(parts)

    def stale(self, now: float) -> list[int]:
        return [p for p, since in self.since.items() if now - since >= ENVELOPE_LINGER_S]

    def pending(self) -> list[int]:
        return list(self.parts)


async def replay_file(
    path: Path,
    settings: Settings,
    *,
    rate: float | None = None,
    envelope_size: int = 1,
    topic: str | None = None,
    progress: bool = True,
    on_invalid: Callable[[int, str], None] | None = None,
) -> ReplayReport:
    """Send the events of ``path`` to ``topic`` (default settings.topic_events)."""
    if not 1 <= envelope_size <= MAX_ENVELOPE_SIZE:
        raise ValueError(f"envelope_size must be between 1 and {MAX_ENVELOPE_SIZE}")
    topic = topic or settings.topic_events
    report = ReplayReport()
    started = time.monotonic()
    producer = events_producer(
        settings.kafka_bootstrap,
        "vitals-replay",
        linger_ms=PRODUCER_LINGER_MS,
        max_batch_bytes=PRODUCER_BATCH_BYTES,
        request_timeout_ms=PRODUCER_REQUEST_TIMEOUT_MS,
    )
    in_flight: list[asyncio.Future[object]] = []

    async def send(key: bytes, value: bytes, partition: int | None) -> None:
        in_flight.append(await producer.send(topic, value=value, key=key, partition=partition))
        report.records += 1
        if len(in_flight) >= MAX_IN_FLIGHT:
            await asyncio.gather(*in_flight)
            in_flight.clear()

    try:
        await producer.start()
        partitions = await _partitions(producer, topic)
        envelopes = _Envelopes(envelope_size) if envelope_size > 1 else None
        pacer = _Pacer(rate)
        for line in read_event_file(path, progress=progress):
            report.lines = line.number
            if line.event is None:
                _invalid(report, line.number, str(line.error), on_invalid)
                continue
            key = line.event.customer_id.encode()
            value = orjson.dumps(line.raw)
            report.events += 1
            if envelopes is None:
                await send(key, value, None)
            else:
                partition = partitions[kafka_partition(key, len(partitions))]
                if envelopes.add(partition, key, value):
                    await send(*envelopes.take(partition)[:2], partition)
                for stale in envelopes.stale(time.monotonic()):
                    await send(*envelopes.take(stale)[:2], stale)
            await pacer.wait(report.events)
        if envelopes is not None:
            for partition in envelopes.pending():
                await send(*envelopes.take(partition)[:2], partition)
        await asyncio.gather(*in_flight)
        await producer.flush()
    finally:
        await producer.stop()
    report.seconds = time.monotonic() - started
    return report


class TopicMissing(RuntimeError):
    """The topic does not exist (the broker does not auto-create topics)."""


async def _partitions(producer: AIOKafkaProducer, topic: str) -> list[int]:
    # One metadata request over all topics: asking for a missing topic by name would make the
    # client retry (and log) for the whole request timeout.
    metadata = await producer.client.fetch_all_metadata()
    partitions = metadata.partitions_for_topic(topic)
    if not partitions:
        raise TopicMissing(f"topic {topic!r} does not exist")
    return sorted(partitions)


def _invalid(
    report: ReplayReport, number: int, reason: str, on_invalid: Callable[[int, str], None] | None
) -> None:
    report.invalid_count += 1
    if len(report.invalid) < MAX_INVALID_PRINTED:
        report.invalid.append((number, reason))
        if on_invalid is not None:
            on_invalid(number, reason)


@click.command("replay")
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    help="Events per second (default: as fast as possible).",
)
@click.option(
    "--envelope-size",
    type=click.IntRange(1, MAX_ENVELOPE_SIZE),
    default=1,
    show_default=True,
    help='Events per Kafka record: >1 groups events of one partition into {"events": [...]}.',
)
@click.option("--topic", help="Topic to write (default: VITALS_TOPIC_EVENTS).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def replay(
    events: Path, rate: float | None, envelope_size: int, topic: str | None, quiet: bool
) -> None:
    """Send EVENTS (JSONL, one event per line) to Kafka, keyed by customer_id."""
    settings = Settings()

    def report_line(number: int, reason: str) -> None:
        tqdm.write(f"line {number}: {reason}", file=sys.stderr)

    try:
        report = asyncio.run(
            replay_file(
                events,
                settings,
                rate=rate,
                envelope_size=envelope_size,
                topic=topic,
                progress=not quiet,
                on_invalid=report_line,
            )
        )
    except TopicMissing as err:
        raise click.ClickException(
            f"{err} on {settings.kafka_bootstrap}: `vitals stack up` creates the topics"
        ) from err
    except (KafkaError, OSError) as err:
        raise click.ClickException(
            f"Kafka at {settings.kafka_bootstrap}: {type(err).__name__} {err}. Is the stack up? "
            "Try `vitals stack status`."
        ) from err
    rate_text = f"{report.events / report.seconds:,.0f} events/s" if report.seconds > 0 else ""
    click.echo(
        f"sent {report.events} events in {report.records} records to "
        f"{topic or settings.topic_events!r} ({rate_text}); "
        f"{report.invalid_count} invalid lines skipped"
    )
