"""`vitals scorer`: run one Faust worker of the scorer (`vitals projector` fills Redis)."""

from __future__ import annotations

import asyncio
import logging

import click

from vitals.platform.cli_options import faust_loglevel_option


@click.command("scorer")
@faust_loglevel_option
@click.option("--metrics-port", type=int, default=None, help="Serve Prometheus metrics here.")
def scorer(loglevel: str, metrics_port: int | None) -> None:
    """Consume `events`, keep per-customer state, publish `scores` (and alerts).

    Redis is filled from `scores` by `vitals projector`, a process of its own."""
    from prometheus_client import start_http_server

    from vitals.platform.logs import configure_logging
    from vitals.platform.settings import Settings
    from vitals.platform.topics import TopicSpec, ensure_topics

    from .app import ScorerApp
    from .faust_app import run_worker
    from .faust_compat import changelog_topic_name

    configure_logging(loglevel)
    settings = Settings()
    metrics_port = metrics_port or settings.scorer_metrics_port
    if metrics_port:
        start_http_server(metrics_port, addr="127.0.0.1")
    scorer_app = ScorerApp(settings)
    # The table's changelog must exist, with its partitions led, before Faust starts. Left to
    # Faust, it is created at start-up, and a consumer whose first metadata predates it sees it with
    # 0 partitions: every table write then fails (PartitionsMismatch) and every event went to
    # `events.dead` until the next metadata refresh, five minutes later (seen on a busy broker).
    changelog = TopicSpec(
        changelog_topic_name(scorer_app.table), settings.partitions, {"cleanup.policy": "compact"}
    )
    asyncio.run(ensure_topics(settings, extra=[changelog]))
    logging.getLogger("vitals.scorer").info(
        "vitals scorer: %s topic=%s clock=%s redis=%s datadir=%s",
        settings.kafka_bootstrap,
        settings.topic_events,
        settings.clock,
        settings.redis_url,
        settings.data_dir,
    )
    run_worker(scorer_app.app, loglevel)
