"""Folding one event into a customer's state: idempotent, order-tolerant, O(1).

Guarantees (the scorer runs at-least-once, so every event may arrive more than once):
- a record at or before the last applied source position (partition, offset, index) is skipped:
  reprocessing after a crash or a changelog restore changes nothing;
- an event id seen before (inside the lateness window) is a duplicate: counted, not applied;
- an event older than the customer's latest event by more than the allowed lateness is late:
  counted and reported, not applied, so published scores never move backwards silently;
- everything else is folded in exactly, in any arrival order within the lateness window.
"""

from __future__ import annotations

import bisect
from typing import Literal

from .config import ScoringConfig
from .decay import add
from .events import PROFILE_KEYS, Event
from .lifecycle import advance_at
from .state import RECENT_PURCHASES, CustomerState, id_hash, name_hash

ApplyStatus = Literal["applied", "duplicate", "late", "replayed"]
Position = tuple[int, int, int]

ACTIVE_NAMES = frozenset({"started", "renewed", "upgraded", "downgraded"})
POSITIVE_NAMES = frozenset({"started", "renewed", "upgraded"})
MRR_NAMES = frozenset({"started", "renewed", "upgraded", "downgraded"})


def apply_event(
    state: CustomerState,
    event: Event,
    config: ScoringConfig,
    position: Position | None = None,
) -> ApplyStatus:
    """Fold ``event`` into ``state`` (mutated in place) and say what happened to it."""
    if position is not None and _already_applied(state.position, position):
        return "replayed"
    if position is not None:
        state.position = list(position)
    ts = event.ts
    digest = id_hash(event.event_id)
    if digest in state.seen_ids:
        state.duplicates += 1
        return "duplicate"
    if state.events and (
        ts < state.last_ts - config.stream.allowed_lateness_days * 86_400.0
        or ts <= state.dedup_floor
    ):
        state.late_events += 1
        return "late"

    if state.events and ts > state.last_ts:
        # Step the stage at this event's time BEFORE folding it: an event that ends a long
        # silence must first see the silence (churned), then the activity (reactivated).
        advance_at(state, config, ts)
    state.events += 1
    state.first_ts = ts if state.events == 1 else min(state.first_ts, ts)
    state.last_ts = max(state.last_ts, ts)
    _remember_id(state, digest, ts, config)

    kind = event.type
    if kind == "usage":
        _apply_usage(state, event, config)
    elif kind == "purchase":
        _apply_purchase(state, event)
    elif kind == "subscription":
        _apply_subscription(state, event, config)
    elif kind == "support":
        _apply_support(state, event, config)
    elif kind == "feedback":
        _apply_feedback(state, event)
    elif kind == "profile":
        _apply_profile(state, event)
    advance_at(state, config, state.last_ts)
    return "applied"


def _already_applied(last: list[int] | None, position: Position) -> bool:
    if last is None or last[0] != position[0]:
        # A new partition (the topic was repartitioned) starts a new offset sequence.
        return False
    return (position[1], position[2]) <= (last[1], last[2])


def _remember_id(state: CustomerState, digest: int, ts: float, config: ScoringConfig) -> None:
    seen = state.seen_ids
    seen[digest] = ts
    horizon = state.last_ts - config.stream.allowed_lateness_days * 86_400.0
    if len(seen) > config.stream.dedup_max_ids or min(seen.values()) < horizon:
        for key, seen_ts in list(seen.items()):
            if seen_ts < horizon:
                del seen[key]
        while len(seen) > config.stream.dedup_max_ids:
            oldest = min(seen, key=seen.__getitem__)
            state.dedup_floor = max(state.dedup_floor, seen.pop(oldest))


def _remember_latest(table: dict[int, float], key: int, ts: float, capacity: int) -> None:
    if ts > table.get(key, float("-inf")):
        table[key] = ts
    if len(table) > capacity:
        del table[min(table, key=table.__getitem__)]


def _apply_usage(state: CustomerState, event: Event, config: ScoringConfig) -> None:
    health = config.health
    ts = event.ts
    weight = health.usage_weights.get(event.name or "", health.default_usage_weight)
    state.usage_events += 1
    state.usage_short, state.usage_short_t = add(
        state.usage_short, state.usage_short_t, weight, ts, health.short_half_life_days
    )
    state.usage_long, state.usage_long_t = add(
        state.usage_long, state.usage_long_t, weight, ts, health.long_half_life_days
    )
    state.first_usage_ts = ts if state.usage_events == 1 else min(state.first_usage_ts, ts)
    state.last_usage_ts = max(state.last_usage_ts, ts)
    _remember_latest(state.features, name_hash(event.name or ""), ts, config.stream.max_features)
    if event.user_id:
        _remember_latest(state.users, name_hash(event.user_id), ts, config.stream.max_users)


def _record_transaction(state: CustomerState, ts: float, amount: float) -> None:
    state.txn_count += 1
    state.txn_last_ts = max(state.txn_last_ts, ts)
    state.txn_spend += amount


def _apply_purchase(state: CustomerState, event: Event) -> None:
    ts, amount = event.ts, float(event.amount or 0.0)
    if state.purchases == 0 or ts < state.first_purchase_ts:
        state.first_purchase_ts, state.first_purchase_amount = ts, amount
    state.purchases += 1
    state.last_purchase_ts = max(state.last_purchase_ts, ts)
    state.spend_total += amount
    recent = state.recent_purchases
    bisect.insort(recent, ts)
    if len(recent) > RECENT_PURCHASES:
        del recent[0]
    _record_transaction(state, ts, amount)
    _set_currency(state, event.currency, ts)


def _apply_subscription(state: CustomerState, event: Event, config: ScoringConfig) -> None:
    ts, name = event.ts, event.name
    temperature = config.temperature
    if (name in ACTIVE_NAMES or name == "cancelled") and ts >= state.sub_status_ts:
        state.sub_status = "cancelled" if name == "cancelled" else "active"
        state.sub_status_ts = ts
    if name in POSITIVE_NAMES:
        state.sub_positive_ts = max(state.sub_positive_ts, ts)
    if name in MRR_NAMES and event.amount is not None and ts >= state.mrr_ts:
        state.mrr, state.mrr_ts = float(event.amount), ts
    if name == "started":
        state.sub_started_ts = ts if not state.sub_started_ts else min(state.sub_started_ts, ts)
    elif name == "renewed":
        state.renewals += 1
    elif name == "downgraded":
        state.downgrades, state.downgrades_t = add(
            state.downgrades, state.downgrades_t, 1.0, ts, temperature.downgrade_half_life_days
        )
        state.last_downgrade_ts = max(state.last_downgrade_ts, ts)
    elif name == "payment_failed":
        state.payment_failures, state.payment_failures_t = add(
            state.payment_failures,
            state.payment_failures_t,
            1.0,
            ts,
            temperature.payment_failure_half_life_days,
        )
        state.last_payment_failure_ts = max(state.last_payment_failure_ts, ts)
    elif name == "cancellation_requested":
        state.cancel_requested_ts = max(state.cancel_requested_ts, ts)
    elif name == "cancelled":
        state.cancelled_ts = max(state.cancelled_ts, ts)
    if name in ("started", "renewed") and event.amount:
        _record_transaction(state, ts, float(event.amount))
    _set_currency(state, event.currency, ts)


def _set_currency(state: CustomerState, currency: str | None, ts: float) -> None:
    if currency and ts >= state.currency_ts:
        state.currency, state.currency_ts = currency, ts


def _apply_support(state: CustomerState, event: Event, config: ScoringConfig) -> None:
    ts, half_life = event.ts, config.temperature.support_half_life_days
    if event.name == "ticket_opened":
        state.tickets_opened += 1
        state.tickets, state.tickets_t = add(state.tickets, state.tickets_t, 1.0, ts, half_life)
    elif event.name == "ticket_escalated":
        state.escalations, state.escalations_t = add(
            state.escalations, state.escalations_t, 1.0, ts, half_life
        )
    elif event.name == "ticket_closed":
        state.tickets_closed += 1
    state.last_ticket_ts = max(state.last_ticket_ts, ts)


def _apply_feedback(state: CustomerState, event: Event) -> None:
    ts, score = event.ts, float(event.score or 0.0)
    if event.name == "nps" and ts >= state.nps_ts:
        state.nps, state.nps_ts = score, ts
    elif event.name == "csat" and ts >= state.csat_ts:
        state.csat, state.csat_ts = score, ts


def _apply_profile(state: CustomerState, event: Event) -> None:
    for key, value in (event.properties or {}).items():
        if key in PROFILE_KEYS and event.ts >= state.profile_ts.get(key, float("-inf")):
            state.profile[key] = value
            state.profile_ts[key] = event.ts
