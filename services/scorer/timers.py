"""Per-partition silence timers: the next predicted crossing of each customer, in a heap.

The due time itself lives in the customer's state (``next_check_ts``), which is in the table and
its changelog, so it survives restarts and moves with the partition. This index is only the fast
way to find what is due; it is rebuilt from the table after every recovery. Entries are never
removed in place: a popped entry whose time no longer matches the state's is stale and skipped.

The rebuild reads each stored state's last field only: ``next_check_ts`` is the last field of the
positional msgpack layout, so it is the final 9 bytes (a float64 marker and 8 big-endian bytes).
A state in any other shape (an older format, an int there) is decoded in full instead.
"""

from __future__ import annotations

import heapq
import struct
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import fields
from typing import Protocol

from vitals.core.state import STATE_FORMAT, CustomerState

# msgpack: array16 header (a state has more than 15 fields), then the format as a positive fixint;
# a float64 is 0xcb followed by 8 big-endian bytes.
_ARRAY16 = 0xDC
_FLOAT64 = 0xCB
_TAIL = struct.Struct(">d")
# The fast path holds only while next_check_ts is the layout's last field.
_TAIL_IS_NEXT_CHECK = fields(CustomerState)[-1].name == "next_check_ts"


class TimerIndex:
    def __init__(self) -> None:
        self._heaps: dict[int, list[tuple[float, str]]] = defaultdict(list)
        self._due: dict[str, float] = {}
        # Partitions whose stored timers were loaded (schedule alone does not count).
        self._loaded: set[int] = set()

    def schedule(self, partition: int, customer_id: str, due: float) -> None:
        if not due or self._due.get(customer_id) == due:
            return
        self._due[customer_id] = due
        heapq.heappush(self._heaps[partition], (due, customer_id))

    def pop_due(self, partition: int, now: float, limit: int) -> list[tuple[str, float]]:
        """Customers of ``partition`` due at ``now`` (at most ``limit``), earliest first."""
        heap = self._heaps.get(partition)
        out: list[tuple[str, float]] = []
        while heap and heap[0][0] <= now and len(out) < limit:
            due, customer_id = heapq.heappop(heap)
            if self._due.get(customer_id) == due:
                del self._due[customer_id]
                out.append((customer_id, due))
        return out

    def next_due(self, partition: int) -> float | None:
        heap = self._heaps.get(partition)
        while heap and self._due.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def load(self, partition: int, entries: Iterable[tuple[float, str]]) -> None:
        """Index many (due, customer_id) of one partition at once (a heapify, not n pushes)."""
        self._loaded.add(partition)
        heap = self._heaps[partition]
        for due, customer_id in entries:
            if due:
                self._due[customer_id] = due
                heap.append((due, customer_id))
        heapq.heapify(heap)

    def partitions(self) -> list[int]:
        return [p for p, heap in self._heaps.items() if heap]

    def indexed(self) -> set[int]:
        """Partitions whose stored timers were loaded (empty ones included)."""
        return set(self._loaded)

    def drop(self, partition: int) -> None:
        """Forget every timer of ``partition`` (revoked, or about to be reloaded)."""
        self._loaded.discard(partition)
        for due, customer_id in self._heaps.pop(partition, []):
            if self._due.get(customer_id) == due:
                del self._due[customer_id]

    def absorb(self, other: TimerIndex) -> None:
        """Take over ``other``'s partitions, replacing what this index held for them."""
        for partition, heap in other._heaps.items():
            self.drop(partition)
            self._heaps[partition] = heap
        self._loaded |= other._loaded
        self._due.update(other._due)

    def clear(self) -> None:
        self._heaps.clear()
        self._due.clear()
        self._loaded.clear()

    def __len__(self) -> int:
        return len(self._due)


def stored_next_check(value: bytes) -> float:
    """``next_check_ts`` of a stored state, read from its last bytes when the layout allows."""
    if (
        _TAIL_IS_NEXT_CHECK
        and len(value) > 12
        and value[0] == _ARRAY16
        and value[3] == STATE_FORMAT
        and value[-9] == _FLOAT64
    ):
        due: float = _TAIL.unpack_from(value, len(value) - 8)[0]
        return due
    return CustomerState.from_bytes(value).next_check_ts


class PartitionItems(Protocol):
    def items(self, partition: int) -> Iterator[tuple[bytes, bytes]]: ...


# A rebuild looks at its cancel flag this often (states read): ~10 ms of work at 1M customers.
CANCEL_CHECK_EVERY = 10_000


def rebuild_timers(
    states: PartitionItems, partitions: Iterable[int], cancel: threading.Event | None = None
) -> TimerIndex | None:
    """A fresh index of every stored customer's next timer on ``partitions`` (safe to run in a
    thread: it touches nothing but the stores it reads and the index it returns). None when
    ``cancel`` was set meanwhile (a newer rebalance makes this rebuild moot)."""
    index = TimerIndex()
    for partition in partitions:
        entries: list[tuple[float, str]] = []
        for count, (key, value) in enumerate(states.items(partition), start=1):
            entries.append((stored_next_check(value), key.decode()))
            if cancel is not None and count % CANCEL_CHECK_EVERY == 0 and cancel.is_set():
                return None
        if cancel is not None and cancel.is_set():
            return None
        index.load(partition, entries)
    return index
