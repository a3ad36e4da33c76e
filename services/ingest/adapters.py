"""One incoming item -> a contract event (or ``Ignored``), whatever shape it came in.

An item of ``{"batch": [...]}`` is recognised by its shape: a CloudEvent (``"specversion"``), a
Segment/RudderStack call (``"type"`` track, page, screen, identify, group, alias; segment.py) or
else a contract event taken as is. The mapped event (not the original) is what gets validated and
written to Kafka. Stripe webhooks have their own door (stripe_map.py).
"""

from __future__ import annotations

from typing import Any

from vitals.platform.settings import Settings

from . import cloudevents
from .segment import SEGMENT_TYPES, SegmentMapper
from .segment_names import NameTable


class Adapters:
    def __init__(self, segment: SegmentMapper) -> None:
        self.segment = segment

    @classmethod
    def from_settings(cls, settings: Settings) -> Adapters:
        names = NameTable(settings.ingest_event_names)
        return cls(SegmentMapper(settings.ingest_customer_model, names))

    def to_contract(self, raw: Any) -> Any:
        """The contract event for ``raw`` (``raw`` itself when it already is one), or
        ``Ignored``. Raises ``InvalidEvent`` when a recognised shape cannot be mapped."""
        if not isinstance(raw, dict):
            return raw
        kind = raw.get("type")
        if "specversion" in raw:
            return cloudevents.to_contract(raw)
        if kind in SEGMENT_TYPES:
            return self.segment.map(raw)
        return raw
