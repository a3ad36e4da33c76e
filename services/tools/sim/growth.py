"""Simulated leads, referrals and one running experiment, for the demo and the growth tests.

Leads arrive every day; each engages a few times (some with tags such as a demo request), so the
lead score qualifies some of them (MQL) fast and others only after weeks of nurturing. Sales
moves part of the MQLs to SQL and opportunity; some convert and then buy (price and frequency
spread them over groups B-E). Customers invite others; invited accounts arrive as leads that
carry ``referrer_id``. Every new lead is assigned by hashing to the ``nurture-drip`` experiment,
whose treatment raises the chance of converting within 30 days by a known amount
(``NURTURE_EFFECT``): the experiment report should recover it.
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from vitals.growth.config import DEFAULT_GROWTH
from vitals.growth.experiments import assign_arm
from vitals.growth.funnel import score_crossing

DAY = 86_400.0
EXPERIMENT = "nurture-drip"
ARMS = ("control", "treatment")
# The playbook's true effect: P(convert | qualified) rises by this much (the goal, converting
# within 30 days of assignment, rises by this times the share of leads that qualify fast).
BASE_CONVERSION = 0.25
NURTURE_EFFECT = 0.25
CONFIG = DEFAULT_GROWTH
# Lead volume grows about this much per 30 days: a positive lead velocity rate to show.
MONTHLY_GROWTH = 0.12
# ...for this many days, then volume stays flat (the demo's live year must not explode).
GROWTH_DAYS = 180
TAGS = ("pricing-page", "webinar", "demo-request", "newsletter")
PRICES = (40.0, 60.0, 150.0, 400.0)
# Every simulated lead is one person: its usage events carry this user id.
LEAD_USER = "u1"


@dataclass(frozen=True)
class GrowthSim:
    events: list[dict[str, Any]]
    # entity -> arm, and who converted within 30 days of creation (the experiment's goal).
    arms: dict[str, str]
    converted: set[str]


def _stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def simulate_growth(
    start: float, days: int, seed: int, leads_per_day: float = 8.0, id_prefix: str = "g"
) -> GrowthSim:
    """Leads arriving over ``days`` from ``start`` (Unix s); events sorted by time, with a few
    resends (as at-least-once producers do)."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    arms: dict[str, str] = {}
    converted: set[str] = set()
    serial = 0

    def emit(cid: str, kind: str, ts: float, **fields: Any) -> None:
        nonlocal serial
        serial += 1
        out.append(
            {
                "event_id": f"{id_prefix}{seed}-{serial}",
                "customer_id": cid,
                "type": kind,
                "timestamp": _stamp(ts),
                **fields,
            }
        )

    def use(cid: str, ts: float, feature: str) -> None:
        """A usage event by the lead's one user."""
        emit(cid, "usage", ts, name=feature, user_id=LEAD_USER)

    customers: list[tuple[str, float]] = []
    lead_no = 0
    for day in range(days):
        rate = leads_per_day * (1 + MONTHLY_GROWTH) ** (min(day, GROWTH_DAYS) / 30)
        for _ in range(_poisson(rng, rate)):
            lead_no += 1
            cid = f"lead-{seed}-{lead_no:05d}"
            t0 = start + (day + rng.random()) * DAY
            referrer = None
            earlier = [c for c, won in customers if won < t0]
            if earlier and rng.random() < 0.15:
                referrer = rng.choice(earlier)
            emit(
                cid,
                "lead",
                t0,
                name="created",
                properties={"source": rng.choice(["ads", "seo", "events"])},
            )
            if referrer:
                emit(
                    cid,
                    "referral",
                    t0 + 60,
                    name="invite_accepted",
                    properties={"referrer_id": referrer},
                )
            arm = assign_arm(EXPERIMENT, cid, ARMS)
            arms[cid] = arm
            emit(
                cid,
                "experiment",
                t0 + 120,
                name="assigned",
                properties={"experiment": EXPERIMENT, "arm": arm},
            )
            # Engagement: hot leads engage often at once and qualify within days; warm ones
            # engage now and then for months and qualify late (if at all); cold ones barely.
            temper = rng.random()
            sessions, spread = (6, 6) if temper < 0.35 else ((9, 120) if temper < 0.75 else (2, 30))
            engagement = []
            for ts in sorted(t0 + rng.random() * spread * DAY for _ in range(sessions)):
                tags = [rng.choice(TAGS)] if rng.random() < 0.4 else []
                emit(cid, "lead", ts, name="engaged", properties={"tags": tags})
                weight = CONFIG.engaged_weight + sum(CONFIG.tag_weights.get(t, 0.0) for t in tags)
                engagement.append((ts, weight))
            if rng.random() < 0.5:
                use(cid, t0 + rng.random() * 3 * DAY, "dashboard.viewed")
            qualified_at = score_crossing(
                engagement, CONFIG.score_half_life_days, CONFIG.mql_threshold
            )
            if qualified_at is None:
                continue
            if rng.random() < 0.6:
                emit(
                    cid,
                    "lead",
                    qualified_at + rng.uniform(1, 6) * DAY,
                    name="stage_changed",
                    properties={"stage": "sql"},
                )
            p = BASE_CONVERSION + (NURTURE_EFFECT if arm == "treatment" else 0.0)
            if rng.random() < p:
                won = qualified_at + rng.uniform(3, 20) * DAY
                emit(
                    cid,
                    "lead",
                    won - 2 * DAY,
                    name="stage_changed",
                    properties={"stage": "opportunity"},
                )
                emit(cid, "lead", won, name="converted")
                if won <= t0 + 30 * DAY:
                    converted.add(cid)
                customers.append((cid, won))
                price = rng.choice(PRICES)
                orders = rng.choice((1, 2, 5, 8))
                for k in range(orders):
                    emit(
                        cid,
                        "purchase",
                        won + k * rng.uniform(10, 40) * DAY,
                        amount=round(price * rng.uniform(0.8, 1.2), 2),
                    )
                use(cid, won + rng.uniform(0, 5) * DAY, "report.exported")
                if rng.random() < 0.6:
                    use(cid, won + rng.uniform(31, 60) * DAY, "dashboard.viewed")
                if rng.random() < 0.3:
                    emit(cid, "referral", won + rng.uniform(5, 40) * DAY, name="invite_sent")
    end = start + days * DAY
    kept = [e for e in out if e["timestamp"] <= _stamp(end)]
    kept.sort(key=lambda e: e["timestamp"])
    # About 2 % resent a little later (at most 30 events on), as at-least-once producers do.
    late: dict[int, list[dict[str, Any]]] = {}
    for index in rng.sample(range(len(kept)), len(kept) // 50):
        late.setdefault(min(len(kept) - 1, index + rng.randint(1, 30)), []).append(kept[index])
    delivered: list[dict[str, Any]] = []
    for index, event in enumerate(kept):
        delivered.append(event)
        delivered += [dict(copy) for copy in late.get(index, [])]
    kept = delivered
    return GrowthSim(kept, arms, converted)


# The demo's lead history: six months, so the lead velocity rate has months to compare.
DEMO_HISTORY_DAYS = 180


def demo_feeds(
    now: float, future_days: int, seed: int, run_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(history up to ``now``, future after it) of the demo's leads, referrals and experiment."""
    sim = simulate_growth(
        now - DEMO_HISTORY_DAYS * DAY, DEMO_HISTORY_DAYS + future_days, seed, id_prefix=run_id
    )
    cut = _stamp(now)
    return (
        [e for e in sim.events if e["timestamp"] <= cut],
        [e for e in sim.events if e["timestamp"] > cut],
    )


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small daily means used here.
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def merge_by_time(*streams: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Interleave event streams by timestamp (each roughly time-ordered), for one feed."""
    return heapq.merge(*streams, key=lambda e: str(e["timestamp"]))
