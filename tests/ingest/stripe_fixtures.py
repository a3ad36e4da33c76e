"""Stripe webhook payloads shaped as Stripe sends them (API 2024-06-20, and the 2025-03-31+
invoice shape), and signatures computed as Stripe computes them (independently of the library
the service verifies with)."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import orjson

SECRET = "whsec_test_0123456789abcdef"
CREATED = 1_764_000_000  # 2025-11-24T16:00:00Z


def sign(payload: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    """``Stripe-Signature`` as Stripe builds it: HMAC-SHA256 over "<t>.<body>"."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def envelope(
    kind: str,
    obj: dict[str, Any],
    previous: dict[str, Any] | None = None,
    event_id: str = "evt_1QxYz",
) -> dict[str, Any]:
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": CREATED,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
    }


def price(
    unit_amount: int, interval: str = "month", count: int = 1, price_id: str = "price_pro_m"
) -> dict[str, Any]:
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "currency": "usd",
        "nickname": None,
        "lookup_key": price_id,
        "product": "prod_Pro",
        "recurring": {"interval": interval, "interval_count": count, "usage_type": "licensed"},
        "type": "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def subscription(
    items: list[tuple[dict[str, Any], int]],
    status: str = "active",
    metadata: dict[str, str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "id": "sub_1Abc",
        "object": "subscription",
        "customer": "cus_Acme",
        "currency": "usd",
        "status": status,
        "cancel_at_period_end": False,
        "cancel_at": None,
        "metadata": metadata if metadata is not None else {"vitals_customer_id": "acme"},
        "items": {
            "object": "list",
            "data": [
                {"id": f"si_{n}", "object": "subscription_item", "price": p, "quantity": q}
                for n, (p, q) in enumerate(items)
            ],
        },
        "trial_end": None,
        **fields,
    }


def invoice_2024(
    amount: int, interval: str = "month", reason: str = "subscription_cycle", **fields: Any
) -> dict[str, Any]:
    """An invoice as API 2024-06-20 sends it: subscription and prices on the invoice lines."""
    return {
        "id": "in_1Renew",
        "object": "invoice",
        "customer": "cus_Acme",
        "subscription": "sub_1Abc",
        "subscription_details": {"metadata": {"vitals_customer_id": "acme"}},
        "billing_reason": reason,
        "currency": "usd",
        "amount_paid": amount,
        "attempt_count": 1,
        "status": "paid",
        "lines": {
            "object": "list",
            "data": [
                {
                    "id": "il_1",
                    "object": "line_item",
                    "type": "subscription",
                    "amount": amount,
                    "currency": "usd",
                    "proration": False,
                    "quantity": 1,
                    "price": price(amount, interval),
                    "period": {"start": CREATED, "end": CREATED + 30 * 86400},
                }
            ],
        },
        **fields,
    }


def invoice_basil(amount: int, days: int, reason: str = "subscription_cycle") -> dict[str, Any]:
    """The same from API 2025-03-31 on: subscription under parent, no price object on lines."""
    return {
        "id": "in_1Basil",
        "object": "invoice",
        "customer": "cus_Acme",
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"metadata": {}, "subscription": "sub_1Abc"},
        },
        "billing_reason": reason,
        "currency": "eur",
        "amount_paid": amount,
        "lines": {
            "object": "list",
            "data": [
                {
                    "id": "il_b",
                    "object": "line_item",
                    "amount": amount,
                    "currency": "eur",
                    "parent": {
                        "type": "subscription_item_details",
                        "subscription_item_details": {
                            "proration": False,
                            "subscription": "sub_1Abc",
                            "subscription_item": "si_0",
                        },
                    },
                    "pricing": {"price_details": {"price": "price_x", "product": "prod_x"}},
                    "period": {"start": CREATED, "end": CREATED + days * 86400},
                }
            ],
        },
    }


def body(event: dict[str, Any]) -> bytes:
    # Stripe sends pretty-printed JSON; the signature covers the exact bytes.
    return orjson.dumps(event, option=orjson.OPT_INDENT_2)
