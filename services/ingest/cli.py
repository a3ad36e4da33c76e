"""``vitals ingest``: run the HTTP ingest service under uvicorn."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from datetime import UTC, datetime

import click

# Attributes every LogRecord has; anything else was passed in `extra=` and is logged as a field.
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((k, v) for k, v in record.__dict__.items() if k not in _RECORD_ATTRS)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_json_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # aiokafka warns on every reconnect attempt; the sink logs each retry once already.
    if level.upper() != "DEBUG":
        logging.getLogger("aiokafka").setLevel(logging.ERROR)


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


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
    import uvicorn

    from vitals.platform.settings import Settings

    from .app import create_app

    settings = Settings()
    configure_json_logging(log_level)
    app = create_app(settings, freeze_gc_after_startup=True)
    config = uvicorn.Config(
        app,
        host=host or settings.ingest_host,
        port=port or settings.ingest_port,
        # uvloop and httptools: the fastest pair measured here (docs/measurements.md); optional.
        loop="uvloop" if _available("uvloop") else "asyncio",
        http="httptools" if _available("httptools") else "h11",
        lifespan="on",
        log_config=None,
        access_log=access_log,
        server_header=False,
    )
    uvicorn.Server(config).run()
