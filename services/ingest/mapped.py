"""What mapping one incoming item can give besides a contract event: ``Ignored``.

An ignored item is a well-formed call that carries nothing to score (a Segment ``alias``, an
``identify`` in B2B mode, an anonymous page view, a Stripe event type Vitals does not use). It is
answered as a success, because the SDKs that send it cannot do anything different, and counted
apart from accepted and rejected items so it stays visible.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str
    event_id: str | None = None
