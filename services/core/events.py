"""The event contract (docs/design.md §2) as a validated model.

Apps send one JSON object per event. ``parse_event`` turns a decoded object into an ``Event`` or
raises ``InvalidEvent`` whose message names the field and what is wrong, in words an app developer
can act on. schemas/event.schema.json publishes the same contract; tests/schemas keep the two in
exact agreement (a property test feeds both the same generated events), so a change here needs the
same change there.

Rules worth knowing (the schema says the same):
- Optional fields may be sent as ``null``, which means "absent".
- Numbers are JSON numbers: ``"12.5"`` (a string) or ``true`` is not an amount.
- ``timestamp`` is RFC 3339 with an offset, years 1900–2099 (see ``TIMESTAMP_PATTERN``).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from .growth_events import GROWTH_EVENT_TYPES, check_growth_event

EventType = Literal[
    "usage",
    "purchase",
    "subscription",
    "support",
    "feedback",
    "profile",
    "lead",
    "referral",
    "experiment",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
# In the contract's order (docs/design.md §2); the simulator's name columns rely on it.
SUBSCRIPTION_NAME_ORDER: tuple[str, ...] = (
    "started",
    "renewed",
    "upgraded",
    "downgraded",
    "cancelled",
    "payment_failed",
    "cancellation_requested",
)
SUBSCRIPTION_NAMES = frozenset(SUBSCRIPTION_NAME_ORDER)
SUPPORT_NAMES = frozenset({"ticket_opened", "ticket_escalated", "ticket_closed"})
FEEDBACK_NAMES = frozenset({"nps", "csat"})
# The types whose name is one of a closed list.
NAMES_BY_TYPE: dict[str, frozenset[str]] = {
    "subscription": SUBSCRIPTION_NAMES,
    "support": SUPPORT_NAMES,
    "feedback": FEEDBACK_NAMES,
}
# Inclusive score ranges per feedback name.
FEEDBACK_SCORE_RANGE = {"nps": (0.0, 10.0), "csat": (1.0, 5.0)}
PROFILE_KEYS = ("owner", "segment", "plan", "seats", "renewal_date", "name")
# Billing period units of properties.interval on subscription events (as Stripe's price.recurring).
BILLING_INTERVALS = ("day", "week", "month", "year")
# Bounds that catch unit and parsing bugs: no plan bills every 1,000 periods, and 100,000 renewals
# is longer than any business has existed even at daily billing.
MAX_INTERVAL_COUNT = 1_000
MAX_RENEWAL_COUNT = 100_000
PROFILE_TEXT_KEYS = ("owner", "segment", "plan", "name")

MAX_ID_LENGTH = 128
MAX_NAME_LENGTH = 128
# Profile texts are shown in lists and alerts; 256 fits any real company or plan name.
MAX_PROFILE_TEXT_LENGTH = 256
# More seats than the largest employer has staff: a bigger number is a unit or parsing bug.
MAX_SEATS = 10_000_000

# RFC 3339 date-time with a mandatory offset, written so the JSON Schema can carry the very same
# string (ECMA-262 and Python `re` read it alike):
# - years 1900–2099: the earliest real data we replay is from the 1990s; year 1 is Go's zero
#   time ("0001-01-01T00:00:00Z"), the classic "field was never set" bug, and must not be scored.
# - seconds 00–59: Python cannot represent a leap second (":60"), so it is rejected, not guessed.
# - at most 9 fraction digits (nanoseconds, what Go and Java emit); we keep microseconds.
# - `(?![\s\S])` instead of `$`: in Python `$` also matches before a trailing newline.
# `[0-9]` instead of `\d`: Python's `\d` matches any Unicode digit.
TIMESTAMP_PATTERN = (
    r"^(19[0-9]{2}|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"[Tt]([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])(\.[0-9]{1,9})?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])(?![\s\S])"
)
# A calendar date, as in profile.renewal_date ("2027-02-01").
DATE_PATTERN = r"^(19[0-9]{2}|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(?![\s\S])"
_TIMESTAMP_RE = re.compile(TIMESTAMP_PATTERN)
_DATE_RE = re.compile(DATE_PATTERN)
_TIMESTAMP_HINT = (
    "must be an RFC 3339 date-time with a UTC offset, years 1900-2099, e.g. 2026-11-23T18:30:00Z"
)


class InvalidEvent(ValueError):
    """An event that breaks the contract; ``str(err)`` says which field and why.

    ``field`` is the top-level contract field at fault (``"timestamp"``, ``"properties"``), or
    ``None`` when the event is not an object or names a field the contract does not have.
    """

    def __init__(self, message: str, event_id: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.event_id = event_id
        self.field = field


def parse_timestamp(value: str) -> float:
    """RFC 3339 timestamp with an explicit offset (``TIMESTAMP_PATTERN``) -> Unix seconds (float).

    Raises ``ValueError`` saying what is expected when the text is not such a timestamp or names
    a day that does not exist (2026-02-30).
    """
    match = _TIMESTAMP_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(_TIMESTAMP_HINT)
    fraction = match.group(7)
    micros = int(fraction[1:7].ljust(6, "0")) if fraction else 0
    offset = match.group(8)
    if offset in ("Z", "z"):
        tz = UTC
    else:
        sign = -1 if offset[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    try:
        parsed = datetime(
            int(value[0:4]),
            int(value[5:7]),
            int(value[8:10]),
            int(match.group(4)),
            int(match.group(5)),
            int(match.group(6)),
            micros,
            tzinfo=tz,
        )
    except ValueError:
        raise ValueError(f"{_TIMESTAMP_HINT} (that day does not exist)") from None
    return parsed.timestamp()


def utc_offset_s(timestamp: str) -> int:
    """The UTC offset written in an RFC 3339 timestamp, seconds (0 for Z or an unparsable text)."""
    if timestamp[-1:] in ("Z", "z") or len(timestamp) < 6 or timestamp[-6] not in "+-":
        return 0
    sign = -1 if timestamp[-6] == "-" else 1
    try:
        return sign * (int(timestamp[-5:-3]) * 3600 + int(timestamp[-2:]) * 60)
    except ValueError:
        return 0


def local_day(event_ts: float, timestamp: str) -> int:
    """The calendar day (days since 1970-01-01) of an event in its own UTC offset: the
    customer-local day the app wrote, so an evening order in Tokyo is not split at UTC midnight."""
    return int((event_ts + utc_offset_s(timestamp)) // 86_400)


def is_date(value: str) -> bool:
    """True for a real calendar date written YYYY-MM-DD (years 1900–2099)."""
    if _DATE_RE.match(value) is None:
        return False
    try:
        date(int(value[0:4]), int(value[5:7]), int(value[8:10]))
    except ValueError:
        return False
    return True


# The last timestamp the field validator parsed, and its value (validation is synchronous, so the
# model validator that follows reads the same event's).
_LAST_PARSED: list[Any] = ["", 0.0]


class Event(BaseModel):
    """One customer event. ``ts`` is the event time in Unix seconds, derived from ``timestamp``."""

    # strict: JSON types are the contract, so "12.5" is not coerced into an amount nor 1 into text.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False, strict=True)

    event_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    customer_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    type: EventType
    timestamp: str
    user_id: str | None = Field(default=None, min_length=1, max_length=MAX_ID_LENGTH)
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_LENGTH)
    amount: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    # Length 3 as well as the pattern: the JSON Schema's pattern would let "USD\n" through.
    currency: str | None = Field(default=None, min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")
    score: float | None = Field(default=None, allow_inf_nan=False)
    properties: dict[str, Any] | None = None
    _ts: float = PrivateAttr(default=0.0)

    @property
    def ts(self) -> float:
        """Event time, Unix seconds."""
        # Read the private value directly: ``self._ts`` goes through pydantic's __getattr__
        # fallback, ~70× a dict lookup, and the scorer reads ts several times per event.
        private: dict[str, float] = self.__pydantic_private__  # type: ignore[assignment]
        return private["_ts"]

    @field_validator("timestamp")
    @classmethod
    def _check_timestamp(cls, value: str) -> str:
        _LAST_PARSED[:] = [value, parse_timestamp(value)]
        return value

    @model_validator(mode="after")
    def _check_per_type(self) -> Event:
        # The field validator just parsed this very string: reuse it instead of parsing twice.
        text, ts = _LAST_PARSED
        self._ts = ts if text is self.timestamp else parse_timestamp(self.timestamp)
        _check_type_rules(self.type, self.name, self.amount, self.score, self.properties)
        return self


def _check_type_rules(
    kind: str,
    name: str | None,
    amount: float | None,
    score: float | None,
    properties: dict[str, Any] | None,
) -> None:
    """The per-type rules of the contract (Event's model validator and the fast path share it)."""
    if kind == "usage" and name is None:
        raise ValueError("name: required for usage events (the feature or action used)")
    allowed = NAMES_BY_TYPE.get(kind)
    if allowed is not None and name not in allowed:
        raise ValueError(f"name: {kind} events take one of {', '.join(sorted(allowed))}")
    if kind == "feedback":
        if score is None:
            raise ValueError("score: required for feedback events")
        low, high = FEEDBACK_SCORE_RANGE[str(name)]
        if not low <= score <= high:
            raise ValueError(f"score: {name} scores run from {low:g} to {high:g}")
    elif kind == "purchase" and amount is None:
        raise ValueError("amount: required for purchase events (the order value)")
    if kind == "subscription":
        _check_subscription_properties(properties)
    elif kind == "purchase":
        _check_purchase_properties(properties)
    elif kind == "profile":
        _check_profile(properties)
    elif kind in GROWTH_EVENT_TYPES:
        check_growth_event(kind, name, properties)
    if score is not None and kind != "feedback":
        raise ValueError("score: only feedback events carry a score")


def _check_profile(properties: dict[str, Any] | None) -> None:
    """Profile properties: at least one known key; ``null`` values clear that field."""
    if not properties or not any(key in properties for key in PROFILE_KEYS):
        raise ValueError(
            f"properties: profile events set at least one of {', '.join(PROFILE_KEYS)}"
        )
    for key in PROFILE_TEXT_KEYS:
        value = properties.get(key)
        if value is not None and (
            not isinstance(value, str) or not value or len(value) > MAX_PROFILE_TEXT_LENGTH
        ):
            raise ValueError(
                f"properties.{key}: must be a non-empty string of at most "
                f"{MAX_PROFILE_TEXT_LENGTH} chars"
            )
    seats = properties.get("seats")
    # A JSON integer: 40 and 40.0 are the same JSON number, as JSON Schema's "integer" says.
    if seats is not None and (
        isinstance(seats, bool)
        or not isinstance(seats, int | float)
        or (isinstance(seats, float) and not seats.is_integer())
        or not 0 <= seats <= MAX_SEATS
    ):
        raise ValueError(f"properties.seats: must be a whole number from 0 to {MAX_SEATS}")
    renewal = properties.get("renewal_date")
    if renewal is not None and not (isinstance(renewal, str) and _is_date_or_timestamp(renewal)):
        raise ValueError(
            "properties.renewal_date: must be a date (YYYY-MM-DD) or an RFC 3339 date-time"
        )


def _is_whole(value: Any, low: int, high: int) -> bool:
    """A JSON integer in [low, high] (40 and 40.0 are the same JSON number; true is not one)."""
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and (not isinstance(value, float) or value.is_integer())
        and low <= value <= high
    )


def _check_subscription_properties(properties: dict[str, Any] | None) -> None:
    """Billing period, tenure from before the stream and trials; ``null`` means absent."""
    props = properties or {}
    interval = props.get("interval")
    if interval is not None and interval not in BILLING_INTERVALS:
        raise ValueError(f"properties.interval: one of {', '.join(BILLING_INTERVALS)}")
    count = props.get("interval_count")
    if count is not None and not _is_whole(count, 1, MAX_INTERVAL_COUNT):
        raise ValueError(
            f"properties.interval_count: a whole number from 1 to {MAX_INTERVAL_COUNT}"
        )
    renewals = props.get("renewal_count")
    if renewals is not None and not _is_whole(renewals, 0, MAX_RENEWAL_COUNT):
        raise ValueError(f"properties.renewal_count: a whole number from 0 to {MAX_RENEWAL_COUNT}")
    started = props.get("started_at")
    if started is not None:
        try:
            parse_timestamp(started)
        except ValueError:
            raise ValueError(
                "properties.started_at: must be an RFC 3339 date-time with a UTC offset"
            ) from None
    trial = props.get("trial")
    if trial is not None and not isinstance(trial, bool):
        raise ValueError("properties.trial: must be true or false")


def _check_purchase_properties(properties: dict[str, Any] | None) -> None:
    order_id = (properties or {}).get("order_id")
    if order_id is not None and (
        not isinstance(order_id, str) or not 1 <= len(order_id) <= MAX_ID_LENGTH
    ):
        raise ValueError(
            f"properties.order_id: must be a string of 1 to {MAX_ID_LENGTH} characters"
        )


def _is_date_or_timestamp(value: str) -> bool:
    if is_date(value):
        return True
    try:
        parse_timestamp(value)
    except ValueError:
        return False
    return True


def parse_event(raw: Any) -> Event:
    """Validate one decoded JSON value against the contract.

    Raises ``InvalidEvent`` with a one-line reason ("timestamp: must be ...").
    """
    if not isinstance(raw, dict):
        raise InvalidEvent(f"an event must be a JSON object, got {_json_type(raw)}")
    fast = fast_event(raw)
    if fast is not None:
        return fast
    try:
        return Event.model_validate(raw)
    except ValidationError as err:
        event_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
        message, field = _describe(err)
        raise InvalidEvent(message, event_id, field) from None


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else "not JSON")


def _describe(err: ValidationError) -> tuple[str, str | None]:
    """The first error as "field: what is wrong", and the contract field it is about."""
    first = err.errors(include_url=False)[0]
    location = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        return (
            f"{location}: not a field of the event contract (put custom data in properties)",
            None,
        )
    if first["type"] == "missing":
        return f"{location}: required", location
    if location:
        return f"{location}: {message}", location.split(".")[0]
    # Model-level checks put the field first in their message ("name: required for ...").
    field = message.split(":", 1)[0].split(".")[0]
    return message, field if field in Event.model_fields else None


# ---- the fast path -----------------------------------------------------------------------------
# Validating with pydantic and building its model costs ~20 µs per event, most of the scorer's
# per-event budget. ``fast_event`` checks the same contract in plain Python for the events that
# obviously meet it (exact JSON types, no surprises) and builds the Event the way
# ``model_construct`` does; anything it is not sure about returns None and goes through pydantic,
# which accepts or rejects it with its own message. So it must never accept what pydantic
# rejects, nor build different values: tests/core/test_fast_paths.py compares the two over
# simulated streams and mutated events.

_FIELD_NAMES = frozenset(Event.model_fields)
_EVENT_TYPE_SET = frozenset(EVENT_TYPES)
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_new_event = object.__new__
_set = object.__setattr__


def _short_text(value: Any, limit: int) -> bool:
    return type(value) is str and 0 < len(value) <= limit


def _number(value: Any) -> float | None:
    """A finite JSON number as pydantic's strict float gives it; None when unsure."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int and -_EXACT_INT < value < _EXACT_INT:
        return float(value)
    return None


# Integers beyond 2^53 are left to pydantic (float conversion there is its business).
_EXACT_INT = 2**53


def fast_event(raw: dict[str, Any]) -> Event | None:
    """The Event pydantic would build from ``raw``, or None to let pydantic decide."""
    if not _FIELD_NAMES.issuperset(raw):
        return None
    get = raw.get
    event_id, customer_id, kind = get("event_id"), get("customer_id"), get("type")
    timestamp = get("timestamp")
    if not (
        _short_text(event_id, MAX_ID_LENGTH)
        and _short_text(customer_id, MAX_ID_LENGTH)
        and type(kind) is str
        and kind in _EVENT_TYPE_SET
        and type(timestamp) is str
    ):
        return None
    user_id, name, amount = get("user_id"), get("name"), get("amount")
    currency, score, properties = get("currency"), get("score"), get("properties")
    if user_id is not None and not _short_text(user_id, MAX_ID_LENGTH):
        return None
    if name is not None and not _short_text(name, MAX_NAME_LENGTH):
        return None
    if amount is not None:
        amount = _number(amount)
        if amount is None or amount < 0:
            return None
    if currency is not None and not (
        type(currency) is str and len(currency) == 3 and _CURRENCY_RE.fullmatch(currency)
    ):
        return None
    if score is not None:
        score = _number(score)
        if score is None:
            return None
    if properties is not None:
        if type(properties) is not dict or not all(type(k) is str for k in properties):
            return None
        properties = dict(properties)
    try:
        ts = parse_timestamp(timestamp)
        _check_type_rules(kind, name, amount, score, properties)
    except ValueError:
        return None
    event = _new_event(Event)
    _set(
        event,
        "__dict__",
        {
            "event_id": event_id,
            "customer_id": customer_id,
            "type": kind,
            "timestamp": timestamp,
            "user_id": user_id,
            "name": name,
            "amount": amount,
            "currency": currency,
            "score": score,
            "properties": properties,
        },
    )
    _set(event, "__pydantic_fields_set__", set(raw))
    _set(event, "__pydantic_extra__", None)
    _set(event, "__pydantic_private__", {"_ts": ts})
    return event
