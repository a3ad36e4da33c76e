"""Token bucket timing on a fake clock, and the digest batching rule."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import pytest

from vitals.notifier.digest import DigestPolicy, take_batch
from vitals.notifier.ratelimit import TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def acquired_at(rate: float, burst: int, times: int) -> list[float]:
    """When each of ``times`` back-to-back acquisitions of a fresh bucket got its token."""
    t = FakeTime()
    bucket = TokenBucket(rate, burst=burst, monotonic=t.monotonic, sleep=t.sleep)
    stamps = []
    for _ in range(times):
        await bucket.acquire()
        stamps.append(t.now)
    return stamps


async def test_bucket_spaces_acquisitions_at_the_rate() -> None:
    assert await acquired_at(2.0, 1, 4) == pytest.approx([0.0, 0.5, 1.0, 1.5])


async def test_bucket_allows_a_burst_then_the_rate() -> None:
    assert await acquired_at(1.0, 3, 5) == pytest.approx([0, 0, 0, 1, 2])


async def test_idle_time_refills_but_never_beyond_burst() -> None:
    t = FakeTime()
    bucket = TokenBucket(1.0, burst=2, monotonic=t.monotonic, sleep=t.sleep)
    await bucket.acquire()
    await bucket.acquire()
    t.now += 100
    for _ in range(3):
        await bucket.acquire()
    assert t.now == pytest.approx(101)


def test_bucket_refuses_nonsense_rates() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)


@dataclass
class Item:
    name: str
    enqueued_at: float


def queue(*times: float) -> deque[Item]:
    return deque(Item(f"a{i}", t) for i, t in enumerate(times))


def test_few_waiting_alerts_leave_one_at_a_time() -> None:
    pending = queue(0, 1, 2)
    assert [i.name for i in take_batch(pending, DigestPolicy(threshold=3), can_digest=True)] == [
        "a0"
    ]
    assert len(pending) == 2


def test_more_than_threshold_within_window_form_one_digest() -> None:
    pending = queue(0, 1, 2, 3, 30)
    batch = take_batch(pending, DigestPolicy(threshold=3, window_s=10), can_digest=True)
    assert [i.name for i in batch] == ["a0", "a1", "a2", "a3"]
    assert [i.name for i in pending] == ["a4"]  # outside the window: left for later


def test_digest_is_capped_and_not_used_where_unsupported() -> None:
    pending = queue(*[0.0] * 30)
    assert len(take_batch(pending, DigestPolicy(max_items=20), can_digest=True)) == 20
    assert len(take_batch(pending, DigestPolicy(), can_digest=False)) == 1
    assert len(pending) == 9
