"""Fixtures for the scoring-core tests: an event factory that builds VALID events.

Every event goes through ``vitals.core.events.parse_event``, exactly as the scorer's input does, so
a test can never fold an event the contract would have rejected.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vitals.core.events import Event, parse_event

# Day 0 of every test timeline: a fixed instant, so failures reproduce.
T0 = datetime(2026, 1, 1, tzinfo=UTC)
T0_TS = T0.timestamp()
DAY = 86_400.0


def at(day: float) -> float:
    """Unix seconds of ``day`` days after T0 (what ``Event.ts`` of such an event equals)."""
    return T0_TS + day * DAY


def rfc3339(day: float) -> str:
    """RFC 3339 timestamp ``day`` days after T0, to the microsecond."""
    text = (T0 + timedelta(days=day)).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z")


class EventFactory:
    """Builds valid events on a timeline measured in days after T0; ids are unique unless given.

    ``factory("usage", 3.5, name="report.exported")`` is a usage event 3.5 days after T0.
    Shorthands cover the common types; any contract field can be passed as a keyword.
    """

    def __init__(self, customer_id: str = "acme") -> None:
        self.customer_id = customer_id
        self._ids: Iterator[int] = itertools.count(1)

    def raw(self, type_: str, day: float, **fields: Any) -> dict[str, Any]:
        event: dict[str, Any] = {
            "event_id": f"ev-{next(self._ids)}",
            "customer_id": self.customer_id,
            "type": type_,
            "timestamp": rfc3339(day),
        }
        event.update(fields)
        return event

    def __call__(self, type_: str, day: float, **fields: Any) -> Event:
        return parse_event(self.raw(type_, day, **fields))

    def usage(self, day: float, name: str = "report.exported", **fields: Any) -> Event:
        return self("usage", day, name=name, **fields)

    def purchase(self, day: float, amount: float = 50.0, **fields: Any) -> Event:
        return self("purchase", day, amount=amount, **fields)

    def subscription(self, day: float, name: str, **fields: Any) -> Event:
        return self("subscription", day, name=name, **fields)

    def support(self, day: float, name: str, **fields: Any) -> Event:
        return self("support", day, name=name, **fields)

    def feedback(self, day: float, name: str, score: float, **fields: Any) -> Event:
        return self("feedback", day, name=name, score=score, **fields)

    def profile(self, day: float, **properties: Any) -> Event:
        return self("profile", day, properties=properties)


@pytest.fixture
def make() -> EventFactory:
    """A fresh factory for customer "acme" (ids ev-1, ev-2, ...)."""
    return EventFactory()
