"""A small growth book (three leads over January to March, one experiment) projected into Redis
by the growth projection, as the growth worker would have left it: shared by the API tests and the
growth page's browser test."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from vitals.core.events import parse_event
from vitals.growth.config import DEFAULT_GROWTH
from vitals.growth.facts import arrival, facts
from vitals.growth.fold import apply_growth_event
from vitals.growth.projection import GrowthProjection, Snapshot
from vitals.growth.state import GrowthState

JAN, FEB, MAR = "2026-01-05T10:00:00Z", "2026-02-03T10:00:00Z", "2026-03-10T10:00:00Z"


def _event(n: int, cid: str, kind: str, ts: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": f"g{n}", "customer_id": cid, "type": kind, "timestamp": ts, **fields}


async def seed(redis: Redis) -> None:
    raw = [
        # lead-a: created in January, demo request (MQL at once), SQL in February, buys in March.
        _event(1, "lead-a", "lead", JAN, name="created", properties={"tags": ["demo-request"]}),
        _event(2, "lead-a", "lead", JAN, name="engaged"),
        _event(3, "lead-a", "lead", FEB, name="stage_changed", properties={"stage": "sql"}),
        _event(4, "lead-a", "purchase", MAR, amount=500.0),
        # lead-b: created in January, never qualifies.
        _event(5, "lead-b", "lead", JAN, name="created"),
        # lead-c: February, qualifies in February.
        _event(6, "lead-c", "lead", FEB, name="engaged", properties={"tags": ["demo-request"]}),
        _event(
            7,
            "lead-c",
            "referral",
            FEB,
            name="invite_accepted",
            properties={"referrer_id": "lead-a"},
        ),
        _event(
            8,
            "lead-c",
            "experiment",
            FEB,
            name="assigned",
            properties={"experiment": "nurture-drip", "arm": "treatment"},
        ),
    ]
    states: dict[str, GrowthState] = {}
    for item in raw:
        event = parse_event(item)
        state = states.setdefault(event.customer_id, GrowthState(event.customer_id))
        apply_growth_event(state, event, DEFAULT_GROWTH)
    await GrowthProjection(redis).apply(
        Snapshot(s.entity_id, s.version, facts(s, DEFAULT_GROWTH), arrival(s, DEFAULT_GROWTH))
        for s in states.values()
    )
