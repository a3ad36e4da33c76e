"""Recent alerts, as the notifier received them: what ``GET /v1/alerts`` lists and acks refer to.

The notifier records every alert record it takes from the ``alerts`` topic, routed somewhere or
nowhere. Bounded on every axis: the overall index keeps the newest ``MAX_RECENT`` alerts, each
customer's index the newest ``MAX_PER_CUSTOMER``, and every alert body expires after
``HISTORY_TTL_S``. Recording is idempotent (same id, same keys), so replays change nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import orjson

from vitals.notifier.delivery_log import DELIVERY_LOG_TTL_S
from vitals.platform.keyspace import ALERT_KEY, CUSTOMER_RECENT_KEY, RECENT_KEY

# Alerts listed across all customers: a few weeks of a busy book of business, ~10-20 MB of JSON.
MAX_RECENT = 10_000
# Per customer: far more than a CSM scrolls through, small enough that one noisy account cannot
# fill Redis.
MAX_PER_CUSTOMER = 200
# Alert bodies live as long as their delivery states, so a listed alert always has its deliveries.
HISTORY_TTL_S = DELIVERY_LOG_TTL_S
# The most alerts one call returns.
MAX_LIMIT = 500


class History(Protocol):
    async def record(self, alert: Mapping[str, Any]) -> None:
        """Remember ``alert`` (needs ``alert_id``; ordered by ``raised_at_ts``)."""
        ...

    async def get(self, alert_id: str) -> dict[str, Any] | None: ...

    async def recent(self, limit: int, customer_id: str | None = None) -> list[dict[str, Any]]:
        """Up to ``limit`` (1..MAX_LIMIT) alerts, newest raised first, of one customer or all."""
        ...


def _when(alert: Mapping[str, Any], clock: Callable[[], float]) -> float:
    raised = alert.get("raised_at_ts")
    return float(raised) if isinstance(raised, int | float) else clock()


def _clamp(limit: int) -> int:
    return max(1, min(MAX_LIMIT, limit))


class InMemoryAlertHistory:
    """The same bounds as ``AlertHistory``, in dicts; no expiry. For tests and single runs."""

    def __init__(
        self,
        *,
        max_recent: int = MAX_RECENT,
        max_per_customer: int = MAX_PER_CUSTOMER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._alerts: dict[str, tuple[float, dict[str, Any]]] = {}
        self._max_recent = max_recent
        self._max_per_customer = max_per_customer
        self._clock = clock

    async def record(self, alert: Mapping[str, Any]) -> None:
        self._alerts[str(alert["alert_id"])] = (_when(alert, self._clock), dict(alert))

    async def get(self, alert_id: str) -> dict[str, Any] | None:
        item = self._alerts.get(alert_id)
        return None if item is None else dict(item[1])

    async def recent(self, limit: int, customer_id: str | None = None) -> list[dict[str, Any]]:
        ranked = sorted(self._alerts.items(), key=lambda kv: (kv[1][0], kv[0]), reverse=True)
        bodies = [body for _, (_, body) in ranked[: self._max_recent]]
        if customer_id is not None:
            mine = [b for _, (_, b) in ranked if b.get("customer_id") == customer_id]
            bodies = mine[: self._max_per_customer]
        return [dict(b) for b in bodies[: _clamp(limit)]]


class AlertHistory:
    """Redis: ``vitals:alerts:alert:<id>`` -> alert JSON (TTL), sorted sets by ``raised_at_ts``:
    ``vitals:alerts:recent`` (all) and ``vitals:alerts:recent:customer:<customer_id>``."""

    def __init__(
        self,
        redis: Any,
        *,
        max_recent: int = MAX_RECENT,
        max_per_customer: int = MAX_PER_CUSTOMER,
        ttl_s: int = HISTORY_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._max_recent = max_recent
        self._max_per_customer = max_per_customer
        self._ttl_s = ttl_s
        self._clock = clock

    async def record(self, alert: Mapping[str, Any]) -> None:
        alert_id = str(alert["alert_id"])
        score = _when(alert, self._clock)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(ALERT_KEY + alert_id, orjson.dumps(dict(alert)), ex=self._ttl_s)
            pipe.zadd(RECENT_KEY, {alert_id: score})
            # Ranks 0.. are the oldest: keep the newest max_recent.
            pipe.zremrangebyrank(RECENT_KEY, 0, -(self._max_recent + 1))
            customer_id = alert.get("customer_id")
            if isinstance(customer_id, str) and customer_id:
                key = CUSTOMER_RECENT_KEY + customer_id
                pipe.zadd(key, {alert_id: score})
                pipe.zremrangebyrank(key, 0, -(self._max_per_customer + 1))
                # A customer who stops raising alerts leaves no index behind.
                pipe.expire(key, self._ttl_s)
            await pipe.execute()

    async def get(self, alert_id: str) -> dict[str, Any] | None:
        raw = await self._redis.get(ALERT_KEY + alert_id)
        return None if raw is None else _object(raw)

    async def recent(self, limit: int, customer_id: str | None = None) -> list[dict[str, Any]]:
        key = RECENT_KEY if customer_id is None else CUSTOMER_RECENT_KEY + customer_id
        ids = await self._redis.zrevrange(key, 0, _clamp(limit) - 1)
        if not ids:
            return []
        raws = await self._redis.mget([ALERT_KEY.encode() + _bytes(i) for i in ids])
        # A body past its TTL while still indexed is skipped: the index trims by count, not age.
        return [_object(raw) for raw in raws if raw is not None]


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _object(raw: bytes | str) -> dict[str, Any]:
    value = orjson.loads(raw)
    return value if isinstance(value, dict) else {}
