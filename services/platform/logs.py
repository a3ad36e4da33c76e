"""Logging for every Vitals process: one JSON object per line on stderr.

Each line has time, level, logger, message and whatever the call passed in ``extra=`` as fields,
so a log pipeline can filter on them without parsing prose. uvicorn's own loggers are routed here
too (no second format), and the Faust workers (scorer, growth) hand ``logging_config`` to Faust,
which applies it in place of its own coloured format (scorer/faust_app.py).
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else was passed in `extra=` and is logged as a field.
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}
# Libraries that log every reconnect attempt at WARNING; our own code logs each retry once already.
NOISY_LOGGERS = ("aiokafka",)
# Errors aiokafka logs at ERROR though it retries them by itself: a broker that has just started
# (`vitals demo`, a fresh stack) has no group coordinator for its first seconds. Logged as
# warnings, so that a start-up reads as one and an ERROR line means something failed.
RETRIED_KAFKA_ERRORS = (
    "GroupCoordinatorNotAvailableError",
    "CoordinatorLoadInProgressError",
    "NotCoordinatorForGroupError",
)
# uvicorn gives its loggers handlers of its own: emptied, so their records reach the root's.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
# Faust's level names (its CLI takes crit/error/warn/info/debug) that the logging module lacks.
_LEVEL_ALIASES = {"CRIT": "CRITICAL", "WARN": "WARNING"}


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


class RetriedKafkaErrors(logging.Filter):
    """Lowers aiokafka's ERROR records of errors it retries itself to WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno == logging.ERROR
            and record.name.startswith("aiokafka")
            and any(error in record.getMessage() for error in RETRIED_KAFKA_ERRORS)
        ):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def level_number(level: str) -> int:
    """``level`` (logging's names, or Faust's crit/warn) as logging's number."""
    name = level.upper()
    return logging.getLevelNamesMapping()[_LEVEL_ALIASES.get(name, name)]


def logging_config(level: str = "info") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of every Vitals process: JSON lines on stderr at
    ``level`` from the root logger, uvicorn's loggers through it, noisy libraries at ERROR
    unless ``level`` is debug."""
    number = level_number(level)
    loggers: dict[str, dict[str, Any]] = {
        name: {"handlers": [], "propagate": True} for name in UVICORN_LOGGERS
    }
    quiet = logging.ERROR if number > logging.DEBUG else logging.NOTSET
    loggers.update({name: {"level": quiet} for name in NOISY_LOGGERS})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "filters": {"retried_kafka_errors": {"()": RetriedKafkaErrors}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
                "filters": ["retried_kafka_errors"],
            }
        },
        "root": {"level": number, "handlers": ["stderr"]},
        "loggers": loggers,
    }


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr at ``level`` for the whole process (root logger and uvicorn's)."""
    logging.config.dictConfig(logging_config(level))
