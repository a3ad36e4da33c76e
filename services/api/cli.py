"""``vitals api``: run the read API and dashboard under uvicorn (platform.serve).

No access log: the metrics count requests.
"""

from __future__ import annotations

import click

from vitals.api.app import create_app
from vitals.growth.config_file import GrowthConfigError
from vitals.platform.cli_options import http_service_options
from vitals.platform.serve import serve
from vitals.platform.settings import Settings


@click.command("api")
@http_service_options("api")
def api(host: str | None, port: int | None, log_level: str) -> None:
    """Run the read API (/v1, /docs, /metrics) and the dashboard (/ui/)."""
    settings = Settings()
    address = (host or settings.api_host, port or settings.api_port)
    try:
        app = create_app(settings)
    except GrowthConfigError as err:
        raise click.ClickException(str(err)) from None
    serve(app, name="API", address=address, log_level=log_level)
