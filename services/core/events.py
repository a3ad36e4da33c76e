"""The event contract (DESIGN.md §2) as a validated model.

Apps send one JSON object per event. ``parse_event`` turns a decoded object into an ``Event`` or
raises ``InvalidEvent`` whose message names the field and what is wrong, in words an app developer
can act on. schemas/event.schema.json publishes the same contract; tests keep the two in agreement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

EventType = Literal["usage", "purchase", "subscription", "support", "feedback", "profile"]
EVENT_TYPES: tuple[str, ...] = ("usage", "purchase", "subscription", "support", "feedback", "profile")

SUBSCRIPTION_NAMES = frozenset(
    {
        "started",
        "renewed",
        "upgraded",
        "downgraded",
        "cancelled",
        "payment_failed",
        "cancellation_requested",
    }
)
SUPPORT_NAMES = frozenset({"ticket_opened", "ticket_escalated", "ticket_closed"})
FEEDBACK_NAMES = frozenset({"nps", "csat"})
# Inclusive score ranges per feedback name.
FEEDBACK_SCORE_RANGE = {"nps": (0.0, 10.0), "csat": (1.0, 5.0)}
PROFILE_KEYS = ("owner", "segment", "plan", "seats", "renewal_date", "name")

MAX_ID_LENGTH = 128
MAX_NAME_LENGTH = 128


class InvalidEvent(ValueError):
    """An event that breaks the contract; ``str(err)`` says which field and why."""

    def __init__(self, message: str, event_id: str | None = None) -> None:
        super().__init__(message)
        self.event_id = event_id


def parse_timestamp(value: str) -> float:
    """RFC 3339 timestamp with an explicit offset -> Unix seconds (float)."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError("must be an RFC 3339 date-time, e.g. 2026-11-23T18:30:00Z") from None
    if "T" not in value.upper() or parsed.tzinfo is None:
        raise ValueError("must be an RFC 3339 date-time with a UTC offset (Z or +hh:mm)")
    return parsed.timestamp()


class Event(BaseModel):
    """One customer event. ``ts`` is the event time in Unix seconds, derived from ``timestamp``."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    event_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    customer_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    type: EventType
    timestamp: str
    user_id: str | None = Field(default=None, min_length=1, max_length=MAX_ID_LENGTH)
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_LENGTH)
    amount: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    score: float | None = Field(default=None, allow_inf_nan=False)
    properties: dict[str, Any] | None = None
    _ts: float = PrivateAttr(default=0.0)

    @property
    def ts(self) -> float:
        return self._ts

    @field_validator("timestamp")
    @classmethod
    def _check_timestamp(cls, value: str) -> str:
        parse_timestamp(value)
        return value

    @model_validator(mode="after")
    def _check_per_type(self) -> Event:
        self._ts = parse_timestamp(self.timestamp)
        kind = self.type
        if kind == "usage" and self.name is None:
            raise ValueError("name: required for usage events (the feature or action used)")
        if kind == "subscription":
            _require_name_in(self.name, SUBSCRIPTION_NAMES, kind)
        elif kind == "support":
            _require_name_in(self.name, SUPPORT_NAMES, kind)
        elif kind == "feedback":
            _require_name_in(self.name, FEEDBACK_NAMES, kind)
            if self.score is None:
                raise ValueError("score: required for feedback events")
            low, high = FEEDBACK_SCORE_RANGE[str(self.name)]
            if not low <= self.score <= high:
                raise ValueError(f"score: {self.name} scores run from {low:g} to {high:g}")
        elif kind == "purchase" and self.amount is None:
            raise ValueError("amount: required for purchase events (the order value)")
        elif kind == "profile":
            _check_profile(self.properties)
        if self.score is not None and kind != "feedback":
            raise ValueError("score: only feedback events carry a score")
        return self


def _require_name_in(name: str | None, allowed: frozenset[str], kind: str) -> None:
    if name not in allowed:
        raise ValueError(f"name: {kind} events take one of {', '.join(sorted(allowed))}")


def _check_profile(properties: dict[str, Any] | None) -> None:
    if not properties or not any(key in properties for key in PROFILE_KEYS):
        raise ValueError(f"properties: profile events set at least one of {', '.join(PROFILE_KEYS)}")
    for key in ("owner", "segment", "plan", "name"):
        value = properties.get(key)
        if value is not None and (not isinstance(value, str) or not value or len(value) > 256):
            raise ValueError(f"properties.{key}: must be a non-empty string of at most 256 chars")
    seats = properties.get("seats")
    if seats is not None and (isinstance(seats, bool) or not isinstance(seats, int) or seats < 0):
        raise ValueError("properties.seats: must be a whole number >= 0")
    renewal = properties.get("renewal_date")
    if renewal is not None:
        if not isinstance(renewal, str):
            raise ValueError("properties.renewal_date: must be a date (YYYY-MM-DD) or date-time")
        try:
            datetime.fromisoformat(renewal)
        except ValueError:
            raise ValueError(
                "properties.renewal_date: must be a date (YYYY-MM-DD) or date-time"
            ) from None


def parse_event(raw: Any) -> Event:
    """Validate one decoded JSON value against the contract.

    Raises ``InvalidEvent`` with a one-line reason ("timestamp: must be ...").
    """
    if not isinstance(raw, dict):
        raise InvalidEvent(f"an event must be a JSON object, got {type(raw).__name__}")
    try:
        return Event.model_validate(raw)
    except ValidationError as err:
        event_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
        raise InvalidEvent(_describe(err), event_id) from None


def _describe(err: ValidationError) -> str:
    first = err.errors(include_url=False)[0]
    location = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        return f"{location}: not a field of the event contract (put custom data in properties)"
    if first["type"] == "missing":
        return f"{location}: required"
    return f"{location}: {message}" if location else message
