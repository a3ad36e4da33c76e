"""Date-time options of the command line: ISO 8601, naive meaning UTC, errors click can show."""

from __future__ import annotations

from datetime import UTC, datetime

import click


def parse_moment(value: str) -> datetime:
    """``2026-10-01``, ``2026-10-01T00:00:00Z`` or with an offset; a naive value is UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date-time, e.g. 2026-10-01T00:00:00Z"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
