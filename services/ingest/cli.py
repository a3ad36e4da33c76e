"""``vitals ingest``: run the HTTP ingest service under uvicorn (platform.serve)."""

from __future__ import annotations

import click

from vitals.platform.cli_options import http_service_options


@click.command("ingest")
@http_service_options("ingest")
@click.option("--access-log/--no-access-log", default=False, show_default=True)
def ingest(host: str | None, port: int | None, log_level: str, access_log: bool) -> None:
    """Run the HTTP ingest service (POST /v1/batch -> Kafka `events`)."""
    from vitals.platform.serve import serve
    from vitals.platform.settings import Settings

    from .app import create_app

    settings = Settings()
    address = (host or settings.ingest_host, port or settings.ingest_port)
    app = create_app(settings)
    serve(app, name="ingest", address=address, log_level=log_level, access_log=access_log)
