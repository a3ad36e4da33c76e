"""The Kafka producer of every writer of `events` (ingest, `vitals replay`), configured once.

Durability is decided here, not per writer: acknowledged by every in-sync replica (``acks="all"``)
and idempotent, so a retried send is never written twice within a producer session. Batching and
timeouts are each writer's own (they trade latency for throughput differently).
"""

from __future__ import annotations

from aiokafka import AIOKafkaProducer


def events_producer(
    bootstrap: str,
    client_id: str,
    *,
    linger_ms: int,
    max_batch_bytes: int,
    request_timeout_ms: int,
) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=linger_ms,
        max_batch_size=max_batch_bytes,
        request_timeout_ms=request_timeout_ms,
    )
