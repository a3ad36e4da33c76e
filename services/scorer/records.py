"""Decoding Kafka records of the `events` topic: one event, or an envelope of many.

A record value is either one event object (the contract of docs/design.md §2) or an envelope
``{"events": [event, ...]}`` whose events all belong to customers that hash to the record's
partition (producers that batch, like ``vitals replay --envelope-size``, group them that way).
Every event must arrive on the partition its customer_id hashes to — the same murmur2 rule as
Kafka's default partitioner — because each customer's state lives on exactly one partition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from vitals.core.events import Event, InvalidEvent, parse_event
from vitals.platform.partitioning import partition_for

# An envelope larger than this is refused whole: it would stall its partition for too long.
MAX_ENVELOPE_EVENTS = 10_000
# A dead letter carries at most this much of the rejected payload. A record near the broker's
# 1 MiB limit plus the letter's own fields would exceed the producer's maximum request size, and
# a failed send crashes the scorer agent (every partition stops), so the payload is cut to a text
# prefix: enough to find the record, which stays in `events` at the letter's source offset.
MAX_DEAD_PAYLOAD_BYTES = 64 * 1024


@dataclass(slots=True)
class Rejected:
    """An event (or a whole record) that cannot be scored, and why."""

    index: int  # position inside the envelope; 0 for a single event; -1 for the whole record
    reason: str
    payload: Any  # the offending JSON value (or the raw bytes decoded as text)


@dataclass(slots=True)
class Decoded:
    events: list[tuple[int, Event]]
    rejected: list[Rejected]
    tick: bool = False  # a clock tick from the scorer itself: fire due timers, nothing to fold


# The scorer writes ``{"vitals_tick": <unix s>}`` to a partition of its ticks topic
# (platform.topics.ticks_topic) when a wall-clock timer there is due and no event is passing by:
# timers fire inside the stream, where table writes are allowed. (Scorers before issue 9 wrote
# ticks into `events`; such records still decode as ticks.)
TICK_FIELD = "vitals_tick"


def tick_record(now: float) -> bytes:
    return orjson.dumps({TICK_FIELD: now})


def decode_record(value: bytes | None, partition: int, partitions: int) -> Decoded:
    if value is None:
        return Decoded([], [Rejected(-1, "empty record (no value)", None)])
    try:
        body = orjson.loads(value)
    except orjson.JSONDecodeError as err:
        text = value[:2048].decode("utf-8", errors="replace")
        return Decoded([], [Rejected(-1, f"not JSON: {err}", text)])
    if isinstance(body, dict) and TICK_FIELD in body and len(body) == 1:
        return Decoded([], [], tick=True)
    if isinstance(body, dict) and "events" in body and "event_id" not in body:
        items = body["events"]
        if not isinstance(items, list):
            return Decoded([], [Rejected(-1, "envelope: 'events' must be a list", body)])
        if len(items) > MAX_ENVELOPE_EVENTS:
            reason = f"envelope of {len(items)} events exceeds {MAX_ENVELOPE_EVENTS}"
            return Decoded([], [Rejected(-1, reason, {"events": len(items)})])
    else:
        items = [body]
    events: list[tuple[int, Event]] = []
    rejected: list[Rejected] = []
    for index, item in enumerate(items):
        try:
            event = parse_event(item)
        except InvalidEvent as err:
            rejected.append(Rejected(index, str(err), item))
            continue
        expected = partition_for(event.customer_id, partitions)
        if expected != partition:
            reason = (
                f"customer_id {event.customer_id!r} belongs on partition {expected}, arrived on "
                f"{partition}: key records by customer_id"
            )
            rejected.append(Rejected(index, reason, item))
            continue
        events.append((index, event))
    return Decoded(events, rejected)


def dead_letter(
    rejected: Rejected, topic: str, partition: int, offset: int, detected_at: float
) -> bytes:
    """The `events.dead` record: the payload, the reason and where it came from. A payload over
    ``MAX_DEAD_PAYLOAD_BYTES`` (as JSON) is replaced by its first bytes as text, and
    ``payload_truncated`` says so."""
    payload = rejected.payload
    letter: dict[str, Any] = {}
    encoded = orjson.dumps(payload)
    if len(encoded) > MAX_DEAD_PAYLOAD_BYTES:
        payload = encoded[:MAX_DEAD_PAYLOAD_BYTES].decode("utf-8", errors="ignore")
        letter["payload_truncated"] = True
    return orjson.dumps(
        {
            "reason": rejected.reason,
            "source": {
                "topic": topic,
                "partition": partition,
                "offset": offset,
                "index": rejected.index,
            },
            "detected_at_ts": detected_at,
            "payload": payload,
            **letter,
        }
    )
