"""Stripe webhook events -> subscription events of the contract (pure; verification is in
stripe_webhook.py).

| Stripe event | contract event |
|---|---|
| customer.subscription.created (active) | subscription started, amount = MRR |
| customer.subscription.created (trialing) | subscription started, properties.trial = true |
| customer.subscription.updated, status incomplete -> active | subscription started |
| customer.subscription.updated, cancel_at_period_end / cancel_at set | cancellation_requested |
| customer.subscription.updated, items/price/quantity changed | upgraded or downgraded (by MRR) |
| customer.subscription.deleted | cancelled |
| invoice.paid, billing_reason subscription_cycle | renewed, amount = MRR of the invoice |
| invoice.payment_failed (a subscription's invoice) | payment_failed |
| anything else (invoice.payment_succeeded, the first invoice, ...) | ignored (answered 200) |

- event_id = Stripe's event id (``evt_...``): Stripe retries a delivery with the same id, so the
  scorer counts it once. invoice.paid and invoice.payment_succeeded describe one payment: only
  invoice.paid is used, so subscribing to both does not count a renewal twice.
- customer_id = the subscription's metadata[``VITALS_STRIPE_CUSTOMER_ID_KEY``] when set, else
  Stripe's customer id (``cus_...``).
- timestamp = the Stripe event's ``created``.
- amount = MRR: the recurring price × quantity of every item, in major units (cents / 100; none
  for zero-decimal currencies), normalised to a month (a 1,200/year plan is 100);
  properties.interval / interval_count = the price's billing period. Invoices of API versions
  whose lines carry no price get the period from the line's own period.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from vitals.core.events import InvalidEvent

from .mapped import Ignored

# Currencies Stripe counts in whole units (docs.stripe.com/currencies#zero-decimal), and those it
# counts in thousandths; every other currency is in hundredths.
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])
# Billing periods per month: a month is a twelfth of the mean Gregorian year (365.2425 days).
DAYS_PER_MONTH = 365.2425 / 12
PER_MONTH = {"day": DAYS_PER_MONTH, "week": DAYS_PER_MONTH / 7, "month": 1.0, "year": 1 / 12}
SECONDS_PER_DAY = 86_400.0
INVOICE_RENEWAL_REASON = "subscription_cycle"

Period = tuple[str, int]  # (interval, interval_count)


def to_contract(event: Mapping[str, Any], customer_key: str) -> dict[str, Any] | Ignored:
    """The contract event of one verified Stripe event, or ``Ignored``; ``InvalidEvent`` when a
    used event type lacks what the mapping needs."""
    event_id = event.get("id") if isinstance(event.get("id"), str) else None
    kind = event.get("type")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict) or not isinstance(kind, str):
        raise InvalidEvent("properties: not a Stripe event (no type or data.object)", event_id)
    previous = data.get("previous_attributes") if isinstance(data, dict) else None
    if kind.startswith("customer.subscription."):
        name = _subscription_change(kind, obj, previous if isinstance(previous, dict) else {})
        if isinstance(name, Ignored):
            return Ignored(name.reason, event_id)
        return _subscription_event(event, obj, name, customer_key)
    if kind == "invoice.paid":
        if _invoice_subscription(obj) is None:
            return Ignored("invoice.paid of no subscription: not scored", event_id)
        if obj.get("billing_reason") != INVOICE_RENEWAL_REASON:
            return Ignored(
                f"invoice.paid for {obj.get('billing_reason')}: the start or change comes from "
                "customer.subscription.* events",
                event_id,
            )
        return _invoice_event(event, obj, "renewed", customer_key)
    if kind == "invoice.payment_failed":
        if _invoice_subscription(obj) is None:
            return Ignored("invoice.payment_failed of no subscription: not scored", event_id)
        return _invoice_event(event, obj, "payment_failed", customer_key)
    return Ignored(f"Stripe {kind} events are not used", event_id)


def _subscription_change(
    kind: str, sub: Mapping[str, Any], previous: Mapping[str, Any]
) -> str | Ignored:
    status = sub.get("status")
    if kind == "customer.subscription.created":
        if status in ("incomplete", "incomplete_expired"):
            return Ignored("subscription incomplete: it starts when its first payment succeeds")
        return "started"
    if kind == "customer.subscription.deleted":
        return "cancelled"
    if kind != "customer.subscription.updated":
        return Ignored(f"Stripe {kind} events are not used")
    if previous.get("status") == "incomplete" and status in ("active", "trialing"):
        return "started"
    if "cancel_at_period_end" in previous or "cancel_at" in previous:
        if sub.get("cancel_at_period_end") or sub.get("cancel_at"):
            return "cancellation_requested"
        return Ignored("cancellation withdrawn: no contract event for it")
    if {"items", "plan", "quantity"} & previous.keys():
        before = _mrr_minor({**sub, **previous})
        after = _mrr_minor(sub)
        if before is not None and after is not None and after != before:
            return "upgraded" if after > before else "downgraded"
        return Ignored("subscription items changed without changing MRR")
    return Ignored("subscription update with no contract meaning")


def _subscription_event(
    event: Mapping[str, Any], sub: Mapping[str, Any], name: str, customer_key: str
) -> dict[str, Any]:
    currency = _currency(sub.get("currency"))
    mrr = _mrr_minor(sub)
    properties: dict[str, Any] = {"stripe_subscription_id": sub.get("id")}
    period = _sub_period(sub)
    if period is not None:
        properties["interval"], properties["interval_count"] = period
    if name == "started" and sub.get("status") == "trialing":
        properties["trial"] = True
    plan = _plan_name(sub)
    if plan is not None:
        properties["plan"] = plan
    return _event(
        event,
        customer=_customer(sub, sub.get("metadata"), customer_key),
        name=name,
        amount=None if mrr is None else _major(mrr, currency),
        currency=currency,
        properties=properties,
    )


def _invoice_event(
    event: Mapping[str, Any], invoice: Mapping[str, Any], name: str, customer_key: str
) -> dict[str, Any]:
    currency = _currency(invoice.get("currency"))
    properties: dict[str, Any] = {
        "stripe_subscription_id": _invoice_subscription(invoice),
        "stripe_invoice_id": invoice.get("id"),
    }
    amount = None
    if name == "renewed":
        mrr, period = _invoice_mrr_minor(invoice)
        if mrr is None:
            raise InvalidEvent(
                "amount: this invoice has no subscription line to read the MRR from",
                event.get("id"),
                "amount",
            )
        amount = _major(mrr, currency)
        if period is not None:
            properties["interval"], properties["interval_count"] = period
    else:
        properties["attempt_count"] = invoice.get("attempt_count")
    return _event(
        event,
        customer=_customer(invoice, _invoice_metadata(invoice), customer_key),
        name=name,
        amount=amount,
        currency=currency,
        properties={k: v for k, v in properties.items() if v is not None},
    )


def _event(
    event: Mapping[str, Any],
    *,
    customer: Any,
    name: str,
    amount: float | None,
    currency: str | None,
    properties: dict[str, Any],
) -> dict[str, Any]:
    created = event.get("created")
    timestamp = (
        datetime.fromtimestamp(created, UTC).isoformat().replace("+00:00", "Z")
        if isinstance(created, int | float) and not isinstance(created, bool)
        else None
    )
    mapped = {
        "event_id": event.get("id"),
        "customer_id": customer,
        "type": "subscription",
        "timestamp": timestamp,
        "name": name,
        "amount": amount,
        "currency": currency if amount is not None else None,
        "properties": properties,
    }
    return {key: value for key, value in mapped.items() if value is not None}


# --- money and periods -----------------------------------------------------------------------


def _mrr_minor(sub: Mapping[str, Any]) -> float | None:
    """Monthly recurring revenue of a subscription object, in minor units (None: no prices)."""
    items = sub.get("items")
    rows = items.get("data") if isinstance(items, dict) else None
    if isinstance(rows, list) and rows:
        total = 0.0
        for item in rows:
            price = item.get("price") or item.get("plan") or {}
            part = _monthly(_unit_amount(price), _price_period(price), item.get("quantity"))
            if part is None:
                return None
            total += part
        return total
    plan = sub.get("plan")  # legacy single-plan subscriptions
    if isinstance(plan, dict):
        return _monthly(_unit_amount(plan), _price_period(plan), sub.get("quantity"))
    return None


def _monthly(unit: float | None, period: Period | None, quantity: Any) -> float | None:
    if unit is None or period is None:
        return None
    count = quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else 1
    return unit * count * _per_month(period)


def _per_month(period: Period) -> float:
    interval, count = period
    return PER_MONTH[interval] / count


def _unit_amount(price: Mapping[str, Any]) -> float | None:
    for key in ("unit_amount", "amount"):  # price.unit_amount; legacy plan.amount
        value = price.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    decimal = price.get("unit_amount_decimal")
    try:
        return float(decimal) if isinstance(decimal, str) else None
    except ValueError:
        return None


def _price_period(price: Mapping[str, Any]) -> Period | None:
    recurring = price.get("recurring")
    source = recurring if isinstance(recurring, dict) else price  # a plan carries them itself
    interval, count = source.get("interval"), source.get("interval_count", 1)
    if interval in PER_MONTH and isinstance(count, int) and count >= 1:
        return interval, count
    return None


def _sub_period(sub: Mapping[str, Any]) -> Period | None:
    items = sub.get("items")
    for item in items.get("data") or [] if isinstance(items, dict) else []:
        period = _price_period(item.get("price") or item.get("plan") or {})
        if period is not None:
            return period
    plan = sub.get("plan")
    return _price_period(plan) if isinstance(plan, dict) else None


def _plan_name(sub: Mapping[str, Any]) -> str | None:
    items = sub.get("items")
    for item in items.get("data") or [] if isinstance(items, dict) else []:
        price = item.get("price") or item.get("plan") or {}
        for key in ("nickname", "lookup_key", "id"):
            if isinstance(price.get(key), str) and price[key]:
                return str(price[key])
    return None


def _invoice_mrr_minor(invoice: Mapping[str, Any]) -> tuple[float | None, Period | None]:
    """MRR (minor units) of an invoice's recurring, non-proration lines, and their period."""
    lines = invoice.get("lines")
    rows = lines.get("data") if isinstance(lines, dict) else None
    total, period_seen, found = 0.0, None, False
    for line in rows if isinstance(rows, list) else []:
        if not _is_subscription_line(line):
            continue
        amount = line.get("amount")
        if not isinstance(amount, int | float) or isinstance(amount, bool):
            continue
        price = line.get("price") or line.get("plan")
        period = _price_period(price) if isinstance(price, dict) else None
        period = period or _period_from_span(line.get("period"))
        if period is None:
            continue
        total += amount * _per_month(period)
        period_seen, found = period_seen or period, True
    return (total if found else None), period_seen


def _is_subscription_line(line: Mapping[str, Any]) -> bool:
    parent = line.get("parent")
    if isinstance(parent, dict):  # API 2025-03-31 and later
        details = parent.get("subscription_item_details")
        if not isinstance(details, dict):
            return False
        return not details.get("proration")
    return line.get("type") == "subscription" and not line.get("proration")


def _period_from_span(span: Any) -> Period | None:
    """The billing period of a line from its start/end (Unix seconds): 1 year, 3 months, ..."""
    if not isinstance(span, dict):
        return None
    start, end = span.get("start"), span.get("end")
    if not isinstance(start, int | float) or not isinstance(end, int | float) or end <= start:
        return None
    days = (end - start) / SECONDS_PER_DAY
    years = days / (DAYS_PER_MONTH * 12)
    if years >= 0.95 and abs(years - round(years)) < 0.03:
        return "year", round(years)
    months = days / DAYS_PER_MONTH
    if months >= 0.9 and abs(months - round(months)) < 0.1:
        return "month", round(months)
    weeks = days / 7
    if weeks >= 1 and abs(weeks - round(weeks)) < 0.05:
        return "week", round(weeks)
    return "day", max(1, round(days))


def _major(minor: float, currency: str | None) -> float:
    exponent = 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2
    return round(minor / 10.0**exponent, 6)


def _currency(value: Any) -> str | None:
    return value.upper() if isinstance(value, str) else None


# --- who ---------------------------------------------------------------------------------------


def _customer(obj: Mapping[str, Any], metadata: Any, customer_key: str) -> Any:
    if isinstance(metadata, dict) and metadata.get(customer_key):
        return metadata[customer_key]
    customer = obj.get("customer")
    return customer.get("id") if isinstance(customer, dict) else customer


def _invoice_metadata(invoice: Mapping[str, Any]) -> Any:
    parent = invoice.get("parent")
    if isinstance(parent, dict):  # API 2025-03-31 and later
        details = parent.get("subscription_details")
        return details.get("metadata") if isinstance(details, dict) else None
    details = invoice.get("subscription_details")
    return details.get("metadata") if isinstance(details, dict) else None


def _invoice_subscription(invoice: Mapping[str, Any]) -> str | None:
    parent = invoice.get("parent")
    if isinstance(parent, dict):
        details = parent.get("subscription_details")
        sub = details.get("subscription") if isinstance(details, dict) else None
    else:
        sub = invoice.get("subscription")
    if isinstance(sub, dict):
        sub = sub.get("id")
    return sub if isinstance(sub, str) else None
