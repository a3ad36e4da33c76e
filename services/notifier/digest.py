"""When a burst of alerts is waiting for one destination, send them as one digest message.

The worker of a destination takes its next message only once the rate limiter gives it a token;
alerts that arrive meanwhile wait in its queue. If more than ``threshold`` of them were queued
within ``window_s`` of the oldest, they leave together as one digest (up to ``max_items``);
otherwise the oldest leaves alone. A lone alert is never held back to wait for company.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import islice, takewhile
from typing import Protocol, TypeVar

DIGEST_THRESHOLD = 3  # 4+ alerts at once in a channel read better as one list than as a wall
DIGEST_WINDOW_S = 10.0  # "at once": queued within 10 s of each other
DIGEST_MAX_ITEMS = 20  # one digest stays readable on a phone; the rest form the next one


@dataclass(frozen=True)
class DigestPolicy:
    threshold: int = DIGEST_THRESHOLD
    window_s: float = DIGEST_WINDOW_S
    max_items: int = DIGEST_MAX_ITEMS


class Queued(Protocol):
    @property
    def enqueued_at(self) -> float: ...


Q = TypeVar("Q", bound=Queued)


def take_batch(pending: deque[Q], policy: DigestPolicy, *, can_digest: bool) -> list[Q]:
    """Pop the next message's items off the front of ``pending`` (which must not be empty):
    one item, or more than ``policy.threshold`` items that then go out as a digest."""
    head = pending[0]
    if can_digest:
        group = list(
            takewhile(
                lambda item: item.enqueued_at - head.enqueued_at <= policy.window_s,
                islice(pending, policy.max_items),
            )
        )
        if len(group) > policy.threshold:
            for _ in group:
                pending.popleft()
            return group
    return [pending.popleft()]
