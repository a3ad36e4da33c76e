"""Which destinations an alert goes to: owner, segment, rule and minimum severity filters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from vitals.notifier.destinations import SEVERITY_RANK, Destination, RoutingFilter


def matches(routing: RoutingFilter, alert: Mapping[str, Any]) -> bool:
    """True when ``alert`` passes every filter; an empty list means "any value".

    An alert without an owner (or segment) never matches a filter that names owners (segments):
    a CSM who asked for "my customers" must not get unowned ones.
    """
    severity = SEVERITY_RANK.get(str(alert.get("severity", "info")), 0)
    if severity < SEVERITY_RANK[routing.min_severity]:
        return False
    if routing.owners and alert.get("owner") not in routing.owners:
        return False
    if routing.segments and alert.get("segment") not in routing.segments:
        return False
    return not (routing.rules and alert.get("rule") not in routing.rules)


def route(alert: Mapping[str, Any], destinations: Iterable[Destination]) -> list[Destination]:
    """The enabled destinations whose filters ``alert`` passes, in the given order."""
    return [d for d in destinations if d.enabled and matches(d.routing, alert)]
