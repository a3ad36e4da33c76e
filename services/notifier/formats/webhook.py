"""Generic JSON webhooks: the alert record itself, signed per the Standard Webhooks spec
(standardwebhooks.com).

Headers: ``webhook-id`` (the alert id: the same on every retry, so receivers deduplicate on it),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``
``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed with the base64-decoded bytes after
``whsec_``. Receivers should reject timestamps more than 5 minutes off (the spec's tolerance),
which is why each retry is signed afresh.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from vitals.notifier.destinations import decode_secret

CONTENT_TYPE = "application/json"


def render(alert: Mapping[str, Any]) -> dict[str, Any]:
    """The alert record, unchanged: machine receivers want the contract, not prose."""
    return dict(alert)


def encode(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON: the exact bytes that are signed and sent."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` over ``{msg_id}.{timestamp}.{body}``."""
    key = decode_secret(secret)
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
    }
