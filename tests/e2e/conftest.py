"""End-to-end fixtures: event factories on top of the shared stack fixtures (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

EventFactory = Callable[..., dict[str, Any]]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture
def make_event() -> EventFactory:
    counter = iter(range(1_000_000))

    def make(customer_id: str, kind: str, ts: float, **fields: Any) -> dict[str, Any]:
        event = {
            "event_id": fields.pop("event_id", f"{customer_id}-{kind}-{next(counter)}"),
            "customer_id": customer_id,
            "type": kind,
            "timestamp": iso(ts),
        }
        if kind == "usage":
            event["name"] = fields.pop("name", "report.exported")
        event.update(fields)
        return event

    return make
