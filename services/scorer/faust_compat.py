"""Every touch of Faust's internals, in one place, for the pinned faust-streaming version only.

The scorer uses Faust as its engine (group membership, partition assignment, table recovery from
the changelog, offset commits) but bypasses its per-key table API on the hot path: a batch's dirty
states are written as one RocksDB WriteBatch per partition, in the store's own layout (one
database per partition, raw keys and values, the persisted changelog offset under
``OFFSET_KEY``), and their changelog records are produced in one go on Faust's own producer.
Faust's recovery then rebuilds the table from those records exactly as from its own.

What this relies on, each pinned by tests/scorer/test_faust_compat.py:
- ``faust.stores.rocksdb.Store``: ``_db_for_partition(p)`` opens/returns partition p's database,
  ``_dbs`` holds the open ones, ``offset_key`` is where the last changelog offset written to the
  database is kept (recovery reads the changelog from the offset after it).
- Changelog records carry the table's raw key and value bytes (``key_type=value_type=bytes``),
  and record N of changelog partition p restores into partition p's database.
- The Faust producer's aiokafka producer (``app.producer._ensure_producer()``).
- ``faust.streams._current_event``: the event a per-key ``table[k] = v`` files its write under.
- ``ProducerBuffer.max_messages``: a class attribute (not a setting) bounding Faust's send buffer.
- ``app.assignor.assigned_actives()``: the topic partitions this worker is active for.
- ``AIOKafkaConsumerThread.seek_to_committed``: how Faust puts every assigned partition back to
  its committed offset after a rebalance or a recovery (``seek_uncommitted_to_the_beginning``).
- ``Recovery.on_recovery_completed``: replaced by ``resume_streams_after_the_seek`` (same steps,
  reordered, see there); ``Recovery._wait``, ``_set_recovery_ended``, ``_is_changelog_tp``,
  ``actives_for_table``, ``standbys_for_table``, ``completed`` as it uses them.
- ``Table.on_rebalance`` runs (and opens the active partitions' databases) before Faust's recovery
  reads each database's persisted offset: ``restore_ahead_of_faust`` fills the databases from the
  changelog with a plain aiokafka consumer in between, so Faust's recovery (10-20k records/s on
  these machines, one event at a time) finds nothing left to read.

A new faust-streaming release may change any of these without notice: bump ``PINNED_FAUST`` only
after the tests above pass on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import RecordMetadata, TopicPartition
from faust.streams import Stream, _current_event
from faust.tables.recovery import Recovery
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Producer as KafkaProducer
from faust.transport.producer import ProducerBuffer
from faust.types import TableT

logger = logging.getLogger("vitals.scorer")

# The version every internal below was read from and tested against (pyproject pins it too).
PINNED_FAUST = "0.15.3"

if faust.__version__ != PINNED_FAUST:
    raise ImportError(
        f"vitals.scorer.faust_compat was written for faust-streaming {PINNED_FAUST}, found "
        f"{faust.__version__}: run tests/scorer/test_faust_compat.py against it, adapt this module "
        "and then bump PINNED_FAUST"
    )

# faust.stores.rocksdb.Store.offset_key: the persisted changelog offset inside each partition DB.
OFFSET_KEY: bytes = b"__faust\0offset__"


def set_producer_buffer(max_messages: int) -> None:
    """Faust's producer buffer holds ``max_messages`` (process-wide: a class attribute)."""
    ProducerBuffer.max_messages = max_messages


def seek_uncommitted_to_the_beginning() -> None:
    """Faust's "seek back to the committed offsets" also covers partitions with none yet.

    Faust drops records it has fetched but not handed to an agent whenever its flow stops (a
    rebalance, a recovery, a partition paused between a fetch and its delivery) and relies on
    seeking every partition back to its committed offset before it resumes. aiokafka's
    ``seek_to_committed`` seeks only where the committed offset is above 0: a partition nobody
    has committed yet (a new consumer group, or a worker that died before its first commit) or
    committed at 0 keeps the fetch position past the dropped records, which are then never
    processed, and Faust's commits (it checks gaps only after a first commit) make that final.
    Seen as customers one event short with two scorer workers joining (the second rebalance,
    when Faust's leader topic appears, dropped records on partitions not yet committed) and as
    growth totals missing a restarted worker's events. With ``consumer_auto_offset_reset``
    "earliest" (both our apps) the position those partitions must restart from is the
    beginning: seek there explicitly. Re-reading already processed records is harmless
    (at-least-once: the scorer skips them by position, growth folds are idempotent).

    Process-wide (a class attribute); idempotent."""
    if getattr(AIOKafkaConsumerThread.seek_to_committed, "_vitals_seeks_uncommitted", False):
        return
    original = AIOKafkaConsumerThread.seek_to_committed

    async def seek_to_committed(self: AIOKafkaConsumerThread) -> Any:
        committed = await original(self)
        if self.app.conf.consumer_auto_offset_reset != "earliest":
            return committed
        uncommitted = [tp for tp, offset in committed.items() if not offset or offset <= 0]
        if uncommitted:
            consumer = self._ensure_consumer()
            await self.call_thread(consumer.seek_to_beginning, *uncommitted)
        return committed

    seek_to_committed._vitals_seeks_uncommitted = True  # type: ignore[attr-defined]
    seek_to_committed._vitals_original = original  # type: ignore[attr-defined]
    AIOKafkaConsumerThread.seek_to_committed = seek_to_committed  # type: ignore[method-assign]


def resume_streams_after_the_seek() -> None:
    """After a recovery, stream partitions resume only once they have been sought and the
    agents' queues cleared, not before.

    faust-streaming 0.15.3's ``Recovery.on_recovery_completed`` resumes the stream partitions,
    then awaits the seek to the committed offsets, then resumes the app's flow control, which
    CLEARS every agent's queue. The flow itself is already on (the changelog recovery turned it
    on), so records fetched while the seek is awaited are queued, counted as read, then thrown
    away by the clear; the fetch position is past them and nothing seeks back: they are never
    processed, and Faust commits over them (it takes a jump in fetched offsets for a compacted
    gap). Seen on a restarted growth worker: in every partition the few records fetched during
    its first second went missing, and so did their facts. Here the same steps run with the
    stream partitions kept paused until the seek is done and the queues are cleared.

    Process-wide (a class attribute); idempotent."""
    if getattr(Recovery.on_recovery_completed, "_vitals_reordered", False):
        return
    original = Recovery.on_recovery_completed

    async def on_recovery_completed(self: Any, generation_id: int = 0) -> None:
        app = self.app
        consumer = app.consumer
        self.log.info("Restore complete!")
        await app.on_rebalance_complete.send()
        self._set_recovery_ended()
        callbacks = [
            asyncio.ensure_future(
                table.on_recovery_completed(
                    self.actives_for_table[table], self.standbys_for_table[table]
                )
            )
            for table in self.tables.values()
        ]
        if callbacks:
            await asyncio.wait(callbacks)
        assignment = consumer.assignment()
        if app.consumer_generation_id != generation_id:
            self.log.warning(
                "Recovery rebalancing again app id %s param %s",
                app.consumer_generation_id,
                generation_id,
            )
            return
        streams = {tp for tp in assignment if not self._is_changelog_tp(tp)}
        consumer.pause_partitions(streams)  # nothing of theirs may reach a queue before the clear
        if assignment:
            self.log.info("Seek stream partitions to committed offsets.")
            await self._wait(consumer.perform_seek(), timeout=app.conf.broker_request_timeout)
        self.completed.set()
        app.flow_control.resume()  # clears every agent's queue
        consumer.resume_partitions(streams)
        consumer.resume_flow()
        await app._fetcher.maybe_start()
        self.tables.on_actives_ready()
        if not app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()
        app.on_rebalance_end()
        self.log.info("Worker ready")

    on_recovery_completed._vitals_reordered = True  # type: ignore[attr-defined]
    on_recovery_completed._vitals_original = original  # type: ignore[attr-defined]
    Recovery.on_recovery_completed = on_recovery_completed  # type: ignore[method-assign]


def assigned_active_partitions(app: faust.App, topic: str) -> set[int]:
    """Partitions of ``topic`` this worker is active (not standby) for."""
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}


T = TypeVar("T")


def take_events(
    stream: faust.StreamT[T], max_: int, within: float
) -> AsyncIterator[Sequence[faust.EventT[T]]]:
    """Batches of up to ``max_`` events, or what came within ``within`` seconds:
    ``Stream.take_events``, which faust-streaming added to its stream class but not to the
    ``StreamT`` interface agents are typed with."""
    if not isinstance(stream, Stream):
        raise TypeError(f"an agent's stream is a faust Stream, not {type(stream).__name__}")
    return stream.take_events(max_, within=within)


def changelog_topic_name(table: TableT[Any, Any]) -> str:
    """The name of ``table``'s changelog topic (created before the worker starts)."""
    name: str = table.changelog_topic.get_topic_name()
    return name


@contextlib.contextmanager
def filing_under(event: faust.EventT[Any]) -> Iterator[None]:
    """Per-key ``table[k] = v`` inside this block files under ``event``'s partition (changelog
    and RocksDB alike), whatever event Faust's stream is on."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def _store(table: TableT[Any, Any]) -> Any:
    store = table.data
    if not hasattr(store, "_db_for_partition"):
        raise TypeError(
            f"table {table.name!r} is not on RocksDB (store={type(store).__name__}): the batched "
            "state path needs store='rocksdb://'"
        )
    return store


class ChangelogRecord(Protocol):
    """What a restore listener reads of a changelog record (aiokafka's ConsumerRecord)."""

    @property
    def key(self) -> bytes: ...

    @property
    def value(self) -> bytes | None: ...


class RestoreListener(Protocol):
    """Hears what ``PartitionedTable.restore`` applies, per partition: ``begin`` (on the event
    loop) with the database's persisted offset before the restore and whether it held nothing
    at all; ``records`` (on the restore's writer thread) for each page written, in changelog
    order, a value of None being a deletion; ``end`` (on the loop) once every page is on disk,
    with the persisted offset now. A restore that fails calls no ``end``."""

    def begin(self, partition: int, persisted: int | None, empty: bool) -> None: ...

    def records(self, partition: int, records: Sequence[ChangelogRecord]) -> None: ...

    def end(self, partition: int, persisted: int | None) -> None: ...


class PartitionedTable:
    """Raw reads and batched writes of a Faust RocksDB table, one partition at a time."""

    def __init__(self, app: faust.App, table: TableT[bytes, bytes]) -> None:
        self._app = app
        self._table = table

    @property
    def changelog_topic(self) -> str:
        return changelog_topic_name(self._table)

    def get(self, partition: int, key: bytes) -> bytes | None:
        value: bytes | None = _store(self._table)._db_for_partition(partition).get(key)
        return value

    def persisted_offset(self, partition: int) -> int | None:
        raw = _store(self._table)._db_for_partition(partition).get(OFFSET_KEY)
        return int(raw) if raw is not None else None

    def active_partitions(self) -> list[int]:
        """Partitions of the table this worker holds as active, with an open database."""
        actives = assigned_active_partitions(self._app, self.changelog_topic)
        return sorted(p for p in _store(self._table)._dbs if p in actives)

    def items(self, partition: int) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) of one partition's database, Faust's offset key left out."""
        for key, value in _store(self._table)._db_for_partition(partition).items():
            if key != OFFSET_KEY:
                yield key, value

    async def restore(self, bootstrap: str, listener: RestoreListener | None = None) -> int:
        """Read each active partition's changelog from the database's persisted offset to the
        end into the database (see ``restore_ahead_of_faust``); returns the records applied.
        ``listener`` sees every record applied, partition by partition (its calls run on the
        writer thread, in changelog order).

        A page is written on one writer thread while the next is fetched and decoded: RocksDB's
        write releases the GIL, so the two overlap. The pages go in without RocksDB's write-ahead
        log and every database is flushed before this returns: a crash in between loses a suffix
        of the restore together with its persisted offset (the next restore reads it again),
        and the writes that follow (Faust's recovery, the scorer's), which do use the log, only
        come after the flush, even when the restore fails, so none can land on top of restored
        states that are not yet on disk."""
        import rocksdict

        topic = self.changelog_topic
        partitions = self.active_partitions_assigned()
        if not partitions:
            return 0
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            max_partition_fetch_bytes=RESTORE_FETCH_BYTES,
            fetch_max_bytes=RESTORE_FETCH_BYTES * 4,
        )
        await consumer.start()
        loop = asyncio.get_running_loop()
        writer = ThreadPoolExecutor(1, thread_name_prefix="vitals-restore")  # pages in order
        options = rocksdict.WriteOptions()
        options.disable_wal = True  # type: ignore[assignment,method-assign]  # a property; the stub says method
        in_flight: asyncio.Future[None] | None = None
        applied = 0
        try:
            tps = [TopicPartition(topic, p) for p in partitions]
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            starts = await consumer.beginning_offsets(tps)
            remaining = set()
            for tp in tps:
                persisted = self.persisted_offset(tp.partition)
                start = max(starts[tp], persisted + 1 if persisted is not None else 0)
                if listener is not None:
                    empty = persisted is None and self._is_empty(tp.partition)
                    listener.begin(tp.partition, persisted, empty)
                if start < ends[tp]:
                    consumer.seek(tp, start)
                    remaining.add(tp)
            while remaining:
                pages = await consumer.getmany(
                    *remaining, timeout_ms=1000, max_records=RESTORE_MAX_RECORDS
                )
                for tp in [tp for tp in remaining if not pages.get(tp)]:
                    if await consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)  # the end is past records no longer there
                work = [(tp.partition, messages) for tp, messages in pages.items() if messages]
                for tp, messages in pages.items():
                    if messages and messages[-1].offset + 1 >= ends[tp]:
                        remaining.discard(tp)
                if not work:
                    continue
                if in_flight is not None:
                    await in_flight  # one page written while the next is read, no more
                in_flight = loop.run_in_executor(writer, self._apply, work, options, listener)
                applied += sum(len(messages) for _, messages in work)
        finally:
            if in_flight is not None:
                await asyncio.wait([in_flight])  # never leave a write running on a closing store
            # Failed or not: what went in without the log is on disk before anything else writes.
            await loop.run_in_executor(writer, self._flush, partitions)
            writer.shutdown(wait=False)
            await consumer.stop()
        if listener is not None:
            for partition in partitions:
                listener.end(partition, self.persisted_offset(partition))
        return applied

    def _is_empty(self, partition: int) -> bool:
        return next(iter(self.items(partition)), None) is None

    def _apply(
        self,
        work: Sequence[tuple[int, Sequence[Any]]],
        options: Any,
        listener: RestoreListener | None,
    ) -> None:
        """Write fetched changelog pages (partition, records) into their databases (writer
        thread): one WriteBatch per page, with the page's last offset as the persisted one."""
        import rocksdict

        for partition, messages in work:
            batch = rocksdict.WriteBatch(raw_mode=True)
            for m in messages:
                if m.value is None:
                    batch.delete(m.key)
                else:
                    batch.put(m.key, m.value)
            batch.put(OFFSET_KEY, str(messages[-1].offset).encode())
            _store(self._table)._db_for_partition(partition).write(batch, options)
            if listener is not None:
                listener.records(partition, messages)

    def _flush(self, partitions: Sequence[int]) -> None:
        for partition in partitions:
            _store(self._table)._db_for_partition(partition).flush()

    def active_partitions_assigned(self) -> list[int]:
        """Active partitions of the table's changelog in the current assignment."""
        return sorted(assigned_active_partitions(self._app, self.changelog_topic))

    async def write(self, partition: int, items: Sequence[tuple[bytes, bytes]]) -> int:
        """Persist ``items`` on ``partition``: changelog records produced in batches on Faust's
        producer and acknowledged, then one RocksDB WriteBatch holding the items and the last
        changelog offset. Returns the number of changelog batches sent.

        Changelog first: a crash between the two leaves the database behind the changelog, which
        recovery reads from the database's offset on; the other order could leave a state in
        RocksDB that the changelog never saw (lost when the datadir is)."""
        if not items:
            return 0
        import rocksdict  # Faust's RocksDB driver (faust-streaming[rocksdict])

        last_offset = await produce_batched(
            self._app, self.changelog_topic, partition, items, raw_producer(self._app)
        )
        batch = rocksdict.WriteBatch(raw_mode=True)
        for key, value in items:
            batch.put(key, value)
        batch.put(OFFSET_KEY, str(last_offset).encode())
        _store(self._table)._db_for_partition(partition).write(batch)
        return 1


# Records per fetch when restoring ahead of Faust: big pages, one WriteBatch each.
RESTORE_MAX_RECORDS = 20_000
RESTORE_FETCH_BYTES = 16 * 1024**2


def restore_ahead_of_faust(
    app: faust.App,
    table: TableT[bytes, bytes],
    bootstrap: str,
    on_assigned: Callable[[set[int]], None] | None = None,
    listener: RestoreListener | None = None,
) -> None:
    """After each rebalance, before Faust's own recovery: bring every active partition's database
    up to its changelog's end (records after the persisted offset, one WriteBatch per fetched
    page, the offset with them). Faust's recovery then starts from that offset, with nothing or
    little left; it still does the rest (standbys, records written meanwhile).

    ``on_assigned`` hears the table partitions newly assigned by each rebalance (before the
    recovery that follows it); ``listener`` hears every record restored (RestoreListener)."""
    states = PartitionedTable(app, table)
    original = table.on_rebalance

    async def on_rebalance(
        assigned: set[Any], revoked: set[Any], newly_assigned: set[Any], generation_id: int = 0
    ) -> None:
        await original(assigned, revoked, newly_assigned, generation_id)
        if on_assigned is not None:
            changelog = states.changelog_topic
            on_assigned({tp.partition for tp in newly_assigned if tp.topic == changelog})
        started = time.perf_counter()
        applied = await states.restore(bootstrap, listener)
        if applied:
            logger.info(
                "restored %d changelog records ahead of Faust in %.1f s",
                applied,
                time.perf_counter() - started,
            )

    # An instance attribute over the class's method: Faust's table manager calls the attribute.
    table.on_rebalance = on_rebalance  # type: ignore[method-assign]


def raw_producer(app: faust.App) -> AIOKafkaProducer:
    """The aiokafka producer under Faust's (started with the app; shared with its own sends)."""
    producer = app.producer
    if not isinstance(producer, KafkaProducer):  # the kafka:// transport's, with aiokafka inside
        raise TypeError(f"the app's producer is not aiokafka's: {type(producer).__name__}")
    return producer._ensure_producer()


async def produce_batched(
    app: faust.App,
    topic: str,
    partition: int,
    items: Sequence[tuple[bytes | None, bytes]],
    producer: AIOKafkaProducer | None = None,
) -> int:
    """Produce ``items`` to one partition in as few record batches as fit, wait for the broker's
    acknowledgement of all, and return the offset of the last record."""
    producer = producer or raw_producer(app)
    futures: list[asyncio.Future[RecordMetadata]] = []
    batch = producer.create_batch()
    for key, value in items:
        if batch.append(key=key, value=value, timestamp=None) is None:
            futures.append(await producer.send_batch(batch, topic, partition=partition))
            batch = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is None:
                raise ValueError(
                    f"a record of {len(value)} bytes does not fit one producer batch: raise "
                    "producer_max_request_size"
                )
    last_count: int = batch.record_count()
    if last_count:
        futures.append(await producer.send_batch(batch, topic, partition=partition))
    results = await asyncio.gather(*futures)
    # A batch's metadata carries its base offset: its last record is record_count - 1 later (the
    # last batch is never empty, since every full one is followed by an append that fits).
    last_offset: int = results[-1].offset
    return last_offset + last_count - 1
