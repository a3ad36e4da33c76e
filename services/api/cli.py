"""``vitals api``: run the read API and dashboard with uvicorn.

uvloop and httptools when installed (both measured faster; docs/measurements.md), no access log (the
metrics count requests), and ``gc.freeze()`` once the server has started: everything allocated at
start-up (app, routes, pools) leaves the collector's generations, which took the p99 under load from
21–36 ms to 5–10 ms in the measurements.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import logging

import click
import uvicorn

from vitals.api.app import create_app
from vitals.platform.settings import Settings

log = logging.getLogger(__name__)

# How often start-up is polled before freezing the GC (cheap; start-up takes ~100 ms).
STARTUP_POLL_S = 0.05


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


async def _serve_then_freeze(server: uvicorn.Server) -> None:
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(STARTUP_POLL_S)
    if server.started:
        gc.freeze()
        log.info("API started; %d start-up objects frozen out of the GC", gc.get_freeze_count())
    await task
    if not server.started:
        raise SystemExit("the API did not start (see the error above); is Redis reachable?")


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
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    config = uvicorn.Config(
        create_app(settings),
        host=host or settings.api_host,
        port=port or settings.api_port,
        loop="uvloop" if _has("uvloop") else "asyncio",
        http="httptools" if _has("httptools") else "h11",
        log_level=log_level,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(_serve_then_freeze(server))
