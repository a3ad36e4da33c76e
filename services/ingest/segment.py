"""Segment and RudderStack calls (their HTTP tracking API, as their SDKs send to ``/v1/batch``)
mapped onto the event contract.

- event_id = messageId (the SDKs' dedup key: a retried batch carries the same ids).
- timestamp = timestamp, else originalTimestamp.
- Who the customer is depends on ``VITALS_INGEST_CUSTOMER_MODEL``:
  ``b2b`` (default): the account: context.groupId, else properties.customer_id. A call from a
  known user without either is rejected (it would score a person as an account); an anonymous
  call (no userId) is ignored.
  ``b2c``: the person: userId, else properties.customer_id; anonymous calls are ignored.
- track -> by its name (segment_names.py): usage by default; "Order Completed" -> purchase,
  "Order Refunded" -> refund, subscription names -> subscription events, ...
- page -> usage "Viewed <name> Page" ("Loaded a Page" unnamed); screen -> "Viewed <name> Screen".
- identify -> profile of the person (b2c) or ignored (b2b); group -> profile of the account (b2b)
  or ignored (b2c); alias -> ignored. Profiles keep only the profile traits (owner, segment,
  plan, seats, renewal_date, name): the rest of a trait set is often personal data scoring
  never reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, TypeGuard

from vitals.core.events import PROFILE_KEYS, InvalidEvent

from .mapped import Ignored
from .segment_names import NameTable, Target

SEGMENT_TYPES = frozenset({"track", "page", "screen", "identify", "group", "alias"})
CustomerModel = Literal["b2b", "b2c"]

# Properties read as the money of an order, in order of preference (Segment e-commerce spec v2:
# revenue excludes shipping and tax, total includes them; "value" is the generic one); without
# any of them, the products' price × quantity.
PURCHASE_AMOUNT_KEYS = ("revenue", "total", "value")
# A refund is what went back to the buyer: the spec's refund examples carry total.
REFUND_AMOUNT_KEYS = ("total", "revenue", "value")
SUBSCRIPTION_AMOUNT_KEYS = ("mrr", "amount", "revenue")


class SegmentMapper:
    """Maps one call; built once per app from the settings."""

    def __init__(self, model: CustomerModel, names: NameTable) -> None:
        self.model = model
        self.names = names

    def map(self, call: Mapping[str, Any]) -> dict[str, Any] | Ignored:
        kind = call["type"]
        message_id = call.get("messageId")
        event_id = message_id if isinstance(message_id, str) else None
        if kind == "alias":
            return Ignored("alias calls link identities; nothing to score", event_id)
        if kind == "identify":
            return self._identify(call, event_id)
        if kind == "group":
            return self._group(call, event_id)
        customer = self._customer(call, event_id)
        if isinstance(customer, Ignored):
            return customer
        base: dict[str, Any] = {
            "event_id": message_id,
            "customer_id": customer,
            "timestamp": call.get("timestamp", call.get("originalTimestamp")),
            "user_id": call.get("userId"),
        }
        props = call.get("properties")
        if kind == "track":
            return _without_none(self._track(base, call.get("event"), props, event_id))
        title = call.get("name")
        noun = "Page" if kind == "page" else "Screen"
        name = f"Viewed {title} {noun}" if isinstance(title, str) and title else f"Loaded a {noun}"
        return _without_none({**base, "type": "usage", "name": name, "properties": props})

    def _customer(self, call: Mapping[str, Any], event_id: str | None) -> str | Ignored:
        user = call.get("userId")
        props = call.get("properties")
        from_props = props.get("customer_id") if isinstance(props, dict) else None
        if self.model == "b2c":
            candidates = (user, from_props)
        else:
            context = call.get("context")
            group = context.get("groupId") if isinstance(context, dict) else None
            candidates = (group, from_props)
        for candidate in candidates:
            if candidate is not None and candidate != "":
                return candidate  # type: ignore[no-any-return]  # the contract checks the type
        if not user:
            return Ignored("anonymous call (no userId): no customer to score", event_id)
        raise InvalidEvent(
            "customer_id: in B2B mode a call names its account in context.groupId or "
            "properties.customer_id; set VITALS_INGEST_CUSTOMER_MODEL=b2c if each person is a "
            "customer",
            event_id,
            "customer_id",
        )

    def _track(
        self, base: dict[str, Any], event: Any, props: Any, event_id: str | None
    ) -> dict[str, Any] | Ignored:
        target = self.names.target(event)
        if target.kind == "ignore":
            return Ignored(f"track {event!r} is mapped to ignore", event_id)
        if target.kind == "usage":
            return {**base, "type": "usage", "name": event, "properties": props}
        props = dict(props) if isinstance(props, dict) else {}
        return _typed(base, target, props, event_id)

    def _identify(self, call: Mapping[str, Any], event_id: str | None) -> dict[str, Any] | Ignored:
        if self.model == "b2b":
            return Ignored(
                "identify describes a person; in B2B mode accounts come from group calls",
                event_id,
            )
        user = call.get("userId")
        if not user:
            return Ignored("anonymous identify (no userId): no customer to score", event_id)
        return _profile(call, user, event_id)

    def _group(self, call: Mapping[str, Any], event_id: str | None) -> dict[str, Any] | Ignored:
        if self.model == "b2c":
            return Ignored("group calls describe accounts; in B2C mode people are customers")
        return _profile(call, call.get("groupId"), event_id)


def _typed(
    base: dict[str, Any], target: Target, props: dict[str, Any], event_id: str | None
) -> dict[str, Any]:
    if "order_id" in props and props["order_id"] is not None:
        props["order_id"] = str(props["order_id"])  # the contract's order_id is a string
    event: dict[str, Any] = {**base, "properties": props or None}
    if target.kind in ("purchase", "refund"):
        keys = PURCHASE_AMOUNT_KEYS if target.kind == "purchase" else REFUND_AMOUNT_KEYS
        amount = _amount(props, keys, event_id)
        if amount is None:
            amount = _products_total(props.get("products"))
        if amount is None:
            raise InvalidEvent(
                f"amount: this order needs properties.{' or '.join(keys)} (a number), or "
                "products with price (and quantity)",
                event_id,
                "amount",
            )
        if target.kind == "refund":
            amount = abs(amount)  # refunds are often sent negative; the contract wants >= 0
        event.update(
            type="purchase",
            name="refund" if target.kind == "refund" else target.name,
            amount=amount,
            currency=_currency(props.get("currency")),
        )
    elif target.kind in ("subscription", "trial"):
        amount = _amount(props, SUBSCRIPTION_AMOUNT_KEYS, event_id)
        if target.kind == "trial":
            props["trial"] = True  # CONTRACT: started + trial = not paying yet
            amount = 0.0 if amount is None else amount
        event.update(
            type="subscription",
            name=target.name or "started",
            amount=amount,
            currency=_currency(props.get("currency")),
            properties=props,
        )
    elif target.kind == "feedback":
        event.update(type="feedback", name=target.name, score=props.get("score"))
    else:
        event.update(type=target.kind, name=target.name)
    return event


def _amount(props: Mapping[str, Any], keys: tuple[str, ...], event_id: str | None) -> float | None:
    """The first of ``keys`` present: a JSON number, or a numeric string (some libraries send
    "49.90"); anything else is an error naming the property."""
    for key in keys:
        value = props.get(key)
        if value is None:
            continue
        if isinstance(value, bool):
            break
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                break
            if math.isfinite(number):
                return number
        break
    else:
        return None
    raise InvalidEvent(f"amount: properties.{key} must be a number", event_id, "amount")


def _products_total(products: Any) -> float | None:
    """Σ price × quantity (default 1) of the spec's products list, when every product has a
    numeric price: the spec lets "Order Refunded" name only the refunded products."""
    if not isinstance(products, list) or not products:
        return None
    total = 0.0
    for product in products:
        if not isinstance(product, dict):
            return None
        price, quantity = product.get("price"), product.get("quantity", 1)
        if not (_is_number(price) and _is_number(quantity)):
            return None
        total += float(price) * float(quantity)
    return total


def _currency(value: Any) -> Any:
    """ISO 4217 upper-case; libraries often send "usd"."""
    return value.upper() if isinstance(value, str) else value


def _profile(
    call: Mapping[str, Any], customer: Any, event_id: str | None
) -> dict[str, Any] | Ignored:
    traits = call.get("traits")
    if not isinstance(traits, dict):
        context = call.get("context")  # RudderStack's identify puts traits in the context
        traits = context.get("traits") if isinstance(context, dict) else None
    traits = traits if isinstance(traits, dict) else {}
    profile = {key: traits[key] for key in PROFILE_KEYS if traits.get(key) is not None}
    if "name" not in profile:
        full = " ".join(str(traits[part]) for part in ("firstName", "lastName") if traits.get(part))
        if full:
            profile["name"] = full
    if not profile:
        return Ignored(
            f"{call['type']} carries none of the profile traits ({', '.join(PROFILE_KEYS)})",
            event_id,
        )
    return _without_none(
        {
            "event_id": call.get("messageId"),
            "customer_id": customer,
            "type": "profile",
            "timestamp": call.get("timestamp", call.get("originalTimestamp")),
            "user_id": call.get("userId"),
            "properties": profile,
        }
    )


def _without_none(event: dict[str, Any] | Ignored) -> dict[str, Any] | Ignored:
    if isinstance(event, Ignored):
        return event
    return {key: value for key, value in event.items() if value is not None}


def _is_number(value: object) -> TypeGuard[int | float]:
    """A JSON number: int or float, and not a bool (which Python counts as an int)."""
    return isinstance(value, int | float) and not isinstance(value, bool)
