"""`vitals scorer`: run one Faust worker of the scorer (`vitals projector` fills Redis)."""

from __future__ import annotations

import asyncio

import click

from vitals.platform.cli_options import faust_loglevel_option


@click.command("scorer")
@faust_loglevel_option
@click.option("--metrics-port", type=int, default=None, help="Serve Prometheus metrics here.")
def scorer(loglevel: str, metrics_port: int | None) -> None:
    """Consume `events`, keep per-customer state, publish `scores` (and alerts).

    Redis is filled from `scores` by `vitals projector`, a process of its own."""
    import faust
    from prometheus_client import start_http_server

    from vitals.platform.settings import Settings
    from vitals.platform.topics import TopicSpec, ensure_topics

    from .app import ScorerApp

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
        scorer_app.table.changelog_topic_name, settings.partitions, {"cleanup.policy": "compact"}
    )
    asyncio.run(ensure_topics(settings, extra=[changelog]))
    click.echo(
        f"vitals scorer: {settings.kafka_bootstrap} topic={settings.topic_events} "
        f"clock={settings.clock} redis={settings.redis_url} datadir={settings.data_dir}",
        err=True,
    )
    worker = faust.Worker(scorer_app.app, loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()
