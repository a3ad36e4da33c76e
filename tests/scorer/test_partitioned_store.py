"""The live scorer's state seam (PartitionedStore) and the cheap timer rebuild, without a broker."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import msgpack
import pytest

from vitals.core.state import CustomerState
from vitals.scorer.store import BatchStore, PartitionedStore
from vitals.scorer.timers import TimerIndex, rebuild_timers, stored_next_check


class Partitions:
    """Raw bytes per partition, as the RocksDB databases hold them."""

    def __init__(self) -> None:
        self.dbs: dict[int, dict[bytes, bytes]] = {}

    def get(self, partition: int, key: bytes) -> bytes | None:
        return self.dbs.get(partition, {}).get(key)

    def items(self, partition: int) -> Iterator[tuple[bytes, bytes]]:
        yield from sorted(self.dbs.get(partition, {}).items())


def state(cid: str, partition: int, next_check: float) -> CustomerState:
    return CustomerState(cid, position=[partition, 1, 0], events=1, next_check_ts=next_check)


def test_reads_the_partition_in_use_and_hands_over_writes_per_partition() -> None:
    backend = Partitions()
    backend.dbs[3] = {b"a": state("a", 3, 10.0).to_bytes()}
    store = PartitionedStore(backend)
    store.use(3)
    assert store.get("a") == state("a", 3, 10.0)
    assert store.get("b") is None
    store.put("b", state("b", 3, 20.0))
    store.use(5)
    assert store.get("b") is None  # another partition's database
    store.put("c", state("c", 5, 30.0))
    store.use(3)
    assert store.get("b") == state("b", 3, 20.0)  # written, not yet persisted: still visible
    pending = store.take_pending()
    assert pending == {
        3: [(b"b", state("b", 3, 20.0).to_bytes())],
        5: [(b"c", state("c", 5, 30.0).to_bytes())],
    }
    assert store.take_pending() == {}
    assert store.get("b") is None  # the caller persists what it took


def test_batch_store_over_it_writes_each_changed_customer_once() -> None:
    store = PartitionedStore(Partitions())
    store.use(0)
    batch = BatchStore(store)
    for _ in range(3):
        batch.get_or_create("a").events += 1
        batch.mark_dirty("a")
    batch.flush()
    [(key, value)] = store.take_pending()[0]
    assert (key, CustomerState.from_bytes(value).events) == (b"a", 3)


def test_unused_store_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match=r"call use\(partition\)"):
        PartitionedStore(Partitions()).get("a")


@pytest.mark.parametrize("due", [0.0, 1.5, 1_767_225_600.125, 2.0**40])
def test_next_check_is_read_from_the_stored_tail(due: float) -> None:
    full = state("a", 0, due)
    full.profile = {"plan": "pro"}
    full.seen_ids = {12345: 99.0}
    assert stored_next_check(full.to_bytes()) == due


def test_a_state_of_another_shape_is_decoded_in_full() -> None:
    # An int where the float usually is (msgpack packs it as an int, not 0xcb + 8 bytes).
    values = msgpack.unpackb(state("a", 0, 0.0).to_bytes(), strict_map_key=False)
    values[-1] = 7
    packed = msgpack.packb(values, use_bin_type=True)
    assert stored_next_check(packed) == 7


def test_rebuild_indexes_every_partition_asked_for() -> None:
    backend = Partitions()
    backend.dbs[0] = {b"a": state("a", 0, 30.0).to_bytes(), b"b": state("b", 0, 10.0).to_bytes()}
    backend.dbs[1] = {b"c": state("c", 1, 20.0).to_bytes(), b"d": state("d", 1, 0.0).to_bytes()}
    backend.dbs[2] = {b"e": state("e", 2, 5.0).to_bytes()}
    index = rebuild_timers(backend, [0, 1])
    assert index is not None
    assert len(index) == 3  # no timer for d; partition 2 not ours
    assert index.next_due(0) == 10.0
    assert index.pop_due(0, 100.0, 10) == [("b", 10.0), ("a", 30.0)]
    assert index.pop_due(1, 100.0, 10) == [("c", 20.0)]
    assert index.next_due(2) is None


def test_load_then_schedule_keeps_the_latest_due() -> None:
    index = TimerIndex()
    index.load(0, [(50.0, "a"), (10.0, "b")])
    index.schedule(0, "b", 60.0)  # rescheduled: the loaded entry is stale
    assert index.pop_due(0, 100.0, 10) == [("a", 50.0), ("b", 60.0)]


def test_absorb_replaces_the_partitions_it_brings_and_keeps_the_others() -> None:
    live = TimerIndex()
    live.load(0, [(50.0, "a"), (10.0, "b")])
    live.load(1, [(20.0, "c")])
    fresh = TimerIndex()
    fresh.load(0, [(70.0, "a")])  # b is gone from partition 0, a moved on
    live.absorb(fresh)
    assert len(live) == 2
    assert live.indexed() == {0, 1}
    assert live.pop_due(0, 100.0, 10) == [("a", 70.0)]
    assert live.pop_due(1, 100.0, 10) == [("c", 20.0)]


def test_drop_forgets_a_partitions_timers_only() -> None:
    index = TimerIndex()
    index.load(0, [(50.0, "a")])
    index.load(1, [(20.0, "c")])
    index.drop(0)
    assert index.indexed() == {1}
    assert len(index) == 1
    assert index.pop_due(0, 100.0, 10) == []
    assert index.next_due(1) == 20.0


def test_scheduling_alone_does_not_count_as_loaded() -> None:
    index = TimerIndex()
    index.schedule(3, "a", 10.0)
    assert index.indexed() == set()
    index.load(3, [])
    assert index.indexed() == {3}


def test_a_cancelled_rebuild_returns_nothing() -> None:
    backend = Partitions()
    backend.dbs[0] = {f"c{i}".encode(): state(f"c{i}", 0, 10.0).to_bytes() for i in range(5)}
    cancel = threading.Event()
    assert rebuild_timers(backend, [0], cancel) is not None
    cancel.set()
    assert rebuild_timers(backend, [0], cancel) is None
