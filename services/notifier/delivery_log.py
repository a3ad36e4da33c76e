"""Delivery state per (alert, destination): what the API shows and what makes replays harmless.

The notifier records every attempt. Before queueing an alert it asks ``is_delivered``: an alert id
already delivered to a destination is skipped, so replaying the ``alerts`` topic (a restart, a
rebalance, a reset offset) never notifies a channel twice. Entries expire after
``DELIVERY_LOG_TTL_S``, longer than the ``alerts`` topic's retention, so every replayable alert
is still remembered.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel

from vitals.platform.keyspace import DELIVERY_KEY

# acked / snoozed: not sent because a CSM acknowledged the alert or snoozed its (customer, rule).
Status = Literal["queued", "retrying", "delivered", "dead", "acked", "snoozed"]
# 30 days: above Kafka's default 7-day retention for `alerts`, with room for a longer one.
DELIVERY_LOG_TTL_S = 30 * 24 * 3600


class DeliveryState(BaseModel):
    """Where one alert stands for one destination. Times are Unix seconds."""

    alert_id: str
    destination_id: str
    status: Status = "queued"
    attempts: int = 0
    last_status: int | None = None  # last HTTP status, None if no response
    last_error: str | None = None  # masked: never contains the webhook URL
    delivered_at: float | None = None
    updated_at: float = 0.0
    digest_size: int | None = None  # set when delivered inside a digest of this many alerts


class DeliveryLog(Protocol):
    async def get(self, alert_id: str, destination_id: str) -> DeliveryState | None: ...

    async def for_alert(self, alert_id: str) -> list[DeliveryState]: ...

    async def put(self, state: DeliveryState) -> None: ...


async def is_delivered(log: DeliveryLog, alert_id: str, destination_id: str) -> bool:
    state = await log.get(alert_id, destination_id)
    return state is not None and state.status == "delivered"


class InMemoryDeliveryLog:
    """A dict, unbounded: for tests and single runs."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], DeliveryState] = {}

    async def get(self, alert_id: str, destination_id: str) -> DeliveryState | None:
        return self._items.get((alert_id, destination_id))

    async def for_alert(self, alert_id: str) -> list[DeliveryState]:
        return sorted(
            (s for (a, _), s in self._items.items() if a == alert_id),
            key=lambda s: s.destination_id,
        )

    async def put(self, state: DeliveryState) -> None:
        self._items[(state.alert_id, state.destination_id)] = state.model_copy()


class RedisDeliveryLog:
    """One hash per alert, ``vitals:alerts:delivery:<alert_id>``: destination id -> state JSON."""

    def __init__(self, redis: Any, ttl_s: int = DELIVERY_LOG_TTL_S) -> None:
        self._redis = redis
        self._ttl_s = ttl_s

    async def get(self, alert_id: str, destination_id: str) -> DeliveryState | None:
        raw = await self._redis.hget(DELIVERY_KEY + alert_id, destination_id)
        return None if raw is None else DeliveryState.model_validate_json(raw)

    async def for_alert(self, alert_id: str) -> list[DeliveryState]:
        raw = await self._redis.hgetall(DELIVERY_KEY + alert_id)
        states = [DeliveryState.model_validate_json(v) for v in raw.values()]
        return sorted(states, key=lambda s: s.destination_id)

    async def put(self, state: DeliveryState) -> None:
        key = DELIVERY_KEY + state.alert_id
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, state.destination_id, state.model_dump_json())
            pipe.expire(key, self._ttl_s)
            await pipe.execute()
