"""The state seam: where the scorer reads and writes customer states.

``StateStore`` is the only way scoring code touches state; ``BatchStore`` sits in front of it for
one record (or one batch of records), reading each customer once and writing each changed customer
once at ``flush``, so a record holding an envelope of 250 events costs one table write per customer
instead of one per event. ``PartitionedStore`` is the live scorer's store: it reads one partition's
database directly and holds the states written during a batch until the app persists them all at
once (one changelog batch and one RocksDB WriteBatch per partition, see faust_compat.py).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Protocol

from vitals.core.state import CustomerState


class StateStore(Protocol):
    def get(self, customer_id: str) -> CustomerState | None: ...

    def put(self, customer_id: str, state: CustomerState) -> None: ...


class TableStore:
    """Customer states in a Faust table (RocksDB + changelog) keyed by the customer id's bytes.

    Keys and values are raw bytes so what Faust restores from the changelog is exactly what was
    written (a str key would come back from recovery as bytes).
    """

    def __init__(self, table: MutableMapping[bytes, bytes]) -> None:
        self._table = table

    def get(self, customer_id: str) -> CustomerState | None:
        raw = self._table.get(customer_id.encode())
        return CustomerState.from_bytes(raw) if raw is not None else None

    def put(self, customer_id: str, state: CustomerState) -> None:
        self._table[customer_id.encode()] = state.to_bytes()


class PartitionReader(Protocol):
    def get(self, partition: int, key: bytes) -> bytes | None: ...


class PartitionedStore:
    """States of the partition being scored (``use``), read from its database, written back by
    the caller: ``take_pending`` hands over every state put since the last call, per partition.

    Every customer of a record lives on the record's partition (records.decode_record checks it),
    so one partition at a time is all the processor ever reads or writes.
    """

    def __init__(self, reader: PartitionReader) -> None:
        self._reader = reader
        self._partition: int | None = None
        self._pending: dict[int, dict[bytes, bytes]] = {}

    def use(self, partition: int) -> None:
        self._partition = partition

    def _current(self) -> int:
        if self._partition is None:
            raise RuntimeError("PartitionedStore: call use(partition) before reading or writing")
        return self._partition

    def get(self, customer_id: str) -> CustomerState | None:
        partition = self._current()
        key = customer_id.encode()
        raw = self._pending.get(partition, {}).get(key)
        if raw is None:
            raw = self._reader.get(partition, key)
        return CustomerState.from_bytes(raw) if raw is not None else None

    def put(self, customer_id: str, state: CustomerState) -> None:
        pending = self._pending.setdefault(self._current(), {})
        pending[customer_id.encode()] = state.to_bytes()

    def take_pending(self) -> dict[int, list[tuple[bytes, bytes]]]:
        """Every state written since the last call, per partition, in key order; forgets them."""
        taken = {p: sorted(items.items()) for p, items in self._pending.items() if items}
        self._pending = {}
        return taken


class MemoryStore:
    """A dict of states: the offline scorer's and the unit tests' store."""

    def __init__(self) -> None:
        self.states: dict[str, CustomerState] = {}

    def get(self, customer_id: str) -> CustomerState | None:
        return self.states.get(customer_id)

    def put(self, customer_id: str, state: CustomerState) -> None:
        self.states[customer_id] = state


class BatchStore:
    """Read-through cache with write-back of the customers changed since the last flush."""

    def __init__(self, backend: StateStore) -> None:
        self._backend = backend
        self._cache: dict[str, CustomerState] = {}
        self.dirty: set[str] = set()

    def get_or_create(self, customer_id: str) -> CustomerState:
        state = self._cache.get(customer_id)
        if state is None:
            state = self._backend.get(customer_id) or CustomerState(customer_id)
            self._cache[customer_id] = state
        return state

    def mark_dirty(self, customer_id: str) -> None:
        self.dirty.add(customer_id)

    def flush(self) -> list[CustomerState]:
        """Write every changed state once; return them (for scoring) and forget the cache."""
        changed = [self._cache[cid] for cid in sorted(self.dirty)]
        for state in changed:
            self._backend.put(state.customer_id, state)
        self._cache.clear()
        self.dirty.clear()
        return changed
