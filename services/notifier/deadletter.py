"""Dead letters: alerts given up on for a destination, kept for inspection and replay.

In production they go to the Kafka topic ``alerts.dead`` (key = alert id) as
``{"alert": <the record>, "destination_id": ..., "reason": ..., "dead_at": <unix s>}``; after
fixing the destination, replaying those records' ``alert`` into ``alerts`` re-delivers them
(the delivery log only skips alerts already *delivered*).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol


class DeadLetterSink(Protocol):
    async def dead(self, alert: Mapping[str, Any], destination_id: str, reason: str) -> None: ...


def dead_letter_record(
    alert: Mapping[str, Any], destination_id: str, reason: str, dead_at: float
) -> dict[str, Any]:
    return {
        "alert": dict(alert),
        "destination_id": destination_id,
        "reason": reason,
        "dead_at": dead_at,
    }


class InMemoryDeadLetterSink:
    """Keeps records in ``self.records``; for tests and dry runs."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.records: list[dict[str, Any]] = []
        self._clock = clock

    async def dead(self, alert: Mapping[str, Any], destination_id: str, reason: str) -> None:
        self.records.append(dead_letter_record(alert, destination_id, reason, self._clock()))


class KafkaDeadLetterSink:
    """Produces to ``topic`` with a started ``aiokafka.AIOKafkaProducer`` (owned by the caller),
    waiting for the broker's ack so a dead letter is not lost silently."""

    def __init__(self, producer: Any, topic: str, clock: Callable[[], float] = time.time) -> None:
        self._producer = producer
        self._topic = topic
        self._clock = clock

    async def dead(self, alert: Mapping[str, Any], destination_id: str, reason: str) -> None:
        record = dead_letter_record(alert, destination_id, reason, self._clock())
        key = str(alert.get("alert_id", "")).encode()
        await self._producer.send_and_wait(self._topic, json.dumps(record).encode(), key=key)
