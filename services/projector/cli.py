"""``vitals rebuild-redis``: rebuild the Redis projection from the compacted `scores` topic.

Redis is a projection; Kafka is the source of truth (docs/design.md §1). The rebuild deletes the
projection's keys (only those under ``keys.PREFIX``; never FLUSHALL/FLUSHDB: other Vitals data may
share the database), then reads `scores` from the start with its own group-less consumer up to the
end offsets captured when it started, and applies the snapshots in batches. Run it with the
projector stopped or running: the projector's later snapshots are newer and win either way, since
the writer never moves a customer back in time. While it runs the API answers 503 "rebuilding"
(the completeness marker ``keys.ready`` is deleted with the projection and set again at the end).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import click
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from vitals.platform import keyspace as keys
from vitals.platform.settings import Settings
from vitals.projector.connect import connect
from vitals.projector.partitions import TopicMissing, topic_partitions
from vitals.projector.writer import ScoreProjection

# Records per fetch and per Redis pipeline: large enough that the round trip is amortised, small
# enough that one pipeline stays a few MB (snapshots are ~0.6–1 KB).
BATCH_RECORDS = 2000
# Keys per SCAN step and per UNLINK while deleting the old projection.
DELETE_BATCH_KEYS = 1000
# Seconds between progress lines.
PROGRESS_EVERY_S = 2.0
FETCH_TIMEOUT_MS = 1000


@dataclass(frozen=True, slots=True)
class RebuildResult:
    deleted_keys: int
    records: int
    applied: int
    seconds: float


async def delete_projection(redis: Redis | RedisCluster, prefix: str = keys.PREFIX) -> int:
    """Delete every key under ``prefix`` (SCAN + UNLINK in batches); returns how many."""
    deleted = 0
    batch: list[bytes] = []
    async for key in redis.scan_iter(match=f"{prefix}*", count=DELETE_BATCH_KEYS):
        batch.append(key)
        if len(batch) >= DELETE_BATCH_KEYS:
            deleted += await redis.unlink(*batch)
            batch.clear()
    if batch:
        deleted += await redis.unlink(*batch)
    await redis.publish(keys.changes_channel(prefix), "deleted")  # API page caches drop
    return deleted


async def rebuild(
    settings: Settings, redis: Redis | RedisCluster, *, echo: Callable[[str], None] = click.echo
) -> RebuildResult:
    """Delete the projection and re-apply every snapshot of ``settings.topic_scores``."""
    started = time.monotonic()
    topic = settings.topic_scores
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        tps = await topic_partitions(admin, topic)
    except TopicMissing:
        raise click.ClickException(
            f"topic {topic!r} does not exist at {settings.kafka_bootstrap}; "
            "start the scorer first or check VITALS_TOPIC_SCORES"
        ) from None
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=BATCH_RECORDS,
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        # Delete first, then take the end offsets: a snapshot a running projector applies between
        # the two is re-applied here (taken the other way round, it would be deleted and lost).
        deleted = await delete_projection(redis)
        end = await consumer.end_offsets(tps)
        begin = await consumer.beginning_offsets(tps)
        total = sum(end[tp] - begin[tp] for tp in tps)
        echo(f"deleted {deleted} projection keys; reading {total} records from {topic!r}")
        projection = ScoreProjection(redis, mark_ready=False)
        records = applied = 0
        last_progress = last_data = time.monotonic()
        remaining = {tp for tp in tps if end[tp] > begin[tp]}
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=FETCH_TIMEOUT_MS)
            values: list[bytes] = []
            for tp, messages in fetched.items():
                values.extend(
                    m.value for m in messages if m.offset < end[tp] and m.value is not None
                )
                records += sum(1 for m in messages if m.offset < end[tp])
            if values:
                applied += await projection.apply_raw(values)
                last_data = time.monotonic()
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
                    consumer.pause(tp)
            now = time.monotonic()
            if now - last_data > settings.rebuild_stall_timeout_s:
                raise click.ClickException(
                    f"no records for {settings.rebuild_stall_timeout_s:.0f} s, "
                    f"{len(remaining)} partitions unread; "
                    "is Kafka up? The projection is partial: run the rebuild again"
                )
            if now - last_progress >= PROGRESS_EVERY_S:
                echo(f"  {records}/{total} records, {applied} customers moved forward")
                last_progress = now
    finally:
        await consumer.stop()
    # The API serves again (it answered 503 "rebuilding" since the delete).
    await redis.set(keys.ready(), repr(time.time()))
    result = RebuildResult(deleted, records, applied, time.monotonic() - started)
    echo(f"done: {records} records, {applied} snapshots applied in {result.seconds:.1f} s")
    return result


@click.command("rebuild-redis")
@click.option("--yes", is_flag=True, help="Do not ask before deleting the current projection.")
def rebuild_redis(yes: bool) -> None:
    """Rebuild the Redis projection (current scores, ranked lists, counts) from `scores`.

    History older than what `scores` still holds is lost: the topic is compacted.
    """
    settings = Settings()
    if not yes:
        click.confirm(
            f"Delete every {keys.PREFIX}* key in {settings.redis_url} and rebuild it?", abort=True
        )

    async def run() -> None:
        redis = await connect(settings.redis_url)
        try:
            await rebuild(settings, redis)
        finally:
            await redis.aclose()

    asyncio.run(run())
