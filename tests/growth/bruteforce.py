"""Brute force: every growth metric recomputed straight from the definitions, per entity, over the
de-duplicated events sorted by time, with no incremental state, caps or facts."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from typing import Any

from vitals.core.events import Event
from vitals.growth.config import GrowthConfig
from vitals.growth.groups import group_of

DAY = 86_400.0
ORDER = ("visitor", "registered", "mql", "sql", "opportunity", "customer")
PAID = {"started", "renewed", "upgraded", "downgraded"}


def month(ts: float) -> str:
    return time.strftime("%Y-%m", time.gmtime(ts))


def by_entity(events: list[Event]) -> dict[str, list[Event]]:
    unique = {e.event_id: e for e in events}
    out: dict[str, list[Event]] = defaultdict(list)
    for event in sorted(unique.values(), key=lambda e: (e.ts, e.event_id)):
        out[event.customer_id].append(event)
    return out


def implied_rank(event: Event) -> int:
    props = event.properties or {}
    if event.type == "usage":
        return ORDER.index("registered")
    if event.type == "lead" and event.name == "stage_changed":
        return ORDER.index(props["stage"])
    if event.type == "lead" and event.name == "converted":
        return ORDER.index("customer")
    if event.type == "purchase" or (event.type == "subscription" and event.name in PAID):
        return ORDER.index("customer")
    return 0


def weight(event: Event, config: GrowthConfig) -> float:
    if event.type == "usage":
        return config.usage_weight
    if event.type == "lead":
        tags = (event.properties or {}).get("tags") or []
        w = sum(config.tag_weights.get(t, 0.0) for t in tags)
        return w + (config.engaged_weight if event.name == "engaged" else 0.0)
    return 0.0


def entries(events: list[Event], config: GrowthConfig) -> dict[str, float]:
    engaged = [(e.ts, weight(e, config)) for e in events if weight(e, config) > 0]
    crossing = None
    for t, _ in sorted(engaged):
        score = sum(
            w * 2 ** (-(t - ti) / (config.score_half_life_days * DAY))
            for ti, w in engaged
            if ti <= t
        )
        if score >= config.mql_threshold - 1e-9:
            crossing = t
            break
    out = {}
    for rank, stage in enumerate(ORDER):
        times = [e.ts for e in events if implied_rank(e) >= rank]
        if rank <= ORDER.index("mql") and crossing is not None:
            times.append(crossing)
        if times:
            out[stage] = min(times)
    return out


def purchases(events: list[Event]) -> list[tuple[float, float]]:
    return [
        (e.ts, float(e.amount or 0))
        for e in events
        if e.type == "purchase" or (e.type == "subscription" and e.name in PAID and e.amount)
    ]


def group_changes(events: list[Event], config: GrowthConfig) -> list[tuple[float, str]]:
    bought = purchases(events)
    first, last = events[0].ts, events[-1].ts
    window = config.group_window_days * DAY
    moments = sorted(
        {first} | {t for t, _ in bought} | {t + window for t, _ in bought if t + window <= last}
    )
    changes: list[tuple[float, str]] = []
    for m in moments:
        inside = [(t, a) for t, a in bought if m - window < t <= m]
        g = group_of(len(inside), sum(a for _, a in inside), any(t <= m for t, _ in bought), config)
        if not changes or changes[-1][1] != g:
            changes.append((m, g))
    return changes


def metrics(events: list[Event], config: GrowthConfig) -> tuple[dict[str, Any], dict[str, float]]:
    """Month-keyed counts of every metric, as plain nested dicts."""
    out: dict[str, Any] = defaultdict(lambda: defaultdict(float))
    arrivals: dict[str, float] = {}
    per_entity = by_entity(events)
    stage_of: dict[str, dict[str, float]] = {}
    for entity, evs in per_entity.items():
        ent = entries(evs, config)
        stage_of[entity] = ent
        if "customer" in ent:
            arrivals[entity] = ent["customer"]
        for stage, ts in ent.items():
            out[f"enter:{stage}"][month(ts)] += 1
        out["now"][[s for s in ORDER if s in ent][-1]] += 1
        if "mql" in ent:
            out["conv:lead_mql"][month(ent["visitor"])] += 1
            for target in ("sql", "opportunity", "customer"):
                if target in ent:
                    out[f"conv:mql_{target}"][month(ent["mql"])] += 1
        for a, b in itertools.pairwise(ORDER):
            if a in ent and b in ent:
                out[f"tis:{a}"]["sum"] += int(ent[b] - ent[a])
                out[f"tis:{a}"]["n"] += 1
        if "customer" in ent:
            fast = ent["mql"] - ent["visitor"] <= config.fast_lead_days * DAY
            out["cust:fast" if fast else "cust:old"][month(ent["customer"])] += 1
        previous = "-"
        for ts, group in group_changes(evs, config):
            out["flow"][(month(ts), previous + group)] += 1
            previous = group
        out["group"][previous] += 1
        bought, last = purchases(evs), evs[-1].ts
        inside = [a for t, a in bought if last - config.group_window_days * DAY < t <= last]
        if inside:
            out["buying_now"][entity] = (len(inside), sum(inside))
        # AARRR
        reached = {"acquisition": evs[0].ts}
        act = [e.ts for e in evs if e.type == "usage" and e.name == config.activation_event]
        if act:
            reached["activation"] = min(act)
            usage = [e.ts for e in evs if e.type == "usage"]
            due = min(act) + config.retention_days * DAY
            if max(usage) >= due:
                reached["retention"] = due
        paid = [t for t, a in purchases(evs) if a > 0]
        if paid:
            reached["revenue"] = min(paid)
        invites = [e.ts for e in evs if e.type == "referral" and e.name == "invite_sent"]
        if invites:
            reached["referral"] = min(invites)
        if invites or "customer" in ent:  # a possible referrer: its cohort is kept
            out["referrer_cohort"][entity] = month(evs[0].ts)
        for stage, ts in reached.items():
            out[f"aarrr:{stage}"][month(ts)] += 1
        if "activation" in reached:
            out["activated_by_acq"][month(evs[0].ts)] += 1
        # experiments
        firsts: dict[str, tuple[float, str]] = {}
        for e in evs:
            if e.type == "experiment":
                pick = (e.ts, e.properties["arm"])
                name = e.properties["experiment"]
                firsts[name] = min(firsts.get(name, pick), pick)
        for name, (at, arm) in firsts.items():
            horizon = at + config.experiment(name).horizon_days * DAY
            cell = out[f"exp:{name}:{arm}"]
            cell["n"] += 1
            if "customer" in ent and at <= ent["customer"] <= horizon:
                cell["conv"] += 1
            if evs[-1].ts >= horizon:
                cell["ret"] += 1
            cancels = [e.ts for e in evs if e.type == "subscription" and e.name == "cancelled"]
            if any(at <= t <= horizon for t in cancels):
                cell["churn"] += 1
            cell["rev"] += round(sum(a for t, a in purchases(evs) if at <= t <= horizon) * 100)
    # referrals
    for entity, evs in per_entity.items():
        accepted = sorted(
            (e.ts, e.properties["referrer_id"])
            for e in evs
            if e.type == "referral" and e.name == "invite_accepted"
        )
        ent = stage_of[entity]
        if accepted and "customer" in ent:
            referrer = accepted[0][1]
            m = month(ent["customer"])
            out["refpairs"][(m, referrer, ent["customer"])] += 1
    return out, arrivals
