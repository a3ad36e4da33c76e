"""Where accepted events go: the ``EventSink`` seam and its Kafka implementation.

Guarantee: ``send_batch`` returns only after Kafka acknowledged every record with acks=all on an
idempotent producer, so a 200 from the ingest API means the events are durably in the log. When it
raises ``SinkUnavailable`` nothing is promised: some records may still land (a timeout does not
cancel what is in flight), so the client resends the batch and the scorer drops the repeats by
event_id. Delivery is at-least-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError
from aiokafka.producer.message_accumulator import BatchBuilder

from vitals.platform.partitioning import kafka_partition
from vitals.platform.producers import events_producer
from vitals.platform.settings import Settings

from .errors import SinkUnavailable
from .limits import (
    CONNECT_RETRY_FIRST_S,
    CONNECT_RETRY_MAX_S,
    DELIVERY_TIMEOUT_S,
    PRODUCER_LINGER_MS,
    PRODUCER_MAX_BATCH_BYTES,
    PRODUCER_REQUEST_TIMEOUT_MS,
    READY_CACHE_S,
    READY_CHECK_TIMEOUT_S,
    STOP_TIMEOUT_S,
)

log = logging.getLogger(__name__)

# (key, value) pairs: key = customer_id (UTF-8), value = the event's JSON.
Record = tuple[bytes, bytes]


class EventSink(Protocol):
    async def send_batch(self, items: list[Record]) -> None:
        """Write every record durably, or raise ``SinkUnavailable``."""


@runtime_checkable
class ManagedSink(Protocol):
    """A sink with a lifecycle, started and stopped by the app's lifespan."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ready(self) -> bool: ...


@dataclass(slots=True)
class _Round:
    """Records of concurrent requests that go to Kafka together; ``submitted`` resolves to the
    acknowledgement futures of the record batches that carry them."""

    submitted: asyncio.Future[list[asyncio.Future[object]]]
    records: list[Record] = field(default_factory=list)


class KafkaEventSink:
    """``EventSink`` over aiokafka, writing to ``settings.topic_events`` keyed by customer.

    ``start()`` returns at once and connects in the background, retrying with backoff, so the
    service comes up (and answers 503, not connection refused) while Kafka is still starting.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        delivery_timeout_s: float = DELIVERY_TIMEOUT_S,
        request_timeout_ms: int = PRODUCER_REQUEST_TIMEOUT_MS,
    ) -> None:
        self._bootstrap = settings.kafka_bootstrap
        self._topic = settings.topic_events
        self._delivery_timeout_s = delivery_timeout_s
        self._request_timeout_ms = request_timeout_ms
        self._producer: AIOKafkaProducer | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._ready_at = 0.0
        self._ready_answer = False
        self._open_round: _Round | None = None
        self._round_lock = asyncio.Lock()
        self._submitting: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> bool:
        return self._producer is not None

    async def start(self) -> None:
        if self._connecting is None:
            self._connecting = asyncio.create_task(self._connect(), name="ingest-kafka-connect")

    async def wait_connected(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the first connection; True when connected."""
        if self._connecting is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._connecting), timeout_s)
        return self.connected

    async def _connect(self) -> None:
        delay = CONNECT_RETRY_FIRST_S
        while True:
            producer = events_producer(
                self._bootstrap,
                "vitals-ingest",
                linger_ms=PRODUCER_LINGER_MS,
                max_batch_bytes=PRODUCER_MAX_BATCH_BYTES,
                request_timeout_ms=self._request_timeout_ms,
            )
            try:
                await producer.start()
            except asyncio.CancelledError:
                await _close_quietly(producer)  # stop() during a connection attempt
                raise
            except (KafkaError, OSError) as err:
                await _close_quietly(producer)
                log.warning(
                    "kafka not reachable, retrying",
                    extra={"bootstrap": self._bootstrap, "error": repr(err), "retry_in_s": delay},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, CONNECT_RETRY_MAX_S)
                continue
            self._producer = producer
            log.info("kafka producer connected", extra={"bootstrap": self._bootstrap})
            return

    async def send_batch(self, items: list[Record]) -> None:
        producer = self._producer
        if producer is None:
            raise SinkUnavailable(
                f"not connected to Kafka at {self._bootstrap} yet; retry later", "not_connected"
            )
        try:
            async with asyncio.timeout(self._delivery_timeout_s):
                acks = await asyncio.shield(self._join_round(producer, items).submitted)
                if acks:
                    # wait(), not gather(): a timeout must not cancel aiokafka's own futures.
                    await asyncio.wait(acks)
            failed = next(
                (f.exception() for f in acks if not f.cancelled() and f.exception()), None
            )
            if failed is not None:
                raise failed
        except TimeoutError:
            raise SinkUnavailable(
                f"Kafka did not acknowledge the batch within {self._delivery_timeout_s:g} s; "
                "resend it with the same event_ids",
                "timeout",
            ) from None
        except KafkaError as err:
            raise SinkUnavailable(
                f"Kafka did not take the write ({type(err).__name__}); resend the batch with "
                "the same event_ids",
                "timeout" if isinstance(err, KafkaTimeoutError) else "kafka_error",
            ) from err

    def _join_round(self, producer: AIOKafkaProducer, items: list[Record]) -> _Round:
        """Add ``items`` to the round that goes out next, opening one if none is open.

        Group commit: concurrent requests share record batches (one per partition per round)
        the way per-record ``send()`` shared aiokafka's open batches, so a burst of requests is
        a few produce round trips, not one queued batch per request per partition."""
        current = self._open_round
        if current is None:
            current = self._open_round = _Round(asyncio.get_running_loop().create_future())
            task = asyncio.create_task(self._submit_round(producer, current))
            self._submitting.add(task)
            task.add_done_callback(self._submitting.discard)
        current.records += items
        return current

    async def _submit_round(self, producer: AIOKafkaProducer, current: _Round) -> None:
        # One round at a time, in the order they opened: a customer's records keep their order.
        async with self._round_lock:
            if self._open_round is current:
                self._open_round = None  # requests from now on go to the next round
            try:
                partitions = sorted(await producer.partitions_for(self._topic))
                acks: list[asyncio.Future[object]] = []
                for partition, records in _by_partition(current.records, partitions).items():
                    acks += await self._send_partition(producer, partition, records)
            except BaseException as err:
                current.submitted.set_exception(err)
                current.submitted.add_done_callback(_retrieve)
                if not isinstance(err, Exception):
                    raise
            else:
                current.submitted.set_result(acks)

    async def _send_partition(
        self, producer: AIOKafkaProducer, partition: int, records: list[Record]
    ) -> list[asyncio.Future[object]]:
        """The records of one partition as few record batches as fit, in order: one append per
        record into aiokafka's C batch builder instead of one ``send()`` (partitioner, futures,
        metadata checks) per record, which was a third of ingest's CPU."""
        futures: list[asyncio.Future[object]] = []
        builder = producer.create_batch()
        for key, value in records:
            if builder.append(key=key, value=value, timestamp=None) is None:
                futures.append(await self._submit(producer, builder, partition))
                builder = producer.create_batch()
                builder.append(key=key, value=value, timestamp=None)  # an empty batch takes any
        futures.append(await self._submit(producer, builder, partition))
        return futures

    async def _submit(
        self, producer: AIOKafkaProducer, builder: BatchBuilder, partition: int
    ) -> asyncio.Future[object]:
        future: asyncio.Future[object] = await producer.send_batch(
            builder, self._topic, partition=partition
        )
        # Retrieve late failures of batches we stopped waiting for (after a timeout), or
        # asyncio logs "exception was never retrieved".
        future.add_done_callback(_retrieve)
        return future

    async def ready(self) -> bool:
        """Connected and the cluster answers a metadata request (cached for a second)."""
        producer = self._producer
        if producer is None:
            return False
        now = time.monotonic()
        if now - self._ready_at < READY_CACHE_S:
            return self._ready_answer
        try:
            answer = bool(
                await asyncio.wait_for(
                    producer.client.force_metadata_update(), READY_CHECK_TIMEOUT_S
                )
            )
        except (TimeoutError, KafkaError):
            answer = False
        self._ready_at, self._ready_answer = time.monotonic(), answer
        return answer

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
            self._connecting = None
        if self._submitting:
            # Rounds still handing batches to the producer finish first (they were accepted
            # from requests in flight), within the same bound as the flush below.
            await asyncio.wait(set(self._submitting), timeout=STOP_TIMEOUT_S)
        producer, self._producer = self._producer, None
        if producer is not None:
            await _close_quietly(producer)
        for task in list(self._submitting):
            task.cancel()


async def _close_quietly(producer: AIOKafkaProducer) -> None:
    try:
        async with asyncio.timeout(STOP_TIMEOUT_S):
            await producer.stop()
    except (TimeoutError, KafkaError, OSError) as err:
        log.warning("kafka producer did not close cleanly", extra={"error": repr(err)})


def _by_partition(items: list[Record], partitions: list[int]) -> dict[int, list[Record]]:
    """Records grouped by the partition Kafka's default partitioner gives their key (murmur2,
    vitals.platform.partitioning): the scorer finds each customer on that partition, as before."""
    groups: dict[int, list[Record]] = {}
    count = len(partitions)
    for record in items:
        partition = partitions[kafka_partition(record[0], count)]
        groups.setdefault(partition, []).append(record)
    return groups


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
