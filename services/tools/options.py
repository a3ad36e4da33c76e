"""Options the offline commands (`vitals simulate`, `vitals backtest`) share, written once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])

# Both commands' default horizon: the 90 days the scores' temperature is defined over.
DEFAULT_HORIZON_DAYS = 90.0


def path_option(
    name: str, help: str, *, required: bool = False, exists: bool = False
) -> Callable[[F], F]:
    """A file option given as a ``Path`` (``--labels`` becomes the parameter ``labels_path``
    unless it is ``--out``)."""
    parameter = name.removeprefix("--").replace("-", "_")
    decls = [name] if parameter == "out" else [name, f"{parameter}_path"]
    return click.option(
        *decls,
        type=click.Path(exists=exists, dir_okay=False, path_type=Path),
        required=required,
        help=help,
    )


def horizon_days_option(help: str | None = None) -> Callable[[F], F]:
    return click.option(
        "--horizon-days",
        type=click.FloatRange(min=0),
        default=DEFAULT_HORIZON_DAYS,
        show_default=True,
        help=help,
    )
