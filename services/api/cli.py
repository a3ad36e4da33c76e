"""``vitals api``: run the read API and dashboard under uvicorn (platform.serve).

No access log: the metrics count requests.
"""

from __future__ import annotations

import click

from vitals.api.app import create_app
from vitals.platform.logs import configure_logging
from vitals.platform.serve import serve
from vitals.platform.settings import Settings


@click.command("api")
@click.option("--host", default=None, help="Address to bind. Default: VITALS_API_HOST (127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port. Default: VITALS_API_PORT (8080).")
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
def api(host: str | None, port: int | None, log_level: str) -> None:
    """Run the read API (/v1, /docs, /metrics) and the dashboard (/ui/)."""
    settings = Settings()
    configure_logging(log_level)
    serve(
        create_app(settings),
        name="API",
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level=log_level,
    )
