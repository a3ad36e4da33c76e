"""Per-entity growth state (a lead or a customer): a join-semilattice, so folding is idempotent
and order-free by construction.

Every field is combined with min, max, or "keep the N earliest/latest of a keyed set". Applying
an event twice, or events in any order, gives the same state; no event-id memory or lateness
window is needed for correctness (ids are kept only inside the keyed sets). ``version`` counts
changes so the projection can ignore an older snapshot.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import msgpack

# Bump when the layout changes; from_bytes refuses what it does not know.
GROWTH_STATE_FORMAT = 1
# Funnel stages in order; "stranger" is the stage of every entity never seen.
STAGES: tuple[str, ...] = (
    "visitor",
    "registered",
    "mql",
    "sql",
    "opportunity",
    "customer",
)


@dataclass(slots=True)
class GrowthState:
    entity_id: str
    version: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    # Stage -> earliest explicit evidence of reaching it (stage_changed, conversion, purchase...).
    evidence: dict[str, float] = field(default_factory=dict)
    # Lead engagement: event-id digest (hex) -> [ts, weight], the earliest N.
    engagement: dict[str, list[float]] = field(default_factory=dict)
    # Purchases and paid subscription events: digest -> [ts, amount], the latest N.
    purchases: dict[str, list[float]] = field(default_factory=dict)
    activation_ts: float | None = None
    last_usage_ts: float | None = None
    first_invite_ts: float | None = None
    # Who brought this account: [ts, referrer_id] of the earliest acceptance.
    referred_by: list[Any] | None = None
    # Experiment -> [assignment ts, arm] (earliest assignment or exposure wins).
    experiments: dict[str, list[Any]] = field(default_factory=dict)
    # Subscription cancellations (event times, the earliest 16): churn outcomes.
    cancellations: list[float] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        return bytes(msgpack.packb([GROWTH_STATE_FORMAT, asdict(self)]))

    @classmethod
    def from_bytes(cls, data: bytes) -> GrowthState:
        fmt, body = msgpack.unpackb(data, strict_map_key=False)
        if fmt != GROWTH_STATE_FORMAT:
            raise ValueError(
                f"growth state format {fmt} is not {GROWTH_STATE_FORMAT}: rebuild the growth "
                "table from `events` (reset the scorer's growth consumer) after an upgrade"
            )
        return cls(**body)
