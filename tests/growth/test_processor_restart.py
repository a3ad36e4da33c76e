"""A growth worker replaced after a crash: the first folded a batch and published it, then died
before its table reached the changelog; the replacement re-reads the same records one at a time
(other batches) and goes on. Its later snapshots must win in the projection: a snapshot version
must not depend on where batches ended, or the projection keeps the dead worker's
higher-numbered snapshot of older facts for good (test_processor_bruteforce.py generates such
cases; this is the smallest one, written out)."""

from __future__ import annotations

import orjson

from vitals.core.events import parse_event
from vitals.growth.aggregate import Totals
from vitals.growth.config import GrowthConfig
from vitals.growth.processor import GrowthProcessor
from vitals.platform.partitioning import partition_for

from .factories import DAY, START, stamp

CONFIG = GrowthConfig()
PARTITIONS = 4
ENTITY = "acme"


def record(index: int, kind: str, ts: float, **fields: object) -> tuple[int, bytes]:
    event = {"event_id": f"e{index}", "customer_id": ENTITY, "type": kind, "timestamp": stamp(ts)}
    parse_event({**event, **fields})  # a valid event
    return partition_for(ENTITY, PARTITIONS), orjson.dumps({**event, **fields})


def test_the_replacements_snapshots_win_over_the_dead_workers() -> None:
    started = record(0, "subscription", START, name="started", amount=50.0)
    usage = [record(i, "usage", START + i * 3600, name="login") for i in range(1, 11)]
    invited = record(11, "referral", START + 40 * DAY, name="invite_sent")  # AARRR referral
    projection = Totals()

    first = GrowthProcessor({}, CONFIG, PARTITIONS, clock=lambda: 0.0)
    for snap in first.process([started, *usage]):  # one batch, published, then killed
        projection.apply_snapshot(snap)

    second = GrowthProcessor({}, CONFIG, PARTITIONS, clock=lambda: 0.0)  # nothing restored
    expected = Totals()
    for rec in [started, *usage, invited]:
        for snap in second.process([rec]):
            projection.apply_snapshot(snap)
            expected.apply_snapshot(snap)
    assert projection.metrics == expected.metrics
