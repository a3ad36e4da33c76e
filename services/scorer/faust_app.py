"""The Faust app every worker of ours runs on (the scorer and the growth worker), and how its
worker runs: one place for what they share, so a change to one cannot drift from the other."""

from __future__ import annotations

from pathlib import Path

import faust

from vitals.platform.logs import logging_config
from vitals.platform.settings import Settings

from .faust_compat import resume_streams_after_the_seek, seek_uncommitted_to_the_beginning


def worker_app(app_id: str, settings: Settings, datadir: Path) -> faust.App:
    """An at-least-once Faust app (consumer group ``app_id``) with its RocksDB tables under
    ``datadir``, reading a new group's partitions from the earliest offset, with faust_compat's
    fixes for records Faust would drop around a recovery installed."""
    datadir.parent.mkdir(parents=True, exist_ok=True)  # Faust does not create the parent
    seek_uncommitted_to_the_beginning()
    resume_streams_after_the_seek()
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


def raw_topic(app: faust.App, name: str, *more: str, partitions: int | None = None) -> faust.TopicT:
    """Topic ``name`` (or several read as one) of raw bytes: keys and values pass through Faust
    undecoded, our records codecs do the rest."""
    return app.topic(
        name,
        *more,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
    )


def run_worker(app: faust.App, loglevel: str) -> None:
    """Run ``app``'s worker in this process until SIGTERM/SIGINT, logging JSON lines (the CLI
    calls ``configure_logging`` first, for the lines before the worker starts).

    ``loglevel`` is one of Faust's names (crit, error, warn, info, debug). Faust replaces the
    process's logging config when its worker starts: it is handed ours (vitals.platform.logs),
    so its records, aiokafka's and ours share one format. Its terminal spinner is off: JSON lines
    have no terminal, and under ``warn`` the spinner put the root logger at DEBUG, so that every
    debug record of faust and aiokafka was built and dropped (10-20 % of the CPU)."""
    worker = faust.Worker(
        app, loglevel=loglevel, quiet=True, logging_config=logging_config(loglevel)
    )
    worker.spinner = None
    worker.execute_from_commandline()
