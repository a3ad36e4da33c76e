"""Acknowledged alerts and snoozed (customer, rule) pairs: what a CSM told us not to send.

- **Ack** (one alert id): the alert is handled. The notifier does not deliver it to destinations
  it has not reached yet, nor again on a replay of the ``alerts`` topic. An alert already queued
  or retrying in a running notifier when it is acked may still go out once (the check is made
  when the notifier takes the alert).
- **Snooze** (customer, rule, until T): alerts of that rule for that customer *raised* before T
  (``raised_at_ts < T``, the alert's own time, not the time the notifier reads it) are not
  delivered; alerts raised at or after T are. Comparing with the raise time keeps a replay, or a
  notifier catching up after an outage, faithful to what the CSM asked.

Both stay in Redis ``RETENTION_S`` past the moment they stop mattering, so replays of old alerts
still meet them, then expire on their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from vitals.notifier.delivery_log import DELIVERY_LOG_TTL_S
from vitals.platform.keyspace import ACK_KEY, SNOOZE_KEY

# As long as the delivery log remembers deliveries (longer than the `alerts` topic's retention):
# every replayable alert still meets its ack or snooze.
RETENTION_S = DELIVERY_LOG_TTL_S

Suppression = Literal["acked", "snoozed"]


class Ack(BaseModel):
    """Who acknowledged an alert and when (Unix seconds); ``by`` as the client named itself."""

    alert_id: str
    at: float
    by: str | None = None
    note: str | None = None


class Acks(Protocol):
    """The ack/snooze store the API writes and the notifier reads."""

    async def ack(self, ack: Ack) -> Ack:
        """Record ``ack`` unless the alert is acked already; returns the ack in force."""
        ...

    async def get_ack(self, alert_id: str) -> Ack | None: ...

    async def is_acked(self, alert_id: str) -> bool: ...

    async def acks(self, alert_ids: Iterable[str]) -> dict[str, Ack]:
        """The acks of those ids that have one."""
        ...

    async def snooze(self, customer_id: str, rule: str, until_ts: float) -> None:
        """Hold back (customer, rule) alerts raised before ``until_ts`` (replaces a snooze)."""
        ...

    async def unsnooze(self, customer_id: str, rule: str) -> bool: ...

    async def snoozed_until(self, customer_id: str, rule: str) -> float | None: ...

    async def snoozes(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], float]:
        """``snoozed_until`` of many (customer, rule) pairs, for those that have one."""
        ...


def suppression(
    alert: Mapping[str, Any], ack: Ack | None, snoozed_until: float | None
) -> Suppression | None:
    """Why ``alert`` must not be delivered: ``"acked"``, ``"snoozed"``, or None (deliver it)."""
    if ack is not None:
        return "acked"
    raised = alert.get("raised_at_ts")
    if snoozed_until is not None and isinstance(raised, int | float) and raised < snoozed_until:
        return "snoozed"
    return None


class InMemoryAckStore:
    """Dicts that never expire: for tests and single runs."""

    def __init__(self) -> None:
        self._acks: dict[str, Ack] = {}
        self._snoozes: dict[tuple[str, str], float] = {}

    async def ack(self, ack: Ack) -> Ack:
        return self._acks.setdefault(ack.alert_id, ack.model_copy())

    async def get_ack(self, alert_id: str) -> Ack | None:
        return self._acks.get(alert_id)

    async def is_acked(self, alert_id: str) -> bool:
        return alert_id in self._acks

    async def acks(self, alert_ids: Iterable[str]) -> dict[str, Ack]:
        return {i: self._acks[i] for i in alert_ids if i in self._acks}

    async def snooze(self, customer_id: str, rule: str, until_ts: float) -> None:
        self._snoozes[(customer_id, rule)] = until_ts

    async def unsnooze(self, customer_id: str, rule: str) -> bool:
        return self._snoozes.pop((customer_id, rule), None) is not None

    async def snoozed_until(self, customer_id: str, rule: str) -> float | None:
        return self._snoozes.get((customer_id, rule))

    async def snoozes(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], float]:
        return {p: self._snoozes[p] for p in pairs if p in self._snoozes}


class AckStore:
    """Redis: ``vitals:alerts:ack:<alert_id>`` -> ack JSON, ``vitals:alerts:snooze:<rule>:
    <customer_id>`` -> until (Unix s). Both expire ``retention_s`` after they stop mattering."""

    def __init__(self, redis: Any, retention_s: int = RETENTION_S) -> None:
        self._redis = redis
        self._retention_s = retention_s

    async def ack(self, ack: Ack) -> Ack:
        # NX: the first acknowledgement stands; a second click does not rewrite who and when.
        key = ACK_KEY + ack.alert_id
        if await self._redis.set(key, ack.model_dump_json(), nx=True, ex=self._retention_s):
            return ack
        return await self.get_ack(ack.alert_id) or ack

    async def get_ack(self, alert_id: str) -> Ack | None:
        raw = await self._redis.get(ACK_KEY + alert_id)
        return None if raw is None else Ack.model_validate_json(raw)

    async def is_acked(self, alert_id: str) -> bool:
        return bool(await self._redis.exists(ACK_KEY + alert_id))

    async def acks(self, alert_ids: Iterable[str]) -> dict[str, Ack]:
        ids = list(dict.fromkeys(alert_ids))
        if not ids:
            return {}
        raws = await self._redis.mget([ACK_KEY + i for i in ids])
        return {i: Ack.model_validate_json(r) for i, r in zip(ids, raws, strict=True) if r}

    async def snooze(self, customer_id: str, rule: str, until_ts: float) -> None:
        # Kept past `until`: alerts raised before it may be replayed long after, and must still
        # be held back.
        expire_at = int(until_ts) + self._retention_s
        await self._redis.set(_snooze_key(customer_id, rule), repr(float(until_ts)), exat=expire_at)

    async def unsnooze(self, customer_id: str, rule: str) -> bool:
        return bool(await self._redis.delete(_snooze_key(customer_id, rule)))

    async def snoozed_until(self, customer_id: str, rule: str) -> float | None:
        raw = await self._redis.get(_snooze_key(customer_id, rule))
        return None if raw is None else float(raw)

    async def snoozes(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], float]:
        keys = list(dict.fromkeys(pairs))
        if not keys:
            return {}
        raws = await self._redis.mget([_snooze_key(c, r) for c, r in keys])
        return {k: float(r) for k, r in zip(keys, raws, strict=True) if r is not None}


def _snooze_key(customer_id: str, rule: str) -> str:
    return f"{SNOOZE_KEY}{rule}:{customer_id}"
