"""``vitals ingest``: run the HTTP ingest service under uvicorn (platform.serve)."""

from __future__ import annotations

import click


@click.command("ingest")
@click.option("--host", default=None, help="Bind address [default: VITALS_INGEST_HOST].")
@click.option("--port", type=int, default=None, help="Port [default: VITALS_INGEST_PORT].")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option("--access-log/--no-access-log", default=False, show_default=True)
def ingest(host: str | None, port: int | None, log_level: str, access_log: bool) -> None:
    """Run the HTTP ingest service (POST /v1/batch -> Kafka `events`)."""
    from vitals.platform.logs import configure_logging
    from vitals.platform.serve import serve
    from vitals.platform.settings import Settings

    from .app import create_app

    settings = Settings()
    configure_logging(log_level)
    serve(
        create_app(settings),
        name="ingest",
        host=host or settings.ingest_host,
        port=port or settings.ingest_port,
        log_level=log_level,
        access_log=access_log,
    )
