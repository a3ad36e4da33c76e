"""The countable facts of one entity: what its growth state contributes to population metrics.

``facts(state, config)`` maps ``"metric|day|slot"`` to an integer: the entity adds that much to
``metric`` on ``day`` (days since 1970-01-01 UTC, or ``-`` for "now") in ``slot`` (its
acquisition cohort "YYYY-MM", or for referral facts the referrer's id). Facts are a pure function
of the state, so the projection keeps population totals exact under at-least-once delivery by
replacing an entity's previous facts with its new ones (subtract old, add new, atomically): a
duplicate snapshot changes nothing and a late event moves a fact from one day to another.

Metrics (value 1 unless said):
- ``enter:<stage>``: entered the stage that day; ``now:<stage>``: current stage (day ``-``).
- ``conv:lead_mql`` on the lead's creation day, if it ever reached MQL; ``conv:mql_<stage>`` on
  the MQL day, if it reached sql / opportunity / customer.
- ``tis:<stage>`` seconds spent in the stage, ``tisn:<stage>`` 1, on the day it was left.
- ``cust:fast`` / ``cust:old`` on the customer day: qualified within ``fast_lead_days`` of creation.
- ``flow:<from><to>`` on the day of a group change (``-A``: first seen); ``group:<g>`` now.
- ``gprice:<bucket>`` and ``gorders:<n>`` now, for a customer with orders in the group window:
  its unit price's 1-2-5 bucket and its order count (the population's quantiles, for fitting
  the group thresholds).
- ``aarrr:<stage>`` on the day reached; ``aarrr_now:<stage>``; ``act:conv`` on the acquisition
  day if activated.
- ``kref`` (slot: referrer) on a referred customer's arrival day; ``kref_ts`` its arrival (s).
  Referral facts are slotted by referrer, not cohort: the K-factor's cohort filter reads each
  referrer's own cohort (``referrer_cohort``), kept beside its arrival in the projection.
- ``exp:<experiment>:<arm>:<n|conv|ret|churn|rev|rev2>`` on the assignment day: assigned, and
  outcomes within the horizon (revenue in cents; rev2: squared revenue in whole units).
"""

from __future__ import annotations

import itertools
import time

from vitals.core.decay import SECONDS_PER_DAY

from .config import GrowthConfig
from .funnel import current_stage, stage_entries
from .groups import ORDERS_CAP, history, in_window, price_bucket
from .state import STAGES, GrowthState

AARRR: tuple[str, ...] = ("acquisition", "activation", "retention", "revenue", "referral")
MQL_TARGETS: tuple[str, ...] = ("sql", "opportunity", "customer")
NOW = "-"


def day_of(ts: float) -> int:
    return int(ts // SECONDS_PER_DAY)


def cohort_of(ts: float) -> str:
    return time.strftime("%Y-%m", time.gmtime(ts))


def aarrr_times(state: GrowthState, config: GrowthConfig) -> dict[str, float]:
    """AARRR stage -> when reached. Retention is known one retention period after activation,
    when activity is seen at or after it."""
    out: dict[str, float] = {}
    if state.first_ts is None:
        return out
    out["acquisition"] = state.first_ts
    if state.activation_ts is not None:
        out["activation"] = state.activation_ts
        due = state.activation_ts + config.retention_days * SECONDS_PER_DAY
        if state.last_usage_ts is not None and state.last_usage_ts >= due:
            out["retention"] = due
    paid = [ts for ts, amount in state.purchases.values() if amount > 0]
    if paid:
        out["revenue"] = min(paid)
    if state.first_invite_ts is not None:
        out["referral"] = state.first_invite_ts
    return out


def facts(state: GrowthState, config: GrowthConfig) -> dict[str, int]:
    if state.first_ts is None or state.last_ts is None:
        return {}
    cohort = cohort_of(state.first_ts)
    out: dict[str, int] = {}

    def add(metric: str, ts: float | None, value: int = 1, slot: str = cohort) -> None:
        field = f"{metric}|{NOW if ts is None else day_of(ts)}|{slot}"
        out[field] = out.get(field, 0) + value

    entries = stage_entries(state, config)
    for stage, ts in entries.items():
        add(f"enter:{stage}", ts)
    add(f"now:{current_stage(entries)}", None)
    if "mql" in entries:
        add("conv:lead_mql", entries["visitor"])
        for target in MQL_TARGETS:
            if target in entries:
                add(f"conv:mql_{target}", entries["mql"])
    for stage, following in itertools.pairwise(STAGES):
        if stage in entries and following in entries:
            add(f"tis:{stage}", entries[following], int(entries[following] - entries[stage]))
            add(f"tisn:{stage}", entries[following])
    if "customer" in entries:
        fast = entries["mql"] - entries["visitor"] <= config.fast_lead_days * SECONDS_PER_DAY
        add("cust:fast" if fast else "cust:old", entries["customer"])

    purchases = [(ts, amount) for ts, amount in state.purchases.values()]
    previous = "-"
    changes = history(purchases, state.first_ts, state.last_ts, config)
    for ts, group in changes:
        add(f"flow:{previous}{group}", ts)
        previous = group
    add(f"group:{previous}", None)
    orders, spend = in_window(purchases, state.last_ts, config)
    if orders:
        add(f"gprice:{price_bucket(spend / orders):g}", None)
        add(f"gorders:{min(orders, ORDERS_CAP)}", None)

    reached = aarrr_times(state, config)
    for stage, ts in reached.items():
        add(f"aarrr:{stage}", ts)
    add(f"aarrr_now:{[s for s in AARRR if s in reached][-1]}", None)
    if "activation" in reached:
        add("act:conv", state.first_ts)

    if state.referred_by is not None and "customer" in entries:
        referrer = str(state.referred_by[1])
        add("kref", entries["customer"], 1, referrer)
        add("kref_ts", entries["customer"], int(entries["customer"]), referrer)

    for name, (assigned_ts, arm) in sorted(state.experiments.items()):
        _experiment_facts(add, state, entries, name, float(assigned_ts), str(arm), config)
    state.facts_due = _facts_due(state, purchases, config)
    return out


def refresh_facts_due(state: GrowthState, config: GrowthConfig) -> None:
    """Recompute the state's ``facts_due`` cache (``facts()`` does it too, with the facts)."""
    purchases = [(ts, amount) for ts, amount in state.purchases.values()]
    state.facts_due = _facts_due(state, purchases, config)


def _facts_due(
    state: GrowthState, purchases: list[tuple[float, float]], config: GrowthConfig
) -> float:
    """The earliest time after the last-seen times at which time alone changes a fact."""
    last = state.last_ts or 0.0
    due = [ts + config.group_window_days * SECONDS_PER_DAY for ts, _ in purchases]
    due += [
        float(a) + config.experiment(name).horizon_days * SECONDS_PER_DAY
        for name, (a, _) in state.experiments.items()
    ]
    moments = [t for t in due if t > last]
    if state.activation_ts is not None:
        retained = state.activation_ts + config.retention_days * SECONDS_PER_DAY
        if state.last_usage_ts is None or retained > state.last_usage_ts:
            moments.append(retained)
    return min(moments, default=float("inf"))


def _experiment_facts(
    add: object,
    state: GrowthState,
    entries: dict[str, float],
    name: str,
    assigned: float,
    arm: str,
    config: GrowthConfig,
) -> None:
    assert callable(add)
    horizon = assigned + config.experiment(name).horizon_days * SECONDS_PER_DAY
    prefix = f"exp:{name}:{arm}"
    add(f"{prefix}:n", assigned)
    customer = entries.get("customer")
    if customer is not None and assigned <= customer <= horizon:
        add(f"{prefix}:conv", assigned)
    if state.last_ts is not None and state.last_ts >= horizon:
        add(f"{prefix}:ret", assigned)
    if any(assigned <= ts <= horizon for ts in state.cancellations):
        add(f"{prefix}:churn", assigned)
    revenue = sum(amount for ts, amount in state.purchases.values() if assigned <= ts <= horizon)
    if revenue > 0:
        add(f"{prefix}:rev", assigned, round(revenue * 100))
        add(f"{prefix}:rev2", assigned, round(revenue * revenue))


def arrival(state: GrowthState, config: GrowthConfig) -> float | None:
    """When the entity became a customer (the K-factor's cycle time reads referrers' arrivals)."""
    return stage_entries(state, config).get("customer")


def referrer_cohort(state: GrowthState, arrived: float | None) -> str | None:
    """The acquisition cohort of an entity that can be counted as a referrer (it sent an invite,
    or it became a customer: ``arrived``), for the K-factor's cohort filter; None otherwise (a
    cohort per entity would cost Redis a field for every lead)."""
    if state.first_ts is None or (arrived is None and state.first_invite_ts is None):
        return None
    return cohort_of(state.first_ts)
