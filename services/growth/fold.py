"""Folding one event into a growth state: idempotent and order-free (see state.py).

Every update is a min, a max, or an insert into a keyed set that keeps the N earliest (lead
engagement) or latest (purchases) entries by (time, id digest): a duplicate changes nothing and
any arrival order gives the same stage entries, groups and outcomes. Lead engagement after the
lead's MQL entry is not kept: it cannot move the entry (the score crossing is the FIRST time).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, Literal

from vitals.core.events import Event

from .config import GrowthConfig
from .facts import refresh_facts_due
from .funnel import update_crossing
from .state import STAGES, GrowthState

# "changed": a fact may have changed (publish a snapshot); "touched": only the last-seen times
# moved, before any fact depends on them (store the state, nothing to publish); "unchanged".
FoldStatus = Literal["changed", "touched", "unchanged"]
# Subscription events that mean a paying customer, and carry a price when they have an amount.
PAID_SUBSCRIPTION = frozenset({"started", "renewed", "upgraded", "downgraded"})
MAX_CANCELLATIONS = 16
# A purchase event with this name is a refund (the event contract).
REFUND_NAME = "refund"
QUALIFIED = ("mql", "sql", "opportunity", "customer")


def digest(event_id: str) -> str:
    return hashlib.blake2b(event_id.encode(), digest_size=8).hexdigest()


def apply_growth_event(state: GrowthState, event: Event, config: GrowthConfig) -> FoldStatus:
    """Fold ``event`` into ``state`` (in place); bump ``version`` when anything changed."""
    ts = event.ts
    changed = touched = False
    if state.first_ts is None or ts < state.first_ts:
        state.first_ts, changed = ts, True
    if state.last_ts is None or ts > state.last_ts:
        state.last_ts, touched = ts, True
        changed |= ts >= _facts_due(state, config)
    kind, name, props = event.type, event.name, event.properties or {}
    if kind == "lead":
        tags = props.get("tags") or []
        weight = sum(config.tag_weights.get(tag, 0.0) for tag in tags)
        if name == "engaged":
            weight += config.engaged_weight
        if weight > 0:
            changed |= _engage(state, event, weight, config)
        if name == "stage_changed":
            changed |= _evidence(state, str(props["stage"]), ts)
        elif name == "converted":
            changed |= _evidence(state, "customer", ts)
    elif kind == "usage":
        changed |= _evidence(state, "registered", ts)
        changed |= _engage(state, event, config.usage_weight, config)
        if name == config.activation_event:
            changed |= _set_min(state, "activation_ts", ts)
        if state.last_usage_ts is None or ts > state.last_usage_ts:
            state.last_usage_ts, touched = ts, True
            changed |= ts >= _facts_due(state, config)
    elif kind == "purchase":
        if name == REFUND_NAME:
            return _finish(
                state, changed, touched, config
            )  # money back: not an order (groups count orders)
        changed |= _evidence(state, "customer", ts)
        changed |= _purchase(state, event, config)
    elif kind == "subscription":
        if name in PAID_SUBSCRIPTION and props.get("trial") is True:
            changed |= _evidence(state, "registered", ts)  # a trial has not paid yet
        elif name in PAID_SUBSCRIPTION:
            changed |= _evidence(state, "customer", ts)
            if event.amount:
                changed |= _purchase(state, event, config)
        elif name == "cancelled" and ts not in state.cancellations:
            state.cancellations = sorted([*state.cancellations, ts])[:MAX_CANCELLATIONS]
            changed = True
    elif kind == "referral":
        if name == "invite_sent":
            changed |= _set_min(state, "first_invite_ts", ts)
        else:
            changed |= _earliest(state, "referred_by", [ts, str(props["referrer_id"])])
    elif kind == "experiment":
        pick = [ts, str(props["arm"])]
        current = state.experiments.get(str(props["experiment"]))
        if current is None or _key(pick) < _key(current):
            state.experiments[str(props["experiment"])] = pick
            changed = True
    return _finish(state, changed, touched, config)


def _finish(state: GrowthState, changed: bool, touched: bool, config: GrowthConfig) -> FoldStatus:
    if changed:
        state.version += 1
        # The cache goes stale with every change, not only when a snapshot is built: whether the
        # next event changes a fact (and bumps the version) must not depend on where a batch
        # ended. Otherwise a worker restarted on an older table re-folds the same records into
        # other (lower) versions, and the projection keeps the dead worker's higher-numbered
        # snapshot of older facts while ignoring the replacement's (totals wrong for good).
        state.facts_due = STALE
        return "changed"
    return "touched" if touched else "unchanged"


# ``facts_due`` of a state changed since it was last computed (recomputed when next needed).
STALE = -math.inf


def _facts_due(state: GrowthState, config: GrowthConfig) -> float:
    if state.facts_due == STALE:
        refresh_facts_due(state, config)
    return state.facts_due


def _key(pair: list[Any]) -> tuple[float, str]:
    return float(pair[0]), str(pair[1])


def _earliest(state: GrowthState, attr: str, pick: list[Any]) -> bool:
    current = getattr(state, attr)
    if current is None or _key(pick) < _key(current):
        setattr(state, attr, pick)
        return True
    return False


def _set_min(state: GrowthState, attr: str, ts: float) -> bool:
    current = getattr(state, attr)
    if current is None or ts < current:
        setattr(state, attr, ts)
        return True
    return False


def _evidence(state: GrowthState, stage: str, ts: float) -> bool:
    # Evidence at or after that of the same or a later stage cannot move any entry (entries are
    # minima over later stages): not kept, so a customer's usage changes nothing here.
    for later in STAGES[STAGES.index(stage) :]:
        seen = state.evidence.get(later)
        if seen is not None and seen <= ts:
            return False
    current = state.evidence.get(stage)
    if current is None or ts < current:
        state.evidence[stage] = ts
        return True
    return False


def _engage(state: GrowthState, event: Event, weight: float, config: GrowthConfig) -> bool:
    key = digest(event.event_id)
    kept = state.engagement
    if key in kept:
        return False
    # Cheap test first: a later stage's evidence already bounds the MQL entry (customers'
    # usage ends here); the score crossing is only worth computing on a lead's busier record.
    later = [state.evidence[s] for s in QUALIFIED if s in state.evidence]
    if later and event.ts > min(later):
        return False
    if state.score_crossing is not None and event.ts > state.score_crossing:
        return False
    kept[key] = [event.ts, weight]
    stored = True
    if len(kept) > config.max_engagement_events:
        latest = max(kept, key=lambda k: (kept[k][0], k))
        del kept[latest]
        stored = latest != key
    if stored:
        update_crossing(state, config)
    return stored


def _purchase(state: GrowthState, event: Event, config: GrowthConfig) -> bool:
    key = digest(event.event_id)
    kept = state.purchases
    if key in kept:
        return False
    kept[key] = [event.ts, float(event.amount or 0.0)]
    if len(kept) > config.max_purchases:
        earliest = min(kept, key=lambda k: (kept[k][0], k))
        del kept[earliest]
        return earliest != key
    return True
