"""Per-customer sufficient statistics: O(1) in size, O(1) to update, compact to store.

A ``CustomerState`` holds only what the scores need (decayed counters, purchase statistics for
BG/NBD and Gamma-Gamma, the last purchase times, billing and voice-of-customer signals, profile)
plus
the bookkeeping that makes reprocessing harmless: the last applied source position and the ids of
recent events. It lives in the scorer's RocksDB table and its changelog, serialised with msgpack as
a
positional list (field names are not repeated in every record).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from typing import Any

import msgpack

# Bump when the positional layout changes; ``from_bytes`` refuses formats it does not know.
STATE_FORMAT = 2
# Recent purchase times kept: the repurchase ratio uses the mean of the last 3 intervals.
RECENT_PURCHASES = 4


def id_hash(text: str) -> int:
    """A 64-bit digest of an id: collisions among a customer's few hundred ids are negligible."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def name_hash(text: str) -> int:
    """A 32-bit digest for feature and user names (breadth counting tolerates rare collisions)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "little")


@dataclass(slots=True)
class CustomerState:
    customer_id: str
    # Source position of the last applied event: [partition, offset, index within the record].
    position: list[int] | None = None
    events: int = 0
    usage_events: int = 0
    duplicates: int = 0
    late_events: int = 0
    first_ts: float = 0.0
    last_ts: float = 0.0
    # De-duplication: id digest -> event time, for events inside the lateness window.
    seen_ids: dict[int, float] = field(default_factory=dict)
    # Events at or before this time can no longer be checked for duplicates: treated as late.
    dedup_floor: float = 0.0
    # Usage: decayed sums (value, as-of time) with the short and the long half-life.
    usage_short: float = 0.0
    usage_short_t: float = 0.0
    usage_long: float = 0.0
    usage_long_t: float = 0.0
    first_usage_ts: float = 0.0
    last_usage_ts: float = 0.0
    features: dict[int, float] = field(default_factory=dict)
    users: dict[int, float] = field(default_factory=dict)
    # Purchases (non-contractual): BG/NBD and Gamma-Gamma statistics.
    purchases: int = 0
    first_purchase_ts: float = 0.0
    first_purchase_amount: float = 0.0
    last_purchase_ts: float = 0.0
    spend_total: float = 0.0
    recent_purchases: list[float] = field(default_factory=list)
    # Transactions for RFM: purchases and subscription payments.
    txn_count: int = 0
    txn_last_ts: float = 0.0
    txn_spend: float = 0.0
    # Subscription (contractual).
    sub_status: str = "none"
    sub_status_ts: float = 0.0
    sub_started_ts: float = 0.0
    sub_positive_ts: float = 0.0
    mrr: float = 0.0
    mrr_ts: float = 0.0
    renewals: int = 0
    payment_failures: float = 0.0
    payment_failures_t: float = 0.0
    last_payment_failure_ts: float = 0.0
    downgrades: float = 0.0
    downgrades_t: float = 0.0
    last_downgrade_ts: float = 0.0
    cancel_requested_ts: float = 0.0
    cancelled_ts: float = 0.0
    currency: str = ""
    currency_ts: float = 0.0
    # Support and feedback.
    tickets_opened: int = 0
    tickets_closed: int = 0
    tickets: float = 0.0
    tickets_t: float = 0.0
    escalations: float = 0.0
    escalations_t: float = 0.0
    last_ticket_ts: float = 0.0
    nps: float = -1.0
    nps_ts: float = 0.0
    csat: float = -1.0
    csat_ts: float = 0.0
    # Profile: key -> value, and key -> event time of the value (latest wins, in event time).
    profile: dict[str, Any] = field(default_factory=dict)
    profile_ts: dict[str, float] = field(default_factory=dict)
    # Lifecycle stage with hysteresis, advanced at each event in the customer's own event time.
    stage: str = ""
    stage_since: float = 0.0
    # Alert rule memory (rule -> [active, episode, last_raised_ts]) and the next timer, written by
    # the scorer's alerting layer; kept here so it moves with the customer's partition.
    alerts: dict[str, list[float]] = field(default_factory=dict)
    next_check_ts: float = 0.0

    @property
    def tickets_open(self) -> int:
        return max(0, self.tickets_opened - self.tickets_closed)

    def to_bytes(self) -> bytes:
        values = [getattr(self, name) for name in _FIELD_NAMES]
        packed: bytes = msgpack.packb([STATE_FORMAT, *values], use_bin_type=True)
        return packed

    @classmethod
    def from_bytes(cls, data: bytes) -> CustomerState:
        unpacked = msgpack.unpackb(data, raw=False, strict_map_key=False)
        if not unpacked or unpacked[0] != STATE_FORMAT:
            raise ValueError(f"unknown customer state format {unpacked[0] if unpacked else None!r}")
        return cls(*unpacked[1:])


_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(CustomerState))
