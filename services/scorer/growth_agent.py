"""The growth worker (`vitals growth`): its own Faust app, consumer group and process, reading
the same `events` topic as the scorer, with its own table.

It never reads or writes the customer state: growth state lives in the table `growth` (RocksDB +
changelog ``<app id>-growth-changelog``, app id ``<scorer_app_id>-growth``), keyed by entity id,
co-partitioned with `events`. Each batch is folded (vitals.growth.processor) and the touched
entities' snapshots are written to the Redis growth projection, which keeps population totals
exact under at-least-once delivery (vitals.growth.projection).

Why a process of its own, not a second agent inside the scorer (issue 13): two agents of one Faust
app share one consumer, so a record is committed only when both have acked it, both tables'
changelog writes go through one producer buffer that every commit flushes, and a full queue of
either agent pauses the partition for both. A slow growth agent (its Redis Lua writes, the heal
window after a restart republishing every touched entity) then held the scorer back: with it
inside, the scorer restarted after a SIGKILL missed its deadline in about half the runs on a
busy machine (tests/e2e/test_faults_scorer.py), and one stall left a partition's commit stuck
behind two offsets that no agent ever acked. Apart, each commits its own offsets and neither can
slow the other; growth can be scaled, restarted or reset (a new consumer group replays `events`)
without touching scoring.

Experiment decisions: every ``growth_decision_check_s`` (Settings) the worker analyses every
experiment; the first time an arm reaches a decision, an alert (rule ``experiment_decided``,
vitals.growth.decision_alert) is published on the `alerts` topic, where the notifier routes it to
the chat destinations like the churn alerts; then it is recorded (``vitals:growth:decisions``),
logged and counted (``vitals_growth_experiment_decisions_total``). Published before recorded: a
crash in between publishes it again with the same alert id, which the notifier delivers once per
destination (recording first could lose the alert).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click
import faust
import orjson
import redis.asyncio as aioredis
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from vitals.growth.aggregate import Snapshot
from vitals.growth.config import DEFAULT_GROWTH, GrowthConfig
from vitals.growth.config_file import GrowthConfigError, load_growth_config
from vitals.growth.decision_alert import decision_alert
from vitals.growth.experiments import report_all
from vitals.growth.facts import day_of
from vitals.growth.processor import GrowthProcessor
from vitals.growth.projection import GrowthProjection
from vitals.platform.cli_options import faust_loglevel_option
from vitals.platform.logs import configure_logging
from vitals.platform.settings import Settings

from .faust_app import raw_topic, run_worker, worker_app
from .faust_compat import changelog_topic_name, filing_under, take_events

logger = logging.getLogger("vitals.growth")

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
    "vitals_growth_failed_records_total",
    "Records the growth worker skipped: their fold failed alone, after the batch's retries",
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
        *,
        alerts_topic: faust.TopicT | None = None,
    ) -> None:
        """``alerts_topic``: where experiment decisions are published (raw bytes); None keeps
        them to the record and the log (tests, benchmarks)."""
        self.settings = settings
        self.config = config
        self._redis = redis
        self._alerts_topic = alerts_topic
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
        app.timer(settings.growth_decision_check_s)(self.check_decisions)

    async def _recovered(self) -> None:
        # After start-up or a rebalance the first records may be redeliveries: publish them all.
        self.processor.heal()

    def _projection(self) -> GrowthProjection:
        if self.projection is None:
            self.projection = GrowthProjection(self._redis())
        return self.projection

    async def _run(self, stream: faust.StreamT[bytes]) -> Any:
        async for events in take_events(
            stream, self.settings.growth_batch_records, self.settings.growth_batch_within_s
        ):
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
                        "growth: a batch of %d records failed %d times; folding "
                        "its records one by one",
                        len(group),
                        attempt,
                    )
                    return self._fold_each(group)
                logger.warning("growth: a batch failed (attempt %d), retrying", attempt)
                # Part of the batch may be stored already and would look unchanged on the retry:
                # publish every touched entity for a while.
                self.processor.heal()
            await asyncio.sleep(delay)
            delay *= 2
        return []

    def _fold_each(self, group: list[faust.EventT[bytes]]) -> list[Snapshot]:
        """The last resort for a batch that keeps failing: fold its records one by one, so one
        record that cannot be folded costs that record, not the batch."""
        with filing_under(group[-1]):
            snapshots, failed = self.processor.process_each(
                (e.message.partition, e.value) for e in group
            )
        for position in failed:
            message = group[position].message
            logger.error(
                "growth: record %s[%d]@%d could not be folded; skipped (its entity's facts "
                "reach Redis with its next change)",
                message.topic,
                message.partition,
                message.offset,
            )
        FOLD_FAILURES.inc(len(failed))
        return snapshots

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
        """Alert on (and record) every experiment arm that reached a decision for the first
        time; returns how many were recorded by this call."""
        now = time.time() if self.settings.clock == "wall" else self.processor.watermark
        try:
            return await publish_new_decisions(
                self._projection(),
                self.config,
                now,
                self.settings.public_url,
                self._publish_alert,
            )
        except RedisError as exc:
            logger.warning("growth: experiment check skipped (%s)", exc)
            return 0

    async def _publish_alert(self, key: bytes, value: bytes) -> None:
        if self._alerts_topic is None:
            return
        # force: sent now, not attached to an event; awaited until the broker has it.
        sent = await self._alerts_topic.send(key=key, value=value, force=True)
        await sent


Publish = Callable[[bytes, bytes], Awaitable[None]]


async def publish_new_decisions(
    projection: GrowthProjection,
    config: GrowthConfig,
    now: float,
    public_url: str,
    publish: Publish,
) -> int:
    """Every decided arm not recorded yet: publish its alert (key: the experiment), then record
    it. Returns how many this call recorded (a rival worker may record one first: it is
    published by both, with the same alert id)."""
    recorded = 0
    known = await projection.decisions()
    aggregates = await projection.aggregates("exp:")
    for report in report_all(aggregates, config, day_of(now)):
        for arm, effect in report["effects"].items():
            name = report["experiment"]
            if effect["decided_on"] is None or f"{name}|{arm}" in known:
                continue
            alert = decision_alert(report, arm, public_url, now)
            await publish(name.encode(), orjson.dumps(alert))
            if await projection.record_decision(
                name, arm, {"experiment": name, "arm": arm, **effect}
            ):
                recorded += 1
                DECISIONS.inc()
                interval = ", ".join(
                    "unbounded" if bound is None else f"{bound:+.4f}"
                    for bound in effect["always_valid_interval"]
                )
                # At warning level: a decision is rare and wanted in a worker run at `warn`.
                logger.warning(
                    "experiment %s: %s on %s (effect %+.4f, always-valid interval [%s]); "
                    "alert %s published",
                    name,
                    effect["decision"],
                    effect["decided_on"],
                    effect["effect"],
                    interval,
                    alert["alert_id"],
                )
    return recorded


# The growth worker's consumer group and table are named after the scorer's app id plus this.
APP_SUFFIX = "-growth"


class GrowthWorker:
    """Builds and holds the growth worker's Faust app, its agent and Redis client."""

    def __init__(self, settings: Settings, config: GrowthConfig = DEFAULT_GROWTH) -> None:
        self.settings = settings
        self.app_id = settings.scorer_app_id + APP_SUFFIX
        datadir = Path(settings.data_dir).resolve() / "growth" / self.app_id
        self.app = worker_app(self.app_id, settings, datadir)
        self.redis: aioredis.Redis | None = None
        self.agent = GrowthAgent(
            self.app,
            raw_topic(self.app, settings.topic_events, partitions=settings.partitions),
            settings,
            self._redis_client,
            config,
            alerts_topic=raw_topic(self.app, settings.topic_alerts, partitions=settings.partitions),
        )

    def _redis_client(self) -> aioredis.Redis:
        if self.redis is None:
            self.redis = aioredis.Redis.from_url(self.settings.redis_url)
        return self.redis


@click.command("growth")
@faust_loglevel_option
def growth(loglevel: str) -> None:
    """Consume `events` into the growth projection (funnel, groups, experiments) in Redis, and
    publish experiment decisions to `alerts`. A consumer group of its own, next to the scorer."""
    from vitals.platform.topics import TopicSpec, ensure_topics

    configure_logging(loglevel)
    settings = Settings()
    try:
        config = load_growth_config(settings.growth_config)
    except GrowthConfigError as err:
        raise click.ClickException(str(err)) from None
    worker = GrowthWorker(settings, config)
    # The changelog exists, partitions led, before Faust starts (see scorer/cli.py: left to
    # Faust, a first metadata without it fails every table write until the next refresh).
    changelog = TopicSpec(
        changelog_topic_name(worker.agent.table), settings.partitions, {"cleanup.policy": "compact"}
    )
    asyncio.run(ensure_topics(settings, extra=[changelog]))
    logger.info(
        "vitals growth: %s topic=%s group=%s redis=%s datadir=%s",
        settings.kafka_bootstrap,
        settings.topic_events,
        worker.app_id,
        settings.redis_url,
        settings.data_dir,
    )
    run_worker(worker.app, loglevel)
