"""Per-partition silence timers: the next predicted crossing of each customer, in a heap.

The due time itself lives in the customer's state (``next_check_ts``), which is in the table and
its changelog, so it survives restarts and moves with the partition. This index is only the fast
way to find what is due; it is rebuilt from the table after every recovery. Entries are never
removed in place: a popped entry whose time no longer matches the state's is stale and skipped.

A partition restored from its changelog into an empty database (a new container, a partition new
to this worker) needs no read of the table at all: ``CatchUpTimers`` indexes the records as the
restore applies them, and the rebuild takes that index as long as the database is still at the
offset the restore left it at (anything applied since, by Faust's own recovery or a later
restore, sends the rebuild back to the table).

The rebuild reads each stored state's last field only: ``next_check_ts`` is the last field of the
positional msgpack layout, so it is the final 9 bytes (a float64 marker and 8 big-endian bytes).
A state in any other shape (an older format, an int there) is decoded in full instead.
"""

from __future__ import annotations

import heapq
import struct
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
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

    def load_dues(self, partition: int, dues: Mapping[str, float]) -> None:
        """``load`` from a mapping customer_id -> due (bulk operations, no call per entry)."""
        self._loaded.add(partition)
        timed = {customer_id: due for customer_id, due in dues.items() if due}
        self._due.update(timed)
        heap = self._heaps[partition]
        heap.extend([(due, customer_id) for customer_id, due in timed.items()])
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
    states: PartitionItems,
    partitions: Iterable[int],
    cancel: threading.Event | None = None,
    prebuilt: Mapping[int, Mapping[str, float]] | None = None,
) -> TimerIndex | None:
    """A fresh index of every stored customer's next timer on ``partitions`` (safe to run in a
    thread: it touches nothing but the stores it reads and the index it returns). None when
    ``cancel`` was set meanwhile (a newer rebalance makes this rebuild moot). A partition in
    ``prebuilt`` (customer id -> due, see ``CatchUpTimers.ready``) is taken from there instead
    of the store."""
    index = TimerIndex()
    prebuilt = prebuilt or {}
    for partition in partitions:
        known = prebuilt.get(partition)
        if known is not None:
            index.load_dues(partition, known)
            continue
        entries: list[tuple[float, str]] = []
        for count, (key, value) in enumerate(states.items(partition), start=1):
            entries.append((stored_next_check(value), key.decode()))
            if cancel is not None and count % CANCEL_CHECK_EVERY == 0 and cancel.is_set():
                return None
        if cancel is not None and cancel.is_set():
            return None
        index.load(partition, entries)
    return index


class _Record(Protocol):
    @property
    def key(self) -> bytes: ...

    @property
    def value(self) -> bytes | None: ...


class CatchUpTimers:
    """The timers of each partition indexed from the changelog records a restore applies (a
    faust_compat.RestoreListener), so the rebuild that follows the recovery need not read every
    state back: at 1M customers that second pass over the table took ~10 s.

    A partition is indexed when its restore started from an empty database, or from the very
    offset a previous index of it was complete at; ``ready`` hands the index out only while the
    database is still at the offset it was completed at. ``begin`` and ``end`` run on the event
    loop, ``records`` on the restore's writer thread between them."""

    def __init__(self) -> None:
        self._building: dict[int, dict[str, float]] = {}
        self._ready: dict[int, tuple[int | None, dict[str, float]]] = {}

    def begin(self, partition: int, persisted: int | None, empty: bool) -> None:
        done = self._ready.pop(partition, None)
        self._building.pop(partition, None)
        if done is not None and done[0] == persisted:
            # Copied: a rebuild may still be reading the finished one on another thread.
            self._building[partition] = dict(done[1])
        elif persisted is None and empty:
            self._building[partition] = {}

    def records(self, partition: int, records: Sequence[_Record]) -> None:
        dues = self._building.get(partition)
        if dues is None:
            return
        for record in records:
            if record.value is None:
                dues.pop(record.key.decode(), None)
            else:
                dues[record.key.decode()] = stored_next_check(record.value)

    def end(self, partition: int, persisted: int | None) -> None:
        dues = self._building.pop(partition, None)
        if dues is not None:
            self._ready[partition] = (persisted, dues)

    def ready(self, partition: int, persisted: int | None) -> Mapping[str, float] | None:
        """The index of ``partition`` if the database is still at the offset it was completed
        at (``persisted``: its offset now); None otherwise (and a stale one is forgotten)."""
        done = self._ready.get(partition)
        if done is None:
            return None
        if done[0] != persisted:
            del self._ready[partition]
            return None
        return done[1]

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop what is kept for ``partitions`` (indexed now, or no longer held)."""
        for partition in partitions:
            self._ready.pop(partition, None)
