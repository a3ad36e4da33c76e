"""Generated growth event streams: a few entities, every kind of growth-relevant event."""

from __future__ import annotations

import time
from typing import Any

from hypothesis import strategies as st

from vitals.core.events import Event, parse_event

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
DAY = 86_400.0
ENTITIES = ("e0", "e1", "e2", "e3", "e4", "e5")


def stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@st.composite
def raw_event(draw: st.DrawFn, index: int) -> dict[str, Any]:
    entity = draw(st.sampled_from(ENTITIES))
    ts = START + draw(st.integers(0, 240)) * DAY + draw(st.sampled_from([0, 3600, 50_000]))
    base: dict[str, Any] = {
        "event_id": f"ev{index}",
        "customer_id": entity,
        "timestamp": stamp(ts),
    }
    kind = draw(
        st.sampled_from(
            [
                "lead",
                "lead",
                "lead",
                "usage",
                "usage",
                "purchase",
                "subscription",
                "referral",
                "experiment",
                "support",
            ]
        )
    )
    base["type"] = kind
    if kind == "lead":
        name = draw(
            st.sampled_from(["created", "engaged", "engaged", "stage_changed", "converted"])
        )
        base["name"] = name
        props: dict[str, Any] = {}
        if draw(st.booleans()):
            props["tags"] = draw(
                st.lists(
                    st.sampled_from(["pricing-page", "demo-request", "webinar", "x"]), max_size=2
                )
            )
        if name == "stage_changed":
            props["stage"] = draw(
                st.sampled_from(["registered", "mql", "sql", "opportunity", "customer"])
            )
        base["properties"] = props
    elif kind == "usage":
        base["name"] = draw(st.sampled_from(["report.exported", "login"]))
    elif kind == "purchase":
        base["amount"] = float(draw(st.sampled_from([20, 80, 150, 400])))
    elif kind == "subscription":
        base["name"] = draw(st.sampled_from(["started", "renewed", "cancelled", "payment_failed"]))
        if base["name"] in ("started", "renewed"):
            base["amount"] = float(draw(st.sampled_from([0, 50, 200])))
    elif kind == "referral":
        base["name"] = draw(st.sampled_from(["invite_sent", "invite_accepted"]))
        if base["name"] == "invite_accepted":
            base["properties"] = {"referrer_id": draw(st.sampled_from(ENTITIES))}
    elif kind == "experiment":
        base["name"] = draw(st.sampled_from(["assigned", "exposed"]))
        base["properties"] = {
            "experiment": draw(st.sampled_from(["x1", "x2"])),
            "arm": draw(st.sampled_from(["control", "treatment"])),
        }
    else:
        base["name"] = "ticket_opened"
    return base


@st.composite
def event_streams(draw: st.DrawFn, max_events: int = 40) -> list[Event]:
    """Unique events (by id), in generation order."""
    count = draw(st.integers(1, max_events))
    return [parse_event(draw(raw_event(i))) for i in range(count)]


@st.composite
def deliveries(draw: st.DrawFn, events: list[Event]) -> list[Event]:
    """The same events as delivered at least once: shuffled, some sent two or three times."""
    sent = list(events)
    for event in events:
        sent += [event] * draw(st.integers(0, 2)) if draw(st.integers(0, 3)) == 0 else []
    return draw(st.permutations(sent))
