"""Segment/RudderStack track names -> contract event kinds: the built-in table and its overrides.

A name is matched case-, space-, underscore- and dash-insensitively ("Order Completed",
"order_completed" and "order-completed" are one name), as Segment's own spec names are written
both ways by different libraries. Names in no table are usage events named as sent.

Targets (``VITALS_INGEST_EVENT_NAMES`` uses the same words):
- ``usage``: a usage event (the default for unknown names)
- ``ignore``: accepted, not scored
- ``purchase`` or ``purchase:<name>``: a purchase; amount = properties.revenue, else total,
  else value, else the products' price × quantity
- ``refund``: a refund (purchase named "refund"); amount = properties.total, else revenue,
  else value, else the products' price × quantity
- ``trial``: a subscription ``started`` with ``properties.trial: true`` (not paying yet)
- ``subscription:<name>``, ``support:<name>``, ``feedback:<nps|csat>``: the contract's names;
  subscription amount = properties.mrr, else amount, else revenue; feedback score = properties.score
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from vitals.core.events import NAMES_BY_TYPE

# Segment's e-commerce spec (v2) and B2B SaaS spec names, and plain-English subscription names.
BUILT_IN: Mapping[str, str] = MappingProxyType(
    {
        "Order Completed": "purchase:order_completed",
        "Order Refunded": "refund",
        "Trial Started": "trial",
        "Subscription Started": "subscription:started",
        "Subscription Renewed": "subscription:renewed",
        "Subscription Upgraded": "subscription:upgraded",
        "Subscription Downgraded": "subscription:downgraded",
        "Subscription Cancelled": "subscription:cancelled",
        "Subscription Canceled": "subscription:cancelled",
        "Cancellation Requested": "subscription:cancellation_requested",
        "Subscription Cancellation Requested": "subscription:cancellation_requested",
        "Payment Failed": "subscription:payment_failed",
        "Subscription Payment Failed": "subscription:payment_failed",
        "Ticket Opened": "support:ticket_opened",
        "Ticket Escalated": "support:ticket_escalated",
        "Ticket Closed": "support:ticket_closed",
    }
)

_SEPARATORS = re.compile(r"[\s_\-]+")


@dataclass(frozen=True, slots=True)
class Target:
    """What a track name becomes: ``kind`` is usage, ignore, purchase, refund, trial,
    subscription, support or feedback; ``name`` the contract name where the kind needs one."""

    kind: str
    name: str | None = None


USAGE = Target("usage")


def normalise(name: str) -> str:
    return _SEPARATORS.sub(" ", name.strip()).lower()


def parse_target(text: str) -> Target:
    """``"subscription:cancelled"`` -> Target; ValueError saying what is allowed otherwise."""
    kind, _, name = text.strip().partition(":")
    if kind in ("usage", "ignore", "refund", "trial") and not name:
        return Target(kind)
    if kind == "purchase":
        return Target(kind, name or "order_completed")
    allowed = NAMES_BY_TYPE.get(kind)
    if allowed is not None and name in allowed:
        return Target(kind, name)
    raise ValueError(
        f"{text!r} is not a target: use usage, ignore, purchase[:name], refund, trial, "
        + ", ".join(f"{kind}:<{'|'.join(sorted(names))}>" for kind, names in NAMES_BY_TYPE.items())
    )


class NameTable:
    """The built-in table with the configured overrides on top."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        table: dict[str, Target] = {}
        for source in (BUILT_IN, overrides or {}):
            for name, target in source.items():
                try:
                    table[normalise(name)] = parse_target(target)
                except ValueError as err:
                    raise ValueError(f"VITALS_INGEST_EVENT_NAMES[{name!r}]: {err}") from None
        self._table = table

    def target(self, name: object) -> Target:
        if not isinstance(name, str):
            return USAGE
        return self._table.get(normalise(name), USAGE)
