"""Running an HTTP service (ingest, the API) under uvicorn, the same way for each.

uvloop and httptools when installed (both measured faster, docs/measurements.md), uvicorn's own log
config off (platform.logs formats everything), no Server header, and ``gc.freeze()`` once the
server has started: everything allocated at start-up (app, routes, pools) leaves the collector's
generations, which took the API's p99 under load from 21–36 ms to 5–10 ms.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import logging

import uvicorn
from starlette.types import ASGIApp

from .logs import configure_logging

log = logging.getLogger(__name__)

# How often start-up is polled before freezing the GC (cheap; start-up takes ~100 ms).
STARTUP_POLL_S = 0.05


def available(module: str) -> bool:
    """Whether an optional accelerator (uvloop, httptools) is installed."""
    return importlib.util.find_spec(module) is not None


def event_loop() -> str:
    """uvicorn's ``loop`` setting: uvloop when installed (not on Windows), else asyncio."""
    return "uvloop" if available("uvloop") else "asyncio"


async def _serve_then_freeze(server: uvicorn.Server, name: str) -> None:
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(STARTUP_POLL_S)
    if server.started:
        gc.collect()
        gc.freeze()
        count = gc.get_freeze_count()
        log.info("%s started; %d start-up objects frozen out of the GC", name, count)
    await task
    if not server.started:
        raise SystemExit(f"{name} did not start (see the error above)")


def serve(
    app: ASGIApp,
    *,
    name: str,
    address: tuple[str, int],
    log_level: str,
    access_log: bool = False,
) -> None:
    """Serve ``app`` on ``address`` (host, port) until SIGINT/SIGTERM, logging JSON lines
    (platform.logs) at ``log_level``."""
    configure_logging(log_level)
    host, port = address
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop=event_loop(),
        http="httptools" if available("httptools") else "h11",
        log_level=log_level,
        log_config=None,
        access_log=access_log,
        server_header=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(_serve_then_freeze(server, name))
