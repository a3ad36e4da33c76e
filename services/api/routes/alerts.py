"""``/v1/alerts``: recent alerts with their delivery state; acknowledge and snooze them.

Any key with ``read`` (or ``admin``) may list, acknowledge and snooze: it is the CSM's job. What
the notifier does with them (see vitals.notifier.acks): an acknowledged alert is not delivered to
destinations it has not reached yet nor on replays; a snooze holds back alerts of the same
customer and rule raised before ``until``. Times are Unix seconds unless named ``*_iso``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, Field

from vitals.api.deps import AcksDep, AlertHistoryDep, DeliveryLogDep, ReadAccess
from vitals.core.events import MAX_ID_LENGTH
from vitals.notifier.acks import Ack, Acks, suppression
from vitals.notifier.delivery_log import DeliveryLog
from vitals.notifier.history import MAX_LIMIT, History
from vitals.platform.problems import Problem

router = APIRouter(prefix="/v1/alerts", tags=["alerts"], dependencies=[ReadAccess])

# Alerts listed when the request names no limit: a screenful.
DEFAULT_LIMIT = 50
# Delivery states read at once for a listing: overlaps round trips without taking the whole
# Redis connection pool (64) from the other requests.
DELIVERY_READ_CONCURRENCY = 16
# Longest snooze: a quarter. Beyond that, disable the rule or fix the customer's data instead.
MAX_SNOOZE_DAYS = 90
SECONDS_PER_DAY = 86_400

AlertId = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH)]


class AckRequest(BaseModel):
    """Optional body of an ack: who (as your team names people) and a note."""

    by: str | None = Field(default=None, max_length=128)
    note: str | None = Field(default=None, max_length=1000)


async def _deliveries(log: DeliveryLog, ids: Sequence[str]) -> list[list[dict[str, Any]]]:
    gate = asyncio.Semaphore(DELIVERY_READ_CONCURRENCY)

    async def one(alert_id: str) -> list[dict[str, Any]]:
        async with gate:
            states = await log.for_alert(alert_id)
        return [s.model_dump(exclude={"alert_id"}) for s in states]

    return list(await asyncio.gather(*(one(i) for i in ids)))


def _pair(alert: dict[str, Any]) -> tuple[str, str] | None:
    customer_id, rule = alert.get("customer_id"), alert.get("rule")
    if isinstance(customer_id, str) and isinstance(rule, str):
        return customer_id, rule
    return None


async def _views(
    alerts: list[dict[str, Any]], log: DeliveryLog, acks: Acks
) -> list[dict[str, Any]]:
    """Each alert with ``deliveries`` (per destination), ``acknowledged``, ``snoozed_until`` and
    ``held_back`` (acked/snoozed/null: whether the notifier would skip it now)."""
    ids = [str(a["alert_id"]) for a in alerts]
    acked = await acks.acks(ids)
    snoozes = await acks.snoozes(p for p in map(_pair, alerts) if p is not None)
    deliveries = await _deliveries(log, ids)
    views = []
    for alert, alert_id, states in zip(alerts, ids, deliveries, strict=True):
        ack = acked.get(alert_id)
        pair = _pair(alert)
        until = snoozes.get(pair) if pair is not None else None
        views.append(
            {
                "alert": alert,
                "deliveries": states,
                "acknowledged": None if ack is None else ack.model_dump(exclude={"alert_id"}),
                "snoozed_until": until,
                "held_back": suppression(alert, ack, until),
            }
        )
    return views


async def _require(history: History, alert_id: str) -> dict[str, Any]:
    alert = await history.get(alert_id)
    if alert is None:
        raise Problem(
            404,
            "Unknown alert",
            f"no alert {alert_id!r} in the recent history (kept 30 days); check the id",
        )
    return alert


@router.get("")
async def list_alerts(
    history: AlertHistoryDep,
    log: DeliveryLogDep,
    acks: AcksDep,
    customer_id: Annotated[str | None, Query(min_length=1, max_length=MAX_ID_LENGTH)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """The most recently raised alerts (of one customer, or all), newest first, each with its
    delivery state per destination, acknowledgement and snooze."""
    alerts = await history.recent(limit, customer_id)
    return {"alerts": await _views(alerts, log, acks)}


@router.get("/{alert_id}")
async def get_alert(
    alert_id: AlertId, history: AlertHistoryDep, log: DeliveryLogDep, acks: AcksDep
) -> dict[str, Any]:
    """One alert, as in the listing."""
    return (await _views([await _require(history, alert_id)], log, acks))[0]


@router.post("/{alert_id}/ack")
async def ack_alert(
    alert_id: AlertId,
    history: AlertHistoryDep,
    log: DeliveryLogDep,
    acks: AcksDep,
    body: Annotated[AckRequest | None, Body()] = None,
) -> dict[str, Any]:
    """Acknowledge the alert: it will not be delivered anywhere it has not been yet. The first
    acknowledgement stands (who and when); repeating it changes nothing."""
    alert = await _require(history, alert_id)
    request = body or AckRequest()
    await acks.ack(Ack(alert_id=alert_id, at=time.time(), by=request.by, note=request.note))
    return (await _views([alert], log, acks))[0]


def _parse_until(text: str, now: float) -> float:
    # A '+' in a query string left unencoded (curl "...?until=2026-12-01T09:00:00+01:00")
    # arrives as a space; take it back rather than reject the offset.
    cleaned = text.strip().replace(" ", "+")
    try:
        when = datetime.fromisoformat(cleaned)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise Problem(
            422,
            "Invalid snooze time",
            "until must be an RFC 3339 time with an offset, e.g. 2026-12-01T09:00:00Z",
        )
    until = when.timestamp()
    if until <= now:
        raise Problem(422, "Invalid snooze time", "until is in the past; give a future time")
    if until > now + MAX_SNOOZE_DAYS * SECONDS_PER_DAY:
        raise Problem(
            422,
            "Invalid snooze time",
            f"snoozes last at most {MAX_SNOOZE_DAYS} days; to silence a rule for good, "
            "disable it with PUT /v1/alert-rules",
        )
    return until


@router.post("/{alert_id}/snooze")
async def snooze_alert(
    alert_id: AlertId,
    history: AlertHistoryDep,
    log: DeliveryLogDep,
    acks: AcksDep,
    until: Annotated[str, Query(description="RFC 3339 time with offset")],
) -> dict[str, Any]:
    """Snooze the alert's rule for its customer: alerts of that (customer, rule) raised before
    ``until`` are not delivered. Replaces an earlier snooze of the pair (so it can shorten it)."""
    until_ts = _parse_until(until, time.time())
    alert = await _require(history, alert_id)
    pair = _pair(alert)
    if pair is None:
        raise Problem(422, "Alert cannot be snoozed", "the alert has no customer_id and rule")
    await acks.snooze(*pair, until_ts)
    return (await _views([alert], log, acks))[0]


@router.delete("/{alert_id}/snooze")
async def unsnooze_alert(
    alert_id: AlertId, history: AlertHistoryDep, log: DeliveryLogDep, acks: AcksDep
) -> dict[str, Any]:
    """End the snooze of the alert's (customer, rule) now: new alerts of it are delivered."""
    alert = await _require(history, alert_id)
    pair = _pair(alert)
    if pair is not None:
        await acks.unsnooze(*pair)
    return (await _views([alert], log, acks))[0]
