from __future__ import annotations

import orjson
from aiokafka import AIOKafkaProducer
from click.testing import CliRunner
from redis.asyncio import Redis

from vitals.platform import keyspace as keys
from vitals.platform.settings import Settings
from vitals.projector.cli import rebuild, rebuild_redis
from vitals.projector.reader import ScoreReader

from .support import make_snapshot


async def produce_scores(settings: Settings, snapshots: list[tuple[dict, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        for snap, raw in snapshots:
            await producer.send(settings.topic_scores, raw, key=snap["customer_id"].encode())
        await producer.flush()
    finally:
        await producer.stop()


async def test_rebuild_replaces_projection_and_keeps_other_keys(
    settings: Settings, redis: Redis
) -> None:
    await produce_scores(
        settings,
        [make_snapshot(f"c{i}", 1.0, risk=float(i)) for i in range(30)]
        + [make_snapshot("c0", 2.0, risk=77.0)],
    )
    layout = keys.Layout.for_client(redis)
    await redis.set(layout.record("ghost"), b"{}")  # stale projection: must go
    await redis.zadd(layout.ranked(0, "risk", "active"), {"ghost": 99.0})
    await redis.set("vitals:destinations:slack", b"keep")  # other Vitals data: must stay
    lines: list[str] = []

    result = await rebuild(settings, redis, echo=lines.append)

    assert result.records == 31 and result.applied == 31 and result.deleted_keys == 2
    assert await redis.get("vitals:destinations:slack") == b"keep"
    assert await redis.get(layout.record("ghost")) is None
    top = (await ScoreReader(redis).at_risk(limit=2)).items
    assert [(s["customer_id"], s["risk"]["value"]) for s in map(orjson.loads, top)] == [
        ("c0", 77.0),
        ("c29", 29.0),
    ]
    assert orjson.loads(await ScoreReader(redis).snapshot("c0"))["as_of_ts"] == 2.0
    assert lines[-1].startswith("done: 31 records")


def test_rebuild_command_reads_settings_from_the_environment(settings: Settings) -> None:
    env = {
        "VITALS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "VITALS_REDIS_URL": settings.redis_url,
        "VITALS_TOPIC_SCORES": settings.topic_scores,
    }
    result = CliRunner().invoke(rebuild_redis, ["--yes"], env=env)
    assert result.exit_code == 0, result.output
    assert "done: 0 records" in result.output

    missing = CliRunner().invoke(
        rebuild_redis, ["--yes"], env={**env, "VITALS_TOPIC_SCORES": "no-such-topic"}
    )
    assert missing.exit_code == 1
    assert "does not exist" in missing.output
