"""Folding one event into a customer's state: idempotent, order-tolerant, O(1).

Guarantees (the scorer runs at-least-once, so every event may arrive more than once):
- a record at or before the last applied source position (partition, offset, index) is skipped:
  reprocessing after a crash or a changelog restore changes nothing;
- an event id seen inside its lateness window is a duplicate: counted, not applied;
- an event older than the customer's latest event by more than its type's allowed lateness is
  late: counted and reported, not applied, so published scores never move backwards silently;
- an event stamped beyond ``max_ts`` (the caller's wall clock plus the allowed skew) is from the
  future: reported, not applied, so one wrong clock can never make every later event late;
- everything else is folded in exactly, in any arrival order within the lateness window.

Purchases are folded into transactions: one per customer-local day (an order's line items on the
order's first day), amounts summed, refunds subtracted, every amount converted to the reporting
currency (``MoneyConfig``) or, without a rate, counted and left out of the money.
"""

from __future__ import annotations

import bisect
import math
from typing import Any, Literal

from .billing import period_days
from .config import ScoringConfig
from .decay import SECONDS_PER_DAY, add
from .events import PROFILE_KEYS, Event, local_day, parse_timestamp
from .lifecycle import advance_at
from .state import RECENT_PURCHASES, CustomerState, id_hash, name_hash

ApplyStatus = Literal["applied", "duplicate", "late", "future", "replayed"]
Position = tuple[int, int, int]

ACTIVE_NAMES = frozenset({"started", "renewed", "upgraded", "downgraded"})
POSITIVE_NAMES = frozenset({"started", "renewed", "upgraded"})
MRR_NAMES = frozenset({"started", "renewed", "upgraded", "downgraded"})
BILLING_ANCHOR_NAMES = frozenset({"started", "renewed"})
REFUND_NAME = "refund"
# Billing periods named by properties.interval (Stripe's price.recurring.interval), in days.
INTERVAL_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12.0, "year": 365.25}
# Expired event ids are dropped at most this often (amortised O(1) per event).
DEDUP_PRUNE_INTERVAL_S = 3600.0
# Active days remembered to keep a late usage event from counting its day twice (usage lateness
# is a day, so three days cover it with room for offsets).
RECENT_USAGE_DAYS = 3


def apply_event(
    state: CustomerState,
    event: Event,
    config: ScoringConfig,
    position: Position | None = None,
    max_ts: float | None = None,
) -> ApplyStatus:
    """Fold ``event`` into ``state`` (mutated in place) and say what happened to it.

    ``max_ts``: events stamped later than this are refused as "future" (None: no bound).
    """
    if position is not None and _already_applied(state.position, position):
        return "replayed"
    if position is not None:
        state.position = list(position)
    ts = event.ts
    if max_ts is not None and ts > max_ts:
        return "future"
    digest = id_hash(event.event_id)
    if digest in state.seen_ids:
        state.duplicates += 1
        return "duplicate"
    lateness = config.stream.lateness_s(event.type)
    if state.events and (ts < state.last_ts - lateness or ts <= state.dedup_floor):
        state.late_events += 1
        return "late"

    if state.events and ts > state.last_ts:
        # Step the stage at this event's time BEFORE folding it: an event that ends a long
        # silence must first see the silence (churned), then the activity (reactivated).
        advance_at(state, config, ts)
    state.events += 1
    state.first_ts = ts if state.events == 1 else min(state.first_ts, ts)
    state.last_ts = max(state.last_ts, ts)
    _remember_id(state, digest, ts + lateness, config)

    kind = event.type
    if kind == "usage":
        _apply_usage(state, event, config)
    elif kind == "purchase":
        _apply_purchase(state, event, config)
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


def _remember_id(
    state: CustomerState, digest: int, keep_until: float, config: ScoringConfig
) -> None:
    seen = state.seen_ids
    seen[digest] = keep_until
    cap = config.stream.dedup_max_ids
    if state.last_ts - state.dedup_pruned_ts < DEDUP_PRUNE_INTERVAL_S and len(seen) <= cap:
        return
    state.dedup_pruned_ts = state.last_ts
    for key, until in list(seen.items()):
        if until < state.last_ts:
            del seen[key]
    if len(seen) > cap:
        # Memory guard only (see StreamConfig.dedup_max_ids): forget the ids that expire first;
        # events as old as they were can no longer be checked, so they count as late.
        default_window = config.stream.allowed_lateness_days * SECONDS_PER_DAY
        for key in sorted(seen, key=seen.__getitem__)[: len(seen) - cap]:
            state.dedup_floor = max(state.dedup_floor, seen.pop(key) - default_window)


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
    _count_active_day(state, local_day(ts, event.timestamp))
    _remember_latest(state.features, name_hash(event.name or ""), ts, config.stream.max_features)
    if event.user_id:
        _remember_user(state, name_hash(event.user_id), ts, config)


def _count_active_day(state: CustomerState, day: int) -> None:
    days = state.recent_usage_days
    if day in days:
        return
    state.active_days += 1
    bisect.insort(days, day)
    newest = days[-1]
    while days[0] < newest - RECENT_USAGE_DAYS:
        del days[0]


def _remember_user(state: CustomerState, digest: int, ts: float, config: ScoringConfig) -> None:
    """Distinct sampling (Gibbons 2001): keep users whose digest ends in ``users_level`` zero bits;
    when the table outgrows its cap, drop users gone past the active window, then halve the
    sample. Active users are estimated as the sampled count × 2^level."""
    users = state.users
    if digest & ((1 << state.users_level) - 1):
        return
    if ts > users.get(digest, float("-inf")):
        users[digest] = ts
    cap = config.stream.max_users
    if len(users) <= cap:
        return
    window = config.health.active_user_days * SECONDS_PER_DAY
    horizon = state.last_ts - window - config.stream.lateness_s("usage")
    for key, seen in list(users.items()):
        if seen < horizon:
            del users[key]
    while len(users) > cap:
        state.users_level += 1
        mask = (1 << state.users_level) - 1
        for key in [k for k in users if k & mask]:
            del users[key]


def _money(state: CustomerState, event: Event, config: ScoringConfig) -> float:
    """The event's amount in the reporting currency (0 and counted when it cannot be converted)."""
    amount = float(event.amount or 0.0)
    converted = config.money.to_reporting(amount, event.currency)
    if converted is None:
        state.unconverted += 1
        return 0.0
    return converted


def _apply_purchase(state: CustomerState, event: Event, config: ScoringConfig) -> None:
    ts = event.ts
    amount = _money(state, event, config)
    _set_currency(state, event.currency, ts)
    order_id = _text(event.properties, "order_id")
    order = id_hash(order_id) if order_id else None
    if event.name == REFUND_NAME:
        _apply_refund(state, amount, order)
        return
    state.purchase_events += 1
    day = state.orders.get(order) if order is not None else None
    if day is None:
        day = local_day(ts, event.timestamp)
        if order is not None:
            state.orders[order] = day
    state.spend_total += amount
    txn = state.open_days.get(day)
    if txn is not None:
        # Another line item of a transaction already counted.
        txn[1] += amount
        if day == state.first_purchase_day:
            state.first_purchase_amount += amount
        if ts < txn[0]:
            _move_transaction_time(state, txn[0], ts)
            txn[0] = ts
    else:
        state.purchases += 1
        state.open_days[day] = [ts, amount]
        if state.purchases == 1 or day < state.first_purchase_day:
            state.first_purchase_ts, state.first_purchase_day = ts, day
            state.first_purchase_amount = amount
        recent = state.recent_purchases
        bisect.insort(recent, ts)
        if len(recent) > RECENT_PURCHASES:
            del recent[0]
        state.last_purchase_ts = max(state.last_purchase_ts, ts)
    _close_old_transactions(state, config)


def _apply_refund(state: CustomerState, amount: float, order: int | None) -> None:
    """A refund lowers the money (never below zero), not the count of transactions."""
    state.refunds += 1
    state.refunded += amount
    state.spend_total -= amount
    day = state.orders.get(order) if order is not None else None
    txn = state.open_days.get(day) if day is not None else None
    if txn is not None:
        txn[1] = max(0.0, txn[1] - amount)
        if day == state.first_purchase_day:
            state.first_purchase_amount = max(0.0, state.first_purchase_amount - amount)


def _move_transaction_time(state: CustomerState, old: float, new: float) -> None:
    recent = state.recent_purchases
    if old in recent:
        recent.remove(old)
        bisect.insort(recent, new)
    if state.first_purchase_ts == old:
        state.first_purchase_ts = new
    state.last_purchase_ts = recent[-1] if recent else new


def _close_old_transactions(state: CustomerState, config: ScoringConfig) -> None:
    """Forget transactions no late line item can reach any more (bounded state)."""
    oldest = int((state.last_ts - config.stream.lateness_s("purchase")) // SECONDS_PER_DAY) - 2
    if min(state.open_days) >= oldest:
        return
    for day in [d for d in state.open_days if d < oldest]:
        del state.open_days[day]
    for order in [o for o, d in state.orders.items() if d < oldest]:
        del state.orders[order]


def _apply_subscription(state: CustomerState, event: Event, config: ScoringConfig) -> None:
    ts, name = event.ts, event.name
    temperature = config.temperature
    props = event.properties or {}
    trial = props.get("trial") is True
    amount = _money(state, event, config) if event.amount is not None else None
    period = _period_days(props)
    if period is not None and ts >= state.period_ts:
        state.period_days, state.period_ts = period, ts
    if (name in ACTIVE_NAMES or name == "cancelled") and ts >= state.sub_status_ts:
        state.sub_status = "cancelled" if name == "cancelled" else "active"
        state.sub_status_ts = ts
    if name in POSITIVE_NAMES:
        state.sub_positive_ts = max(state.sub_positive_ts, ts)
    if name in BILLING_ANCHOR_NAMES:
        state.billing_anchor_ts = max(state.billing_anchor_ts, ts)
    if name in MRR_NAMES and amount is not None and ts >= state.mrr_ts:
        state.mrr, state.mrr_ts = amount, ts
    paid_before = state.sub_paid_ts
    if name in ACTIVE_NAMES:
        if trial:
            state.sub_trial = True
        elif amount is None or amount > 0:
            # A paid event; one without an amount is taken as paid (the contract never required
            # amounts on subscriptions), an explicit 0 is a free plan.
            state.sub_paid_ts = min(state.sub_paid_ts or ts, ts)
    if name == "started":
        started = _started_at(props, ts)
        state.sub_started_ts = min(state.sub_started_ts or started, started)
        prior = _count(props, "renewal_count")
        if prior is None and started < ts:
            own = period or period_days(state, config.temperature)
            prior = int((ts - started) // (own * SECONDS_PER_DAY))
        state.renewals_prior = max(state.renewals_prior, prior or 0)
    elif name == "renewed":
        # The first payment after a trial (Stripe bills it as a cycle) converts, it does not renew.
        converting = state.sub_trial and paid_before == 0.0
        if not converting:
            state.renewals += 1
        declared = _count(props, "renewal_count")
        if declared is not None:
            state.renewals_declared = max(state.renewals_declared, declared)
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
    if name in BILLING_ANCHOR_NAMES and amount and not trial:
        state.payments += 1
        state.payments_spend += amount
        state.payments_last_ts = max(state.payments_last_ts, ts)
    _set_currency(state, event.currency, ts)


def _period_days(props: dict[str, Any]) -> float | None:
    unit = INTERVAL_DAYS.get(props.get("interval"))  # type: ignore[arg-type]
    if unit is None:
        return None
    count = _count(props, "interval_count")
    return unit * (count if count else 1)


def _started_at(props: dict[str, Any], ts: float) -> float:
    text = props.get("started_at")
    if isinstance(text, str):
        try:
            return min(ts, parse_timestamp(text))
        except ValueError:
            pass
    return ts


def _count(props: dict[str, Any], key: str) -> int | None:
    value = props.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value < 0 or value != int(value):
        return None
    return int(value)


def _text(props: dict[str, Any] | None, key: str) -> str | None:
    value = (props or {}).get(key)
    return value if isinstance(value, str) and value else None


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
