"""Segment calls and CloudEvents, mapped onto the event contract before validation.

An item of ``{"batch": [...]}`` is recognised by its shape; anything else is taken as a contract
event as is. The mapped event (not the original) is what gets validated and written to Kafka.

Segment (``"type": "track" | "group"``, as its HTTP tracking API sends to ``/v1/batch``):
- track -> usage: event_id = messageId, name = event, user_id = userId, timestamp = timestamp
  (or originalTimestamp), properties = properties; customer_id = context.groupId, else
  properties.customer_id, else userId (B2C: the person is the customer).
- group -> profile: customer_id = groupId, properties = traits (name, plan, seats, owner, ...).
- identify/page/screen/alias: rejected with a reason (person-level calls are not scored).

CloudEvents 1.0, structured JSON (``"specversion"``): the ``type`` ends in a Vitals type
(``com.acme.usage``), ``data`` holds the remaining contract fields; event_id = source + id (hashed
when longer than the contract allows, so resends keep the same id), timestamp = time,
customer_id = subject unless data carries it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from vitals.core.events import EVENT_TYPES, MAX_ID_LENGTH, InvalidEvent

SEGMENT_TYPES = frozenset({"track", "group", "identify", "page", "screen", "alias"})


def to_contract(raw: Any) -> Any:
    """The contract event for ``raw``: mapped when it is a Segment call or a CloudEvent, else
    ``raw`` itself. Raises ``InvalidEvent`` when a recognised shape cannot be mapped."""
    if not isinstance(raw, dict):
        return raw
    if "specversion" in raw:
        return _from_cloudevent(raw)
    if raw.get("type") in SEGMENT_TYPES:
        return _from_segment(raw)
    return raw


def _from_segment(call: dict[str, Any]) -> dict[str, Any]:
    kind = call["type"]
    message_id = call.get("messageId")
    event_id = message_id if isinstance(message_id, str) else None
    timestamp = call.get("timestamp", call.get("originalTimestamp"))
    if kind == "track":
        props = call.get("properties")
        context = call.get("context")
        group = context.get("groupId") if isinstance(context, dict) else None
        from_props = props.get("customer_id") if isinstance(props, dict) else None
        event = {
            "event_id": message_id,
            "customer_id": group or from_props or call.get("userId"),
            "type": "usage",
            "timestamp": timestamp,
            "name": call.get("event"),
            "user_id": call.get("userId"),
            "properties": props,
        }
    elif kind == "group":
        event = {
            "event_id": message_id,
            "customer_id": call.get("groupId"),
            "type": "profile",
            "timestamp": timestamp,
            "user_id": call.get("userId"),
            "properties": call.get("traits"),
        }
    else:
        raise InvalidEvent(
            f"type: Segment {kind} calls are not scored; send track (usage) or group (account "
            "traits) calls",
            event_id,
            "type",
        )
    return {key: value for key, value in event.items() if value is not None}


def _from_cloudevent(ce: dict[str, Any]) -> dict[str, Any]:
    source, ce_id, ce_type = ce.get("source"), ce.get("id"), ce.get("type")
    if not (isinstance(source, str) and isinstance(ce_id, str) and source and ce_id):
        raise InvalidEvent("event_id: a CloudEvent needs string source and id", None, "event_id")
    event_id = f"{source}#{ce_id}"
    if len(event_id) > MAX_ID_LENGTH:
        digest = hashlib.sha256(f"{source}\x00{ce_id}".encode()).hexdigest()[:40]
        event_id = f"ce:{digest}"
    kind = ce_type.rsplit(".", 1)[-1] if isinstance(ce_type, str) else None
    if kind not in EVENT_TYPES:
        raise InvalidEvent(
            f"type: the CloudEvent type must end in one of {', '.join(EVENT_TYPES)} "
            "(e.g. com.example.usage)",
            event_id,
            "type",
        )
    data = ce.get("data")
    if data is not None and not isinstance(data, dict):
        raise InvalidEvent(
            "properties: CloudEvent data must be a JSON object", event_id, "properties"
        )
    event: dict[str, Any] = {"customer_id": ce.get("subject"), **(data or {})}
    event.update(event_id=event_id, type=kind, timestamp=ce.get("time"))
    return {key: value for key, value in event.items() if value is not None}
