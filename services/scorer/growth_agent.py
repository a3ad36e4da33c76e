"""The growth agent: a second consumer of `events` inside the scorer app, with its own table.

It never reads or writes the customer state (table `customers`): growth state lives in the table
`growth` (RocksDB + changelog ``<app id>-growth-changelog``), keyed by entity id, co-partitioned
with `events`. Each batch is folded (vitals.growth.processor) and the touched entities' snapshots
are written to the Redis growth projection, which keeps population totals exact under
at-least-once delivery (vitals.growth.projection).

Experiment decisions: every ``DECISION_CHECK_S`` the agent analyses every experiment; the first
time an arm reaches a decision it is recorded (``vitals:growth:decisions``), logged at warning
level and counted (``vitals_growth_experiment_decisions_total``): that is the alert.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import faust
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from vitals.growth.config import DEFAULT_GROWTH, GrowthConfig
from vitals.growth.experiments import report_all
from vitals.growth.facts import day_of
from vitals.growth.processor import GrowthProcessor
from vitals.growth.projection import GrowthProjection, Snapshot
from vitals.platform.settings import Settings

from .faust_compat import filing_under

logger = logging.getLogger("vitals.growth")

# Same batching as the scorer agent: the two consume the same records side by side.
GROWTH_BATCH = 2_000
GROWTH_BATCH_WITHIN_S = 0.02
# Experiments are analysed this often; a decision is a daily-scale event, seconds are plenty.
DECISION_CHECK_S = 30.0
# Redis unreachable: retry the same write after 0.5 s, doubling up to 10 s (a restart of Redis
# takes seconds; the scorer agent keeps scoring meanwhile).
REDIS_RETRY_MIN_S = 0.5
REDIS_RETRY_MAX_S = 10.0
# A failed fold is retried this many times, from 0.5 s doubling (~15 s in all): enough for Faust
# to refresh its topic metadata after creating a changelog.
FOLD_ATTEMPTS = 6
FOLD_RETRY_MIN_S = 0.5

GROWTH_EVENTS = Counter("vitals_growth_records_total", "Records folded by the growth agent")
FOLD_FAILURES = Counter(
    "vitals_growth_failed_batches_total", "Growth batches skipped after every retry failed"
)
DECISIONS = Counter(
    "vitals_growth_experiment_decisions_total", "Experiment arms that reached a decision"
)


class GrowthAgent:
    def __init__(
        self,
        app: faust.App,
        events_topic: faust.TopicT,
        settings: Settings,
        redis: Callable[[], Redis],
        config: GrowthConfig = DEFAULT_GROWTH,
    ) -> None:
        self.settings = settings
        self.config = config
        self._redis = redis
        self.table = app.Table(
            "growth",
            default=None,
            partitions=settings.partitions,
            key_type=bytes,
            value_type=bytes,
        )
        self.processor = GrowthProcessor(self.table, config, settings.partitions)
        self.table.on_recover(self._recovered)
        self.projection: GrowthProjection | None = None
        app.agent(events_topic, name="vitals.growth")(self._run)
        app.timer(DECISION_CHECK_S)(self.check_decisions)

    async def _recovered(self) -> None:
        # After start-up or a rebalance the first records may be redeliveries: publish them all.
        self.processor.heal()

    def _projection(self) -> GrowthProjection:
        if self.projection is None:
            self.projection = GrowthProjection(self._redis())
        return self.projection

    async def _run(self, stream: faust.StreamT[bytes]) -> Any:
        async for events in stream.take_events(GROWTH_BATCH, within=GROWTH_BATCH_WITHIN_S):
            by_partition: dict[int, list[faust.EventT[bytes]]] = {}
            for event in events:
                by_partition.setdefault(event.message.partition, []).append(event)
            for group in by_partition.values():
                snapshots = await self._fold(group)
                await self._write(snapshots)
                GROWTH_EVENTS.inc(len(group))
                yield len(snapshots)

    async def _fold(self, group: list[faust.EventT[bytes]]) -> list[Snapshot]:
        """Fold one partition's records, retrying a failed batch: the fold is idempotent, and the
        usual failure is transient (a table write before Faust has seen its new changelog topic
        in the metadata: PartitionsMismatch right after start-up)."""
        delay = FOLD_RETRY_MIN_S
        for attempt in range(1, FOLD_ATTEMPTS + 1):
            # Table writes are filed under the partition of Faust's current event.
            try:
                with filing_under(group[-1]):
                    return self.processor.process((e.message.partition, e.value) for e in group)
            except Exception:
                if attempt == FOLD_ATTEMPTS:
                    logger.exception(
                        "growth: a batch of %d records failed %d times; skipped (its entities' "
                        "facts reach Redis with their next change)",
                        len(group),
                        attempt,
                    )
                    FOLD_FAILURES.inc()
                    return []
                logger.warning("growth: a batch failed (attempt %d), retrying", attempt)
                # Part of the batch may be stored already and would look unchanged on the retry:
                # publish every touched entity for a while.
                self.processor.heal()
            await asyncio.sleep(delay)
            delay *= 2
        return []

    async def _write(self, snapshots: list[Snapshot]) -> None:
        """Write to Redis, retrying while it is unreachable: the records are not acked (and
        their snapshots not lost) until the write succeeded."""
        delay = REDIS_RETRY_MIN_S
        while True:
            try:
                await self._projection().apply(snapshots)
                return
            except RedisError as exc:
                logger.warning("growth: Redis write failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(REDIS_RETRY_MAX_S, delay * 2)

    async def check_decisions(self) -> int:
        """Record (and log) every experiment arm that reached a decision for the first time."""
        today = day_of(time.time() if self.settings.clock == "wall" else self.processor.watermark)
        recorded = 0
        try:
            projection = self._projection()
            aggregates = await projection.aggregates("exp:")
            for report in report_all(aggregates, self.config, today):
                for arm, effect in report["effects"].items():
                    if effect["decided_on"] is None:
                        continue
                    record = {"experiment": report["experiment"], "arm": arm, **effect}
                    if await projection.record_decision(report["experiment"], arm, record):
                        recorded += 1
                        DECISIONS.inc()
                        logger.warning(
                            "experiment %s: %s on %s (effect %+.4f, always-valid interval %s)",
                            report["experiment"],
                            effect["decision"],
                            effect["decided_on"],
                            effect["effect"],
                            effect["always_valid_interval"],
                        )
        except RedisError as exc:
            logger.warning("growth: experiment check skipped (%s)", exc)
        return recorded
