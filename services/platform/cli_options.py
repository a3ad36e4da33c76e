"""Command-line options shared by several `vitals` commands, written once.

Imports click only, so a command's ``--help`` stays fast (each command imports its service lazily).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])

# uvicorn's level names (platform.logs takes the same).
HTTP_LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
# Faust's level names (the scorer and the growth worker run Faust workers).
FAUST_LOG_LEVELS = ("crit", "error", "warn", "info", "debug")


def http_service_options(service: str) -> Callable[[F], F]:
    """``--host``, ``--port`` and ``--log-level`` of an HTTP service (``ingest``, ``api``); host
    and port default to the settings ``VITALS_<SERVICE>_HOST`` and ``VITALS_<SERVICE>_PORT``."""
    env = f"VITALS_{service.upper()}"

    def decorate(command: F) -> F:
        command = click.option(
            "--log-level",
            type=click.Choice(HTTP_LOG_LEVELS),
            default="info",
            show_default=True,
        )(command)
        command = click.option(
            "--port", type=int, default=None, help=f"Port [default: {env}_PORT]."
        )(command)
        return click.option("--host", default=None, help=f"Bind address [default: {env}_HOST].")(
            command
        )

    return decorate


faust_loglevel_option = click.option(
    "--loglevel",
    type=click.Choice(FAUST_LOG_LEVELS),
    default="info",
    show_default=True,
    help="Faust's log level names.",
)
