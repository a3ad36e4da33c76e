from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from vitals.notifier.delivery_log import (
    DELIVERY_LOG_TTL_S,
    DeliveryLog,
    DeliveryState,
    InMemoryDeliveryLog,
    RedisDeliveryLog,
    is_delivered,
)
from vitals.platform.keyspace import DELIVERY_KEY

from .support import STORE_KINDS, memory_or_redis


@pytest.fixture(params=STORE_KINDS)
def delivery_log(request: pytest.FixtureRequest) -> DeliveryLog:
    return memory_or_redis(request, InMemoryDeliveryLog, RedisDeliveryLog)


async def test_states_are_kept_per_alert_and_destination(delivery_log: DeliveryLog) -> None:
    await delivery_log.put(
        DeliveryState(
            alert_id="a1",
            destination_id="s",
            status="retrying",
            attempts=2,
            last_status=503,
            last_error="HTTP 503",
        )
    )
    await delivery_log.put(
        DeliveryState(
            alert_id="a1",
            destination_id="t",
            status="delivered",
            attempts=1,
            last_status=200,
            delivered_at=5.0,
        )
    )
    await delivery_log.put(DeliveryState(alert_id="a2", destination_id="s"))
    states = await delivery_log.for_alert("a1")
    assert [(s.destination_id, s.status, s.attempts) for s in states] == [
        ("s", "retrying", 2),
        ("t", "delivered", 1),
    ]
    assert await is_delivered(delivery_log, "a1", "t")
    assert not await is_delivered(delivery_log, "a1", "s")
    assert not await is_delivered(delivery_log, "nope", "s")
    await delivery_log.put(DeliveryState(alert_id="a1", destination_id="s", status="delivered"))
    assert await is_delivered(delivery_log, "a1", "s")


async def test_redis_entries_expire_after_the_ttl(redis: aioredis.Redis) -> None:
    await RedisDeliveryLog(redis).put(DeliveryState(alert_id="a9", destination_id="s"))
    ttl = await redis.ttl(DELIVERY_KEY + "a9")
    assert DELIVERY_LOG_TTL_S - 5 <= ttl <= DELIVERY_LOG_TTL_S
