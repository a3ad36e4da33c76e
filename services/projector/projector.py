"""``vitals projector``: project the `scores` topic into Redis, in its own process.

Its own process (it was a Faust agent inside the scorer): the projection's Python work (decode,
compress, build the script arguments, ~10 µs a snapshot) no longer competes with scoring for one
core, and projectors scale apart from scorers. Several projectors share the work through their
consumer group (``<scorer app id>-projector``): Kafka splits `scores`' partitions among them, and
every snapshot of a customer is on one partition, so each customer is projected in order.

Guarantee: at least once. Offsets are committed after the batch is in Redis; after a crash the
uncommitted batch is applied again, which the writer makes harmless (it never moves a customer back
in time, and re-applying the same instant is idempotent).

Metrics (``--metrics-port``): ``vitals_projector_snapshots_total``, ``vitals_projector_lag_records``
(records in `scores` not yet projected, per partition: the high-water mark minus the position),
``vitals_projector_lag_seconds`` (wall clock minus the Kafka timestamp of the newest record
projected, 0 when caught up: how far behind the scorer Redis is) and
``vitals_projector_batch_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from contextlib import suppress

import click
from aiokafka import AIOKafkaConsumer
from prometheus_client import Counter, Gauge, Histogram
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from vitals.platform.logs import configure_logging
from vitals.platform.settings import Settings
from vitals.projector.connect import connect
from vitals.projector.writer import ScoreProjection

log = logging.getLogger("vitals.projector")

SNAPSHOTS = Counter("vitals_projector_snapshots_total", "Snapshots read from scores and projected")
LAG_RECORDS = Gauge(
    "vitals_projector_lag_records",
    "Records in scores not yet projected (high-water mark - position), per partition",
    ["partition"],
)
LAG_SECONDS = Gauge(
    "vitals_projector_lag_seconds",
    "Wall clock minus the Kafka timestamp of the newest record projected (0 when caught up)",
)
BATCH_SECONDS = Histogram(
    "vitals_projector_batch_seconds",
    "Time to project one batch into Redis",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
)


def group_id(settings: Settings) -> str:
    return f"{settings.scorer_app_id}-projector"


async def run(settings: Settings, redis: Redis | RedisCluster, stop: asyncio.Event) -> int:
    """Project until ``stop`` is set; returns the number of records read."""
    consumer = AIOKafkaConsumer(
        settings.topic_scores,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group_id(settings),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.projector_batch_records,
    )
    await consumer.start()
    projection = ScoreProjection(redis)
    records = 0
    try:
        while not stop.is_set():
            fetched = await consumer.getmany(timeout_ms=settings.projector_fetch_timeout_ms)
            values = [m.value for ms in fetched.values() for m in ms if m.value is not None]
            if values:
                started = time.perf_counter()
                await projection.apply_raw(values)
                BATCH_SECONDS.observe(time.perf_counter() - started)
                newest = max(m.timestamp for ms in fetched.values() for m in ms) / 1000.0
                LAG_SECONDS.set(max(0.0, time.time() - newest))
                await consumer.commit()
                SNAPSHOTS.inc(len(values))
                records += sum(len(ms) for ms in fetched.values())
            behind = 0
            for tp in consumer.assignment():
                high = consumer.highwater(tp)
                if high is not None:
                    lag = max(0, high - await consumer.position(tp))
                    LAG_RECORDS.labels(partition=str(tp.partition)).set(lag)
                    behind += lag
            if not values and behind == 0:
                LAG_SECONDS.set(0.0)
    finally:
        with suppress(Exception):
            await consumer.stop()
    return records


@click.command("projector")
@click.option("--metrics-port", type=int, default=0, help="Serve Prometheus metrics here (0 = no).")
def projector(metrics_port: int) -> None:
    """Project `scores` into Redis (current snapshot, ranked lists, counts, daily history).

    Run one or more (they share `scores`' partitions); stop with SIGTERM or Ctrl-C.
    """
    from prometheus_client import start_http_server

    settings = Settings()
    configure_logging("info")
    if metrics_port:
        start_http_server(metrics_port, addr="127.0.0.1")
    log.info(
        "vitals projector: %s topic=%s group=%s redis=%s",
        settings.kafka_bootstrap,
        settings.topic_scores,
        group_id(settings),
        settings.redis_url,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        redis = await connect(settings.redis_url)
        try:
            await run(settings, redis, stop)
        finally:
            await redis.aclose()

    asyncio.run(main())
