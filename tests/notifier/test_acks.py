"""Acks and snoozes: the pure decision, and the Redis store (first ack stands, snoozes outlive
their time so replays still meet them)."""

from __future__ import annotations

import time

import pytest
from redis.asyncio import Redis

from vitals.notifier.acks import RETENTION_S, Ack, AckStore, InMemoryAckStore, suppression
from vitals.platform.keyspace import ACK_KEY, SNOOZE_KEY


def test_suppression_compares_the_snooze_with_the_raise_time() -> None:
    alert = {"alert_id": "a", "raised_at_ts": 100.0}
    assert suppression(alert, None, None) is None
    assert suppression(alert, None, 100.5) == "snoozed"
    assert suppression(alert, None, 100.0) is None  # raised at the snooze's end: delivered
    assert suppression(alert, None, 99.0) is None
    assert suppression(alert, Ack(alert_id="a", at=1.0), None) == "acked"
    assert suppression({"alert_id": "a"}, None, 1e12) is None  # no raise time: never snoozed


async def test_first_ack_stands_and_expires_eventually(redis: Redis) -> None:
    store = AckStore(redis)
    assert not await store.is_acked("a1")
    first = await store.ack(Ack(alert_id="a1", at=10.0, by="dana"))
    second = await store.ack(Ack(alert_id="a1", at=20.0, by="lee"))
    assert first == second == Ack(alert_id="a1", at=10.0, by="dana")
    assert await store.is_acked("a1")
    assert await store.get_ack("a1") == first
    assert await store.acks(["a1", "a2", "a1"]) == {"a1": first}
    assert 0 < await redis.ttl(ACK_KEY + "a1") <= RETENTION_S


async def test_snooze_is_kept_past_its_time_and_can_be_replaced_or_lifted(redis: Redis) -> None:
    store = AckStore(redis)
    until = time.time() + 3600
    await store.snooze("acme:east", "gone_quiet", until)
    assert await store.snoozed_until("acme:east", "gone_quiet") == pytest.approx(until)
    assert await store.snoozed_until("acme:east", "at_risk") is None
    assert await store.snoozed_until("acme", "gone_quiet") is None
    # Alive until `until` plus the retention, so a replay after `until` still sees it.
    ttl = await redis.ttl(SNOOZE_KEY + "gone_quiet:acme:east")
    assert 3600 + RETENTION_S - 60 < ttl <= 3600 + RETENTION_S
    await store.snooze("acme:east", "gone_quiet", until - 1800)  # shortened
    pairs = [("acme:east", "gone_quiet"), ("acme:east", "at_risk")]
    assert await store.snoozes(pairs) == {("acme:east", "gone_quiet"): pytest.approx(until - 1800)}
    assert await store.unsnooze("acme:east", "gone_quiet")
    assert not await store.unsnooze("acme:east", "gone_quiet")
    assert await store.snoozed_until("acme:east", "gone_quiet") is None


async def test_in_memory_store_behaves_alike() -> None:
    store = InMemoryAckStore()
    await store.ack(Ack(alert_id="a", at=1.0, by="x"))
    assert (await store.ack(Ack(alert_id="a", at=2.0))).by == "x"
    assert await store.is_acked("a") and not await store.is_acked("b")
    await store.snooze("c", "at_risk", 50.0)
    assert await store.snoozes([("c", "at_risk"), ("d", "at_risk")]) == {("c", "at_risk"): 50.0}
    assert (
        await store.unsnooze("c", "at_risk") and await store.snoozed_until("c", "at_risk") is None
    )
