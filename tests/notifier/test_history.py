"""The alert history in the real Redis: newest first, bounded overall and per customer, with
expiring bodies, idempotent on replays."""

from __future__ import annotations

from redis.asyncio import Redis

from vitals.notifier.history import HISTORY_TTL_S, AlertHistory, InMemoryAlertHistory
from vitals.platform.keyspace import ALERT_KEY, CUSTOMER_RECENT_KEY, RECENT_KEY

from .support import make_alert


def _ids(alerts: list[dict[str, object]]) -> list[object]:
    return [a["alert_id"] for a in alerts]


async def test_recent_is_newest_raised_first_not_newest_recorded(redis: Redis) -> None:
    history = AlertHistory(redis)
    late = make_alert(alert_id="late", raised_at_ts=300.0)
    early = make_alert(alert_id="early", raised_at_ts=100.0)
    middle = make_alert(alert_id="middle", raised_at_ts=200.0, customer_id="globex")
    for alert in (late, early, middle):
        await history.record(alert)
    assert _ids(await history.recent(10)) == ["late", "middle", "early"]
    assert _ids(await history.recent(2)) == ["late", "middle"]
    assert _ids(await history.recent(10, customer_id="globex")) == ["middle"]
    assert await history.recent(10, customer_id="nobody") == []
    assert await history.get("middle") == middle
    assert await history.get("missing") is None


async def test_history_is_bounded_overall_and_per_customer(redis: Redis) -> None:
    history = AlertHistory(redis, max_recent=5, max_per_customer=3)
    for n in range(8):
        customer = "acme" if n % 2 == 0 else "globex"
        await history.record(make_alert(alert_id=f"a{n}", customer_id=customer, raised_at_ts=n))
    assert _ids(await history.recent(100)) == ["a7", "a6", "a5", "a4", "a3"]
    assert _ids(await history.recent(100, customer_id="acme")) == ["a6", "a4", "a2"]
    assert _ids(await history.recent(100, customer_id="globex")) == ["a7", "a5", "a3"]
    assert await redis.zcard(RECENT_KEY) == 5
    assert await redis.zcard(CUSTOMER_RECENT_KEY + "acme") == 3
    # Bodies and customer indexes expire on their own.
    assert 0 < await redis.ttl(ALERT_KEY + "a0") <= HISTORY_TTL_S
    assert 0 < await redis.ttl(CUSTOMER_RECENT_KEY + "acme") <= HISTORY_TTL_S


async def test_recording_a_replayed_alert_changes_nothing(redis: Redis) -> None:
    history = AlertHistory(redis)
    alert = make_alert(raised_at_ts=50.0)
    await history.record(alert)
    await history.record(alert)
    assert _ids(await history.recent(10)) == [alert["alert_id"]]
    assert await redis.zcard(CUSTOMER_RECENT_KEY + alert["customer_id"]) == 1


async def test_an_expired_body_is_left_out_of_the_listing(redis: Redis) -> None:
    history = AlertHistory(redis)
    for n in range(3):
        await history.record(make_alert(alert_id=f"x{n}", raised_at_ts=n))
    await redis.delete(ALERT_KEY + "x1")  # as if its TTL had run out
    assert _ids(await history.recent(10)) == ["x2", "x0"]


async def test_alert_without_raised_at_is_ordered_by_the_clock() -> None:
    history = InMemoryAlertHistory(clock=lambda: 1000.0)
    await history.record(make_alert(alert_id="old", raised_at_ts=10.0))
    await history.record(make_alert(alert_id="odd", raised_at_ts=None))
    assert _ids(await history.recent(10)) == ["odd", "old"]


async def test_in_memory_history_keeps_the_same_bounds() -> None:
    history = InMemoryAlertHistory(max_recent=2, max_per_customer=1)
    for n in range(4):
        await history.record(make_alert(alert_id=f"m{n}", raised_at_ts=n))
    assert _ids(await history.recent(10)) == ["m3", "m2"]
    assert _ids(await history.recent(10, customer_id="acme")) == ["m3"]
