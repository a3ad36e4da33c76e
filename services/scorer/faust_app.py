"""The Faust app every worker of ours runs on (the scorer and the growth worker): one place for
the options they share, so a change to one cannot drift from the other."""

from __future__ import annotations

from pathlib import Path

import faust

from vitals.platform.settings import Settings


def worker_app(app_id: str, settings: Settings, datadir: Path) -> faust.App:
    """An at-least-once Faust app (consumer group ``app_id``) with its RocksDB tables under
    ``datadir``, reading a new group's partitions from the earliest offset."""
    datadir.parent.mkdir(parents=True, exist_ok=True)  # Faust does not create the parent
    return faust.App(
        app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="rocksdb://",
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        processing_guarantee="at_least_once",
        web_enabled=False,
        producer_acks=-1,
        producer_linger_ms=5,
        consumer_auto_offset_reset="earliest",
        topic_allow_declare=True,
        table_cleanup_interval=3600.0,
        broker_session_timeout=settings.worker_session_timeout_s,
    )
