"""Consumer lag of the scorer, read from Kafka for ``GET /v1/status``.

Lag per partition = end offset − the group's committed offset (a partition the group never
committed counts from the log start). Faust uses the app id as its consumer group id, so the group
is ``settings.scorer_app_id``. Each check opens its own short-lived admin client and consumer: the
API must answer while Kafka is down, so no long-lived Kafka connection is kept, and ``LagProbe``
caches a result briefly so a dashboard refreshing every few seconds does not connect per request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from vitals.projector.partitions import topic_partitions

# Whole-check deadline: long enough for a coordinator lookup on a busy broker, short enough that a
# status page with Kafka unreachable still answers within a few seconds.
KAFKA_CHECK_TIMEOUT_S = 3.0
# How long a result (or error) is served from cache: the dashboard polls every ~5 s.
LAG_CACHE_S = 2.0


async def read_lag(bootstrap: str, group: str, topic: str) -> dict[str, Any]:
    """Lag of ``group`` on ``topic``: totals and per partition. Raises on any Kafka error."""
    request_timeout_ms = int(KAFKA_CHECK_TIMEOUT_S * 1000)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=request_timeout_ms)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        request_timeout_ms=request_timeout_ms,
    )
    try:
        await admin.start()
        await consumer.start()
        tps = await topic_partitions(admin, topic)
        committed = await admin.list_consumer_group_offsets(group, partitions=tps)
        end = await consumer.end_offsets(tps)
        begin = await consumer.beginning_offsets(tps)
    finally:
        await consumer.stop()
        await admin.close()
    rows = []
    for tp in tps:
        meta = committed.get(tp)
        offset = meta.offset if meta is not None and meta.offset >= 0 else None
        lag = end[tp] - (offset if offset is not None else begin[tp])
        rows.append(
            {"partition": tp.partition, "committed": offset, "end": end[tp], "lag": max(lag, 0)}
        )
    return {
        "topic": topic,
        "group": group,
        "lag": sum(r["lag"] for r in rows),
        "partitions": rows,
    }


class LagProbe:
    """Cached lag check that never raises: ``{"ok": True, **lag}`` or ``{"ok": False, "error"}``."""

    def __init__(
        self, bootstrap: str, group: str, topic: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._args = (bootstrap, group, topic)
        self._clock = clock
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def check(self) -> dict[str, Any]:
        async with self._lock:  # concurrent requests share one check
            if self._cached and self._clock() - self._cached[0] < LAG_CACHE_S:
                return self._cached[1]
            try:
                result = {
                    "ok": True,
                    **await asyncio.wait_for(read_lag(*self._args), KAFKA_CHECK_TIMEOUT_S),
                }
            except Exception as exc:  # any failure is reported in the body, never raised
                bootstrap, group, topic = self._args
                result = {
                    "ok": False,
                    "topic": topic,
                    "group": group,
                    "error": f"cannot read consumer lag from Kafka at {bootstrap}: "
                    + (str(exc) or f"{type(exc).__name__} after {KAFKA_CHECK_TIMEOUT_S} s"),
                }
            self._cached = (self._clock(), result)
            return result
