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
import operator
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import msgpack

# Bump when the positional layout changes; ``from_bytes`` reads this format and migrates the older
# ones it knows (MIGRATIONS); tests/core/golden holds one encoded state per format version.
STATE_FORMAT = 3
# Recent transaction times kept: the repurchase ratio uses the mean of the last 3 intervals.
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
    # De-duplication: id digest -> the time until which the id is remembered (its event time plus
    # its type's lateness: as long as the event itself could still be applied).
    seen_ids: dict[int, float] = field(default_factory=dict)
    # Events at or before this time can no longer be checked for duplicates: treated as late.
    dedup_floor: float = 0.0
    # When expired ids were last dropped (pruning is amortised, not per event).
    dedup_pruned_ts: float = 0.0
    # Usage: decayed sums (value, as-of time) with the short and the long half-life.
    usage_short: float = 0.0
    usage_short_t: float = 0.0
    usage_long: float = 0.0
    usage_long_t: float = 0.0
    first_usage_ts: float = 0.0
    last_usage_ts: float = 0.0
    # Distinct customer-local days with usage: with the first and last usage, the customer's own
    # rhythm (mean gap between active days).
    active_days: int = 0
    # Recent active days (day numbers), so an event arriving late does not count its day twice.
    recent_usage_days: list[int] = field(default_factory=list)
    features: dict[int, float] = field(default_factory=dict)
    # User digest -> last seen; only users whose digest has ``users_level`` trailing zero bits are
    # kept (a 1/2^level sample, raised when the table is full).
    users: dict[int, float] = field(default_factory=dict)
    users_level: int = 0
    # Purchases (non-contractual), counted in TRANSACTIONS: one per customer-local day, an order's
    # line items on the order's first day. BG/NBD, Gamma-Gamma and the repurchase ratio use these.
    purchases: int = 0
    purchase_events: int = 0
    first_purchase_ts: float = 0.0
    first_purchase_day: int = 0
    first_purchase_amount: float = 0.0
    last_purchase_ts: float = 0.0
    spend_total: float = 0.0
    recent_purchases: list[float] = field(default_factory=list)
    # Transactions still open to late line items: day number -> [first time, amount].
    open_days: dict[int, list[float]] = field(default_factory=dict)
    # Recent orders: order-id digest -> the day number its transaction is filed under.
    orders: dict[int, int] = field(default_factory=dict)
    refunds: int = 0
    refunded: float = 0.0
    # Amounts in a currency without a configured rate: counted, never summed raw.
    unconverted: int = 0
    # Subscription payments (started/renewed with an amount), for RFM beside the purchases.
    payments: int = 0
    payments_last_ts: float = 0.0
    payments_spend: float = 0.0
    # Subscription (contractual).
    sub_status: str = "none"
    sub_status_ts: float = 0.0
    # Earliest start (a started event, or its properties.started_at for tenure before the stream).
    sub_started_ts: float = 0.0
    sub_positive_ts: float = 0.0
    # The billing anchor: the latest started/renewed event, from which the next renewal is due.
    billing_anchor_ts: float = 0.0
    # Billing period in days from properties.interval (0 = unknown: plan config or the default).
    period_days: float = 0.0
    period_ts: float = 0.0
    # First paid subscription event (0 = never paid: a trial or a free plan).
    sub_paid_ts: float = 0.0
    sub_trial: bool = False
    mrr: float = 0.0
    mrr_ts: float = 0.0
    # Renewals: renewed events seen, renewals survived before the stream (started's
    # renewal_count, or inferred from started_at), the largest renewal_count a renewal declared.
    renewals: int = 0
    renewals_prior: int = 0
    renewals_declared: int = 0
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

    @property
    def renewals_survived(self) -> int:
        """Renewals survived, counting those from before the stream started."""
        return max(self.renewals_prior + self.renewals, self.renewals_declared)

    @property
    def paying(self) -> bool:
        """Has paid: a paid subscription in force, or any purchase."""
        return (self.sub_status == "active" and self.sub_paid_ts > 0) or self.purchases > 0

    @property
    def txn_count(self) -> int:
        """RFM frequency: purchase transactions and subscription payments."""
        return self.purchases + self.payments

    @property
    def txn_last_ts(self) -> float:
        return max(self.last_purchase_ts, self.payments_last_ts)

    @property
    def txn_spend(self) -> float:
        return max(0.0, self.spend_total) + self.payments_spend

    def to_bytes(self) -> bytes:
        packed: bytes = msgpack.packb([STATE_FORMAT, *_FIELD_VALUES(self)], use_bin_type=True)
        return packed

    @classmethod
    def from_bytes(cls, data: bytes) -> CustomerState:
        unpacked = msgpack.unpackb(data, raw=False, strict_map_key=False)
        version = unpacked[0] if unpacked else None
        if version == STATE_FORMAT:
            return cls(*unpacked[1:])
        migrate = MIGRATIONS.get(version) if isinstance(version, int) else None
        if migrate is None:
            raise ValueError(f"unknown customer state format {version!r}")
        return cls(**migrate(unpacked[1:]))


_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(CustomerState))
# Every field's value in layout order, in one C call (the positional format of ``to_bytes``).
_FIELD_VALUES = operator.attrgetter(*_FIELD_NAMES)

# Format 2 (until config 2026.11.2), positional. Kept to migrate stored states.
_V2_FIELDS = [
    "customer_id",
    "position",
    "events",
    "usage_events",
    "duplicates",
    "late_events",
    "first_ts",
    "last_ts",
    "seen_ids",
    "dedup_floor",
    "usage_short",
    "usage_short_t",
    "usage_long",
    "usage_long_t",
    "first_usage_ts",
    "last_usage_ts",
    "features",
    "users",
    "purchases",
    "first_purchase_ts",
    "first_purchase_amount",
    "last_purchase_ts",
    "spend_total",
    "recent_purchases",
    "txn_count",
    "txn_last_ts",
    "txn_spend",
    "sub_status",
    "sub_status_ts",
    "sub_started_ts",
    "sub_positive_ts",
    "mrr",
    "mrr_ts",
    "renewals",
    "payment_failures",
    "payment_failures_t",
    "last_payment_failure_ts",
    "downgrades",
    "downgrades_t",
    "last_downgrade_ts",
    "cancel_requested_ts",
    "cancelled_ts",
    "currency",
    "currency_ts",
    "tickets_opened",
    "tickets_closed",
    "tickets",
    "tickets_t",
    "escalations",
    "escalations_t",
    "last_ticket_ts",
    "nps",
    "nps_ts",
    "csat",
    "csat_ts",
    "profile",
    "profile_ts",
    "stage",
    "stage_since",
    "alerts",
    "next_check_ts",
]
# Format 2 remembered ids by event time for a fixed one-day window.
_V2_LATENESS_S = 86_400.0


def _from_v2(values: list[Any]) -> dict[str, Any]:
    """Format 2 -> 3. Purchases were counted per event: each becomes one transaction (line items
    already folded cannot be regrouped; new purchases are grouped from here on). Subscription
    payments were counted with the purchases in txn_*: their count is recovered as the difference.
    A v2 subscriber is taken to have paid when its MRR was positive."""
    old = dict(zip(_V2_FIELDS, values, strict=True))
    state = {k: v for k, v in old.items() if k in _FIELD_NAMES}
    state["seen_ids"] = {k: ts + _V2_LATENESS_S for k, ts in old["seen_ids"].items()}
    state["purchase_events"] = old["purchases"]
    state["payments"] = max(0, old["txn_count"] - old["purchases"])
    state["payments_spend"] = max(0.0, old["txn_spend"] - old["spend_total"])
    state["payments_last_ts"] = old["txn_last_ts"] if state["payments"] else 0.0
    if old["sub_status"] != "none":
        state["billing_anchor_ts"] = old["sub_positive_ts"]
        if old["mrr"] > 0:
            state["sub_paid_ts"] = old["sub_started_ts"] or old["sub_positive_ts"]
    if old["purchases"]:
        state["first_purchase_day"] = int(old["first_purchase_ts"] // 86_400)
    return state


MIGRATIONS: dict[int, Callable[[list[Any]], dict[str, Any]]] = {2: _from_v2}
