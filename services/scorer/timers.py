"""Per-partition silence timers: the next predicted crossing of each customer, in a heap.

The due time itself lives in the customer's state (``next_check_ts``), which is in the table and
its changelog, so it survives restarts and moves with the partition. This index is only the fast
way to find what is due; it is rebuilt from the table after every recovery. Entries are never
removed in place: a popped entry whose time no longer matches the state's is stale and skipped.
"""

from __future__ import annotations

import heapq
from collections import defaultdict


class TimerIndex:
    def __init__(self) -> None:
        self._heaps: dict[int, list[tuple[float, str]]] = defaultdict(list)
        self._due: dict[str, float] = {}

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

    def partitions(self) -> list[int]:
        return [p for p, heap in self._heaps.items() if heap]

    def clear(self) -> None:
        self._heaps.clear()
        self._due.clear()

    def __len__(self) -> int:
        return len(self._due)
