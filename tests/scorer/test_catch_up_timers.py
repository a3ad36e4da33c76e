"""Timers indexed while a restore reads the changelog (CatchUpTimers) against the rebuild that
reads the table back: the same index, and handed out only while it still describes the table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from vitals.core.state import CustomerState
from vitals.scorer.timers import CatchUpTimers, TimerIndex, rebuild_timers


@dataclass(frozen=True)
class Record:
    key: bytes
    value: bytes | None
    offset: int


class Tables:
    """Each partition's database, applying changelog records as the restore does."""

    def __init__(self) -> None:
        self.dbs: dict[int, dict[bytes, bytes]] = {}
        self.offsets: dict[int, int] = {}

    def apply(self, partition: int, records: list[Record]) -> None:
        db = self.dbs.setdefault(partition, {})
        for record in records:
            if record.value is None:
                db.pop(record.key, None)
            else:
                db[record.key] = record.value
        self.offsets[partition] = records[-1].offset

    def items(self, partition: int) -> Iterator[tuple[bytes, bytes]]:
        yield from sorted(self.dbs.get(partition, {}).items())

    def persisted(self, partition: int) -> int | None:
        return self.offsets.get(partition)


def stored(cid: str, due: float) -> bytes:
    return CustomerState(cid, position=[0, 1, 0], events=1, next_check_ts=due).to_bytes()


def restore(
    tables: Tables, timers: CatchUpTimers, partition: int, pages: list[list[Record]]
) -> None:
    """What PartitionedTable.restore tells its listener, around the same writes."""
    persisted = tables.persisted(partition)
    timers.begin(partition, persisted, persisted is None and not tables.dbs.get(partition))
    for page in pages:
        tables.apply(partition, page)
        timers.records(partition, page)
    timers.end(partition, tables.persisted(partition))


def everything_due(index: TimerIndex, partition: int) -> list[tuple[str, float]]:
    return index.pop_due(partition, float("inf"), 1_000_000)


def same_index(tables: Tables, timers: CatchUpTimers, partition: int) -> None:
    prebuilt = timers.ready(partition, tables.persisted(partition))
    assert prebuilt is not None
    from_restore = rebuild_timers(tables, [partition], prebuilt={partition: prebuilt})
    from_table = rebuild_timers(tables, [partition])
    assert from_restore is not None and from_table is not None
    assert len(from_restore) == len(from_table)
    assert everything_due(from_restore, partition) == everything_due(from_table, partition)


# A changelog: keys overwritten, deleted (None), some states with no timer (0.0).
changelogs = st.lists(
    st.tuples(
        st.sampled_from([f"c{i}" for i in range(12)]),
        st.none() | st.sampled_from([0.0, 5.0, 7.5, 1_767_225_600.25, 2.0**40]),
    ),
    min_size=1,
    max_size=60,
)


def pages_of(
    changes: list[tuple[str, float | None]], size: int, first: int = 0
) -> list[list[Record]]:
    records = [
        Record(cid.encode(), None if due is None else stored(cid, due), first + n)
        for n, (cid, due) in enumerate(changes)
    ]
    return [records[i : i + size] for i in range(0, len(records), size)]


@given(changelogs, st.integers(1, 7))
def test_index_from_the_restored_records_equals_the_rebuild_from_the_table(
    changes: list[tuple[str, float | None]], page: int
) -> None:
    tables, timers = Tables(), CatchUpTimers()
    restore(tables, timers, 3, pages_of(changes, page))
    same_index(tables, timers, 3)


@given(changelogs, changelogs)
def test_a_later_restore_continues_an_index_still_at_its_offset(
    first: list[tuple[str, float | None]], second: list[tuple[str, float | None]]
) -> None:
    tables, timers = Tables(), CatchUpTimers()
    restore(tables, timers, 0, pages_of(first, 5))
    restore(tables, timers, 0, [])  # a second rebalance with nothing new to read
    restore(tables, timers, 0, pages_of(second, 4, first=len(first)))
    same_index(tables, timers, 0)


def test_a_restore_into_a_table_that_held_states_indexes_nothing() -> None:
    tables, timers = Tables(), CatchUpTimers()
    tables.apply(1, [Record(b"a", stored("a", 10.0), 4)])  # e.g. the local datadir, kept
    restore(tables, timers, 1, pages_of([("b", 20.0)], 10, first=5))
    assert timers.ready(1, tables.persisted(1)) is None


def test_records_applied_after_the_restore_make_the_index_stale() -> None:
    tables, timers = Tables(), CatchUpTimers()
    restore(tables, timers, 2, pages_of([("a", 10.0), ("b", 20.0)], 10))
    tables.apply(2, [Record(b"a", stored("a", 99.0), 2)])  # e.g. by Faust's own recovery
    assert timers.ready(2, tables.persisted(2)) is None
    # Forgotten, not merely refused: the old offset does not bring it back.
    assert timers.ready(2, 1) is None


def test_an_index_that_went_stale_is_not_continued_by_the_next_restore() -> None:
    tables, timers = Tables(), CatchUpTimers()
    restore(tables, timers, 2, pages_of([("a", 10.0)], 10))
    tables.apply(2, [Record(b"a", stored("a", 99.0), 1)])  # the scorer's own write
    restore(tables, timers, 2, pages_of([("b", 20.0)], 10, first=2))
    assert timers.ready(2, tables.persisted(2)) is None


def test_a_restore_that_never_ended_hands_out_nothing() -> None:
    tables, timers = Tables(), CatchUpTimers()
    timers.begin(0, None, True)
    page = pages_of([("a", 10.0)], 10)[0]
    tables.apply(0, page)
    timers.records(0, page)  # failed here: no end
    assert timers.ready(0, tables.persisted(0)) is None


def test_forget_drops_a_finished_index() -> None:
    tables, timers = Tables(), CatchUpTimers()
    restore(tables, timers, 0, pages_of([("a", 10.0)], 10))
    restore(tables, timers, 1, pages_of([("b", 10.0)], 10))
    timers.forget([0])
    assert timers.ready(0, tables.persisted(0)) is None
    assert timers.ready(1, tables.persisted(1)) is not None


def test_an_empty_changelog_gives_an_empty_index_for_an_empty_table() -> None:
    tables, timers = Tables(), CatchUpTimers()
    restore(tables, timers, 5, [])
    assert timers.ready(5, None) == {}
