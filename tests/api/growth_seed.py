"""A small growth book (three leads over January to March, one experiment) projected into Redis
by the growth projection, as the growth worker would have left it: shared by the API tests and the
growth page's browser test."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from vitals.core.events import parse_event
from vitals.growth.config import DEFAULT_GROWTH
from vitals.growth.fold import apply_growth_event
from vitals.growth.processor import snapshot_of
from vitals.growth.projection import GrowthProjection
from vitals.growth.state import GrowthState

JAN, FEB, MAR = "2026-01-05T10:00:00Z", "2026-02-03T10:00:00Z", "2026-03-10T10:00:00Z"


def event(n: int, cid: str, kind: str, ts: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": f"g{n}", "customer_id": cid, "type": kind, "timestamp": ts, **fields}


async def seed(redis: Redis, *extra: dict[str, Any]) -> None:
    """The events below, then ``extra``, folded into the projection."""
    raw = [
        # lead-a: created in January, demo request (MQL at once), SQL in February, buys in March.
        event(1, "lead-a", "lead", JAN, name="created", properties={"tags": ["demo-request"]}),
        event(2, "lead-a", "lead", JAN, name="engaged"),
        event(3, "lead-a", "lead", FEB, name="stage_changed", properties={"stage": "sql"}),
        event(4, "lead-a", "purchase", MAR, amount=500.0),
        # lead-b: created in January, never qualifies.
        event(5, "lead-b", "lead", JAN, name="created"),
        # lead-c: February, qualifies in February.
        event(6, "lead-c", "lead", FEB, name="engaged", properties={"tags": ["demo-request"]}),
        event(
            7,
            "lead-c",
            "referral",
            FEB,
            name="invite_accepted",
            properties={"referrer_id": "lead-a"},
        ),
        event(
            8,
            "lead-c",
            "experiment",
            FEB,
            name="assigned",
            properties={"experiment": "nurture-drip", "arm": "treatment"},
        ),
    ]
    states: dict[str, GrowthState] = {}
    for item in [*raw, *extra]:
        parsed = parse_event(item)
        state = states.setdefault(parsed.customer_id, GrowthState(parsed.customer_id))
        apply_growth_event(state, parsed, DEFAULT_GROWTH)
    await GrowthProjection(redis).apply(snapshot_of(s, DEFAULT_GROWTH) for s in states.values())
