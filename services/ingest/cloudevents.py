"""CloudEvents 1.0 (JSON event format, HTTP protocol binding) mapped onto the event contract.

The three HTTP modes all arrive at ``/v1/batch``, told apart by their headers:
- binary: ``ce-specversion``, ``ce-id``, ``ce-source``, ``ce-type`` ... headers, the body is the
  event's data (a JSON object);
- structured: ``Content-Type: application/cloudevents+json``, the body is one event;
- batched: ``Content-Type: application/cloudevents-batch+json``, the body is a JSON array.

Mapping: the ``type`` ends in a contract type (``com.acme.usage``); ``data`` holds the remaining
contract fields; event_id = source + "#" + id (hashed when longer than the contract allows, so a
resend keeps its id: CloudEvents' own uniqueness rule is source + id); timestamp = time;
customer_id = subject unless data carries it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from vitals.core.events import EVENT_TYPES, MAX_ID_LENGTH, InvalidEvent

SPEC_VERSION = "1.0"
STRUCTURED_MEDIA_TYPE = "application/cloudevents+json"
BATCH_MEDIA_TYPE = "application/cloudevents-batch+json"
HEADER_PREFIX = "ce-"


def is_cloudevent(raw: Mapping[str, Any]) -> bool:
    return "specversion" in raw


def from_binary(headers: Mapping[str, str], data: Any) -> dict[str, Any]:
    """The structured form of a binary-mode event: ``ce-*`` headers as attributes (their values
    percent-decoded, as the HTTP binding says), the decoded body as ``data``."""
    event: dict[str, Any] = {
        name[len(HEADER_PREFIX) :]: unquote(value)
        for name, value in headers.items()
        if name.lower().startswith(HEADER_PREFIX)
    }
    event = {name.lower(): value for name, value in event.items()}
    event["data"] = data
    return event


def to_contract(ce: Mapping[str, Any]) -> dict[str, Any]:
    """The contract event of one structured CloudEvent; ``InvalidEvent`` if it cannot be one."""
    source, ce_id, ce_type = ce.get("source"), ce.get("id"), ce.get("type")
    if not (isinstance(source, str) and isinstance(ce_id, str) and source and ce_id):
        raise InvalidEvent("event_id: a CloudEvent needs string source and id", None, "event_id")
    event_id = f"{source}#{ce_id}"
    if len(event_id) > MAX_ID_LENGTH:
        digest = hashlib.sha256(f"{source}\x00{ce_id}".encode()).hexdigest()[:40]
        event_id = f"ce:{digest}"
    if ce.get("specversion") != SPEC_VERSION:
        raise InvalidEvent(
            f"specversion: CloudEvents {SPEC_VERSION} is supported, not {ce.get('specversion')!r}",
            event_id,
            None,
        )
    kind = ce_type.rsplit(".", 1)[-1] if isinstance(ce_type, str) else None
    if kind not in EVENT_TYPES:
        raise InvalidEvent(
            f"type: the CloudEvent type must end in one of {', '.join(EVENT_TYPES)} "
            "(e.g. com.example.usage)",
            event_id,
            "type",
        )
    if "data_base64" in ce:
        raise InvalidEvent(
            "properties: send the data as JSON (data), not data_base64", event_id, "properties"
        )
    data = ce.get("data")
    if data is not None and not isinstance(data, dict):
        raise InvalidEvent(
            "properties: CloudEvent data must be a JSON object", event_id, "properties"
        )
    event: dict[str, Any] = {"customer_id": ce.get("subject"), **(data or {})}
    event.update(event_id=event_id, type=kind, timestamp=ce.get("time"))
    return {key: value for key, value in event.items() if value is not None}
