"""The two records Vitals publishes, typed: the score snapshot (topic `scores`) and the alert
(topic `alerts`).

TypedDicts, not classes: the records are built as plain dicts and serialised as they are (orjson),
so typing them costs nothing at run time; mypy checks every key a producer writes and every key a
consumer reads. Their JSON Schemas (schemas/score-snapshot.schema.json, schemas/alert.schema.json)
are the contract for other teams; tests/schemas checks the records against them.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class ReasonRecord(TypedDict):
    code: str
    score: str  # temperature | health | risk | alert
    text: str
    impact: float  # points on its score


class Profile(TypedDict):
    name: Any
    owner: Any
    segment: Any
    plan: Any
    seats: Any
    renewal_date: Any


class ScoreBlock(TypedDict):
    value: float
    band: str
    components: dict[str, float]


class TemperatureBlock(ScoreBlock):
    model: str


class Clv(TypedDict):
    value: float | None  # None: not computable (then ``reason`` says why)
    currency: str
    method: str
    horizon_days: float
    components: dict[str, float]
    reason: NotRequired[str]


class Lifecycle(TypedDict):
    stage: str
    since: str | None


class Stats(TypedDict):
    events: int
    usage_events: int
    purchases: int
    purchase_events: int
    refunds: int
    unconverted: int
    duplicates: int
    late_events: int
    first_event_at: str | None
    last_event_at: str | None
    last_usage_at: str | None


class Snapshot(TypedDict):
    """Every number of a customer at a moment (core/snapshot.py builds it)."""

    schema: str
    customer_id: str
    as_of: str | None
    as_of_ts: float
    clock: str
    config_version: str
    params_version: str
    profile: Profile
    mrr: float
    currency: str
    temperature: TemperatureBlock
    health: ScoreBlock | None
    risk: ScoreBlock
    quadrant: str | None
    rfm: dict[str, object] | None
    repurchase: dict[str, object]
    clv: Clv | None
    lifecycle: Lifecycle
    reasons: list[ReasonRecord]
    risk_reasons: list[ReasonRecord]
    stats: Stats


class Numbers(TypedDict):
    temperature: float
    health: float | None
    risk: float


class Alert(TypedDict):
    """One alert (core/alert_rules.py raises it; the notifier delivers it)."""

    schema: str
    alert_id: str
    customer_id: str
    customer_name: Any
    owner: Any
    segment: Any
    rule: str
    severity: str
    episode: int
    title: str
    raised_at: str | None
    raised_at_ts: float
    predicted_at_ts: float | None
    before: Numbers | None
    after: Numbers | None
    reasons: list[ReasonRecord]
    link: str
