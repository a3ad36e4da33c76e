from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from redis.asyncio import Redis

from vitals.platform.settings import Settings

from .conftest import ClientFactory
from .support import make_snapshot, seed


async def test_status_reports_scorer_lag_from_committed_offsets(
    api: ClientFactory, settings: Settings, redis: Redis
) -> None:
    group = f"status-test-{time.time_ns()}"
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        for i in range(7):
            await producer.send_and_wait(settings.topic_events, b"{}", partition=0, key=b"k%d" % i)
    finally:
        await producer.stop()
    committer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    await committer.start()
    try:
        tp = TopicPartition(settings.topic_events, 0)
        committer.assign([tp])
        await committer.commit({tp: OffsetAndMetadata(3, "")})
    finally:
        await committer.stop()
    projected_after = time.time()
    await seed(redis, [make_snapshot("acme", 1234.0)])

    async with api(scorer_app_id=group) as client:
        response = await client.get("/v1/status")

    assert response.status_code == 200
    body = response.json()
    kafka = body["kafka"]
    assert (
        kafka["ok"] is True and kafka["group"] == group and kafka["topic"] == settings.topic_events
    )
    partition0 = next(p for p in kafka["partitions"] if p["partition"] == 0)
    assert partition0 == {"partition": 0, "committed": 3, "end": 7, "lag": 4}
    assert kafka["lag"] == 4  # other partitions are empty
    assert body["projection"]["watermark_ts"] == 1234.0
    assert body["projection"]["snapshots_applied"] == 1
    # Projected between projected_after and now: the age lies within what this test measured
    # (rounded to ms by the API), however slow the machine.
    age = body["projection"]["seconds_since_last_projection"]
    assert 0 <= age <= time.time() - projected_after + 0.001


async def test_status_answers_when_kafka_is_unreachable(api: ClientFactory) -> None:
    async with api(kafka_bootstrap="127.0.0.1:1") as client:
        response = await client.get("/v1/status")
    assert response.status_code == 200
    body = response.json()
    assert body["kafka"]["ok"] is False
    assert "127.0.0.1:1" in body["kafka"]["error"]
    assert body["projection"]["watermark_ts"] is None
