"""A batch that keeps failing as a whole is folded record by record (the growth worker's last
resort): the record that cannot be folded is left out and named, the others are kept exactly."""

from __future__ import annotations

import orjson

from vitals.growth.aggregate import Totals
from vitals.growth.config import GrowthConfig
from vitals.growth.processor import GrowthProcessor
from vitals.platform.partitioning import partition_for

from .factories import DAY, START, stamp

CONFIG = GrowthConfig()
PARTITIONS = 4


class RefusesOne(dict[bytes, bytes]):
    """A table whose store refuses one entity (a fault only that entity's records meet)."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused.encode()

    def __setitem__(self, key: bytes, value: bytes) -> None:
        if key == self.refused:
            raise OSError("store refused the write")
        super().__setitem__(key, value)


def record(index: int, entity: str, ts: float) -> tuple[int, bytes]:
    event = {
        "event_id": f"e{index}",
        "customer_id": entity,
        "type": "lead",
        "name": "created",
        "timestamp": stamp(ts),
    }
    return partition_for(entity, PARTITIONS), orjson.dumps(event)


def test_one_record_that_cannot_be_folded_costs_that_record_not_the_batch() -> None:
    entities = ["a", "b", "poison", "c"]
    batch = [record(i, e, START + i * DAY) for i, e in enumerate(entities)]
    processor = GrowthProcessor(RefusesOne("poison"), CONFIG, PARTITIONS, clock=lambda: 0.0)

    snapshots, failed = processor.process_each(batch)

    assert failed == [2]
    projection, expected = Totals(), Totals()
    for snap in snapshots:
        projection.apply_snapshot(snap)
    healthy = [rec for i, rec in enumerate(batch) if i != 2]
    for snap in GrowthProcessor({}, CONFIG, PARTITIONS, clock=lambda: 0.0).process(healthy):
        expected.apply_snapshot(snap)
    assert projection.metrics == expected.metrics
    assert set(projection.entities) == {"a", "b", "c"}
    assert set(processor.table) == {b"a", b"b", b"c"}
