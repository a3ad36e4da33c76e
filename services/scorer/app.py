"""The Faust application: the scorer agent on `events` (`vitals projector` projects `scores`).

Guarantee: at-least-once. Faust acks a record once its agent iteration finishes; after a crash,
a rebalance or a changelog restore some records are processed again. That is harmless by
construction: each customer state remembers the last applied (partition, offset, index), event ids
are de-duplicated, and the projector (its own process: vitals.projector.projector) ignores
snapshots older than what Redis holds.

State: the table `customers` (RocksDB + changelog `<app id>-customers-changelog`), raw bytes keyed
by customer id, one RocksDB database per partition: a record's customers all hash to its partition
(records.decode_record checks this). Faust owns the table's life (assignment, recovery from the
changelog, standbys), but a batch's changed states are persisted per batch, not per key: one
changelog batch produced on Faust's producer and one RocksDB WriteBatch per partition, in Faust's
own layout, so Faust's recovery restores them as its own (faust_compat.py holds every such touch).
Snapshots, alerts and dead letters of a batch are likewise produced in bulk and awaited once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faust
import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from vitals.core.config import DEFAULT_CONFIG, ScoringConfig
from vitals.core.params import DEFAULT_PARAMS, ScoringParams, refit
from vitals.core.state import CustomerState
from vitals.notifier.rules_store import RulesStore, apply_overrides
from vitals.platform.partitioning import kafka_partition
from vitals.platform.settings import Settings
from vitals.platform.topics import ticks_topic

from . import metrics
from .faust_app import raw_topic, worker_app
from .faust_compat import (
    PartitionedTable,
    assigned_active_partitions,
    produce_batched,
    raw_producer,
    restore_ahead_of_faust,
    set_producer_buffer,
    take_events,
)
from .processor import Output, RecordProcessor, SourceRecord
from .records import tick_record
from .store import PartitionedStore
from .timers import CatchUpTimers, rebuild_timers

logger = logging.getLogger("vitals.scorer")


def rocksdb_options(settings: Settings) -> dict[str, int]:
    """Options of each partition's RocksDB database (why these: Settings' scorer_rocksdb_*)."""
    return {
        "block_cache_size": settings.scorer_rocksdb_block_cache_bytes,
        "block_cache_compressed_size": 0,
        "write_buffer_size": settings.scorer_rocksdb_write_buffer_bytes,
        "max_write_buffer_number": settings.scorer_rocksdb_write_buffers,
    }


class ScorerApp:
    """Builds and holds the Faust app and its collaborators for one worker."""

    def __init__(
        self,
        settings: Settings,
        config: ScoringConfig = DEFAULT_CONFIG,
        params: ScoringParams = DEFAULT_PARAMS,
    ) -> None:
        self.settings = settings
        self.config = config
        self.params = params
        datadir = Path(settings.data_dir).resolve() / "scorer" / settings.scorer_app_id
        self.app = worker_app(settings.scorer_app_id, settings, datadir)
        set_producer_buffer(settings.scorer_producer_buffer_messages)
        # The agent reads `events` and the scorer's own wall-clock ticks (_tick_due_partitions),
        # on a topic of their own with as many partitions: Faust assigns partition p of both to
        # the same worker, and a tick is scored with the rest of its partition's records.
        partitions = settings.partitions
        self.ticks_topic = raw_topic(self.app, ticks_topic(settings), partitions=partitions)
        self.source = raw_topic(
            self.app, settings.topic_events, ticks_topic(settings), partitions=partitions
        )
        self.scores_topic = raw_topic(self.app, settings.topic_scores, partitions=partitions)
        self.alerts_topic = raw_topic(self.app, settings.topic_alerts, partitions=partitions)
        self.dead_topic = raw_topic(self.app, settings.topic_events_dead)
        self.table = self.app.Table(
            "customers",
            default=None,
            partitions=settings.partitions,
            key_type=bytes,
            value_type=bytes,
            options=rocksdb_options(settings),
        )
        # Partitions assigned anew since the last timer rebuild (see _rebuild_timers).
        self._reassigned: set[int] = set()
        self._rebuild_cancel = threading.Event()
        self._rebuild_lock = asyncio.Lock()
        self._generation = 0  # rebalances seen: a rebuild spanning one is discarded
        # Timers of the partitions restored from the changelog, indexed as the restore reads them.
        self._catch_up = CatchUpTimers()
        restore_ahead_of_faust(
            self.app,
            self.table,
            settings.kafka_bootstrap,
            on_assigned=self._on_assigned,
            listener=self._catch_up,
        )
        self.states = PartitionedTable(self.app, self.table)
        self.store = PartitionedStore(self.states)
        self.processor = RecordProcessor(
            store=self.store,
            config=config,
            params=lambda: self.params,
            partitions=settings.partitions,
            clock=settings.clock,
            now=self._now,
            wall=time.time,
            public_url=settings.public_url,
        )
        self.table.on_recover(self._rebuild_timers)
        # Partitions with a tick on its way: one outstanding tick per partition is enough.
        self._ticking: dict[int, float] = {}
        self.redis: aioredis.Redis | None = None
        self.app.agent(self.source, name="vitals.scorer")(self._score)
        self.app.timer(settings.scorer_rules_poll_s)(self._reload_alert_rules)
        self._rules_overrides: dict[str, Any] = {}
        if settings.clock == "wall":
            self.app.timer(settings.scorer_tick_interval_s)(self._tick_due_partitions)
        if settings.refit_interval_s > 0:
            self.app.timer(settings.scorer_refit_check_s)(self._maybe_refit)
        self._last_refit_at = 0.0
        self._last_refit_customers = 0

    def _now(self, partition: int) -> float:
        if self.settings.clock == "wall":
            return time.time()
        return self.processor.watermarks.get(partition, 0.0)

    async def _rebuild_timers(self) -> None:
        """After recovery (start-up, rebalance): index the next timer of every customer on the
        partitions newly held; forget those of partitions no longer held.

        Faust may recover more than once while a worker starts (a second rebalance as the group
        settles): partitions already indexed and held since are not read again, so each recovery
        costs only what it newly assigned. A partition the restore ahead of Faust filled from
        its changelog comes indexed already (timers.CatchUpTimers: no read of the table); the
        others are read off the event loop, and only each state's tail (timers.rebuild_timers):
        at 1M customers a full decode of every state on the loop took long enough to miss
        heartbeats."""
        async with self._rebuild_lock:  # never two at once (see below)
            await self._rebuild_timers_locked()

    async def _rebuild_timers_locked(self) -> None:
        started = time.perf_counter()
        self._ticking.clear()
        timers = self.processor.timers
        active = set(self.states.active_partitions())
        for partition in timers.indexed() - active:
            timers.drop(partition)
        reassigned, self._reassigned = self._reassigned, set()
        fresh = sorted(active - (timers.indexed() - reassigned))
        self._catch_up.forget(set(range(self.settings.partitions)) - active)
        # Partitions restored from their changelog and untouched since come indexed already.
        prebuilt = {
            p: dues
            for p in fresh
            if (dues := self._catch_up.ready(p, self.states.persisted_offset(p))) is not None
        }
        if fresh:
            # A rebalance arriving meanwhile cancels this read (see _on_assigned): its
            # partitions are read by the recovery that follows. Two overlapping full rebuilds
            # took 76 and 84 s at 1M customers, one alone ~30 s.
            generation = self._generation
            cancel = self._rebuild_cancel = threading.Event()
            loop = asyncio.get_running_loop()
            index = await loop.run_in_executor(
                None, rebuild_timers, self.states, fresh, cancel, prebuilt
            )
            if index is None or generation != self._generation:
                for partition in fresh:
                    timers.drop(partition)
                self._reassigned |= reassigned
                logger.info("timers: rebuild cancelled by a rebalance")
                return
            timers.absorb(index)
            self._catch_up.forget(fresh)
        metrics.TIMERS_PENDING.set(len(timers))
        logger.info(
            "timers: %d rebuilt in %.2f s (%d of %d partitions read, %d of them from the "
            "changelog restore)",
            len(timers),
            time.perf_counter() - started,
            len(fresh),
            len(active),
            len(prebuilt),
        )

    def _on_assigned(self, partitions: set[int]) -> None:
        # Newly assigned partitions are read again even if indexed: a partition that went to
        # another worker and came back between two recoveries holds states changed elsewhere.
        self._reassigned |= partitions
        self._generation += 1
        self._rebuild_cancel.set()

    def _redis_client(self) -> aioredis.Redis:
        if self.redis is None:
            self.redis = aioredis.Redis.from_url(self.settings.redis_url)
        return self.redis

    async def _reload_alert_rules(self) -> None:
        """Apply the alert-rule overrides stored through the API; keep the current ones on error."""
        try:
            overrides = await RulesStore(self._redis_client()).get_overrides()
            if overrides == self._rules_overrides:
                return
            self.processor.config = apply_overrides(self.config, overrides)
        except (ValueError, RedisError) as exc:
            logger.warning("alert rules: keeping the current ones (%s)", exc)
            return
        self._rules_overrides = overrides
        logger.info("alert rules: overrides now %s", overrides or "none (defaults)")

    async def _maybe_refit(self) -> None:
        # Every local customer has one timer: the index size counts them without a table scan.
        customers = len(self.processor.timers)
        due = time.monotonic() - self._last_refit_at >= self.settings.refit_interval_s
        least = self.settings.scorer_min_refit_customers
        growing = customers >= max(least, 2 * self._last_refit_customers)
        if customers >= least and (due or growing):
            await self._refit()

    async def _refit(self) -> None:
        """Refit population parameters from this worker's customers, off the event loop."""
        loop = asyncio.get_running_loop()
        states = await loop.run_in_executor(None, self._local_states)
        self._last_refit_at = time.monotonic()
        self._last_refit_customers = len(states)
        if not states:
            return
        now = (
            time.time()
            if self.settings.clock == "wall"
            else max(self.processor.watermarks.values(), default=0.0)
        )
        started = time.perf_counter()
        params = await loop.run_in_executor(None, refit, states, now, self.config, self.params)
        self.params = params
        logger.info(
            "refit: %s from %d customers in %.1f s (%s)",
            params.version,
            len(states),
            time.perf_counter() - started,
            params.models.sources,
        )

    def _local_states(self) -> list[CustomerState]:
        return [
            CustomerState.from_bytes(value)
            for partition in self.states.active_partitions()
            for _, value in self.states.items(partition)
        ]

    async def _tick_due_partitions(self) -> None:
        """Wall clock: nudge partitions whose earliest timer is due but that see no events, with
        a tick record on the partition of the ticks topic: the agent reads it in its partition's
        stream, where timers fire and table writes go to the right partition."""
        now = time.time()
        assigned = assigned_active_partitions(self.app, self.settings.topic_events)
        for partition in self.processor.timers.partitions():
            due = self.processor.timers.next_due(partition)
            sent = self._ticking.get(partition)
            if partition not in assigned or due is None or due > now:
                continue
            if sent is not None and now - sent < self.settings.scorer_tick_resend_s:
                continue
            self._ticking[partition] = now
            await self.ticks_topic.send(partition=partition, value=tick_record(now))
        metrics.TIMERS_PENDING.set(len(self.processor.timers))

    async def _score(self, stream: faust.StreamT[bytes]) -> Any:
        async for events in take_events(
            stream, self.settings.scorer_batch_records, self.settings.scorer_batch_within_s
        ):
            started = time.perf_counter()
            by_partition: dict[int, list[faust.EventT[bytes]]] = {}
            for event in events:
                by_partition.setdefault(event.message.partition, []).append(event)
            outs: list[Output] = []
            for group in by_partition.values():
                outs.extend(self._score_partition(group))
            published = await self._persist_and_publish(outs)
            metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
            yield published

    def _score_partition(self, group: list[faust.EventT[bytes]]) -> list[Output]:
        """Score records of one partition as one batch: each changed customer is read, scored
        and written (to the store's pending writes) once."""
        records = [
            SourceRecord(
                topic=e.message.topic,
                partition=e.message.partition,
                offset=e.message.offset,
                key=e.message.key,
                value=e.value,
            )
            for e in group
        ]
        self.store.use(records[0].partition)
        try:
            outs = [self.processor.process(records)]
        except Exception:
            # Find the record at fault by scoring the batch one record at a time (the state of
            # records already applied is skipped by position, so this repeats nothing).
            logger.exception(
                "scoring a batch of %d records failed; retrying one by one", len(records)
            )
            outs = []
            for record in records:
                try:
                    outs.append(self.processor.process([record]))
                except Exception:
                    logger.exception(
                        "scoring failed at %s[%d]@%d", record.topic, record.partition, record.offset
                    )
                    outs.append(Output(dead=[(record.key, _error_letter(record))]))
        self._ticking.pop(records[0].partition, None)
        return outs

    async def _persist_and_publish(self, outs: list[Output]) -> int:
        """Persist the batch's changed states and publish its snapshots, alerts and dead letters,
        each in bulk, all awaited together: acknowledged by the broker before the batch's events
        are acked (at-least-once). A crash in between repeats the batch, which is harmless: its
        events are skipped by position, its snapshots are the same again."""
        pending = self.store.take_pending()
        snapshots = [item for out in outs for item in out.snapshots]
        alerts = [item for out in outs for item in out.alerts]
        dead = [item for out in outs for item in out.dead]
        await asyncio.gather(
            *(self.states.write(p, items) for p, items in pending.items()),
            self._produce_keyed(self.settings.topic_scores, snapshots),
            self._produce_keyed(self.settings.topic_alerts, alerts),
            self._produce_any(self.settings.topic_events_dead, dead),
        )
        wall = time.time()
        for out in outs:
            for state in out.changed:
                metrics.EVENT_LAG.observe(max(0.0, wall - state.last_ts))
        metrics.SNAPSHOTS.inc(len(snapshots))
        for partition, mark in self.processor.watermarks.items():
            metrics.WATERMARK.labels(partition=str(partition)).set(mark)
        return len(snapshots)

    async def _produce_keyed(self, topic: str, items: Sequence[tuple[bytes, bytes]]) -> None:
        """Records keyed by customer id, on the partition Kafka's default partitioner picks,
        one producer batch per partition."""
        if not items:
            return
        producer = raw_producer(self.app)
        count = len(await producer.partitions_for(topic))
        by_partition: dict[int, list[tuple[bytes | None, bytes]]] = {}
        for key, value in items:
            by_partition.setdefault(kafka_partition(key, count), []).append((key, value))
        await asyncio.gather(
            *(
                produce_batched(self.app, topic, partition, group, producer)
                for partition, group in by_partition.items()
            )
        )

    async def _produce_any(self, topic: str, items: Sequence[tuple[bytes | None, bytes]]) -> None:
        """Records whose key may be missing (dead letters: rare), sent and awaited together."""
        if not items:
            return
        producer = raw_producer(self.app)
        futures = [await producer.send(topic, value, key=key) for key, value in items]
        await asyncio.gather(*futures)


def _error_letter(record: SourceRecord) -> bytes:
    """The `events.dead` record for a record the scorer could not process (a bug, not bad input)."""
    return orjson.dumps(
        {
            "reason": "scorer error (see scorer logs)",
            "source": {
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
            },
            "payload": (record.value or b"")[:65536].decode("utf-8", "replace"),
        }
    )
