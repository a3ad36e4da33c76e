"""The scorer's record processing, without a broker: decode, fold, dead-letter, snapshot."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from vitals.core.config import DEFAULT_CONFIG
from vitals.core.params import DEFAULT_PARAMS
from vitals.platform.partitioning import partition_for
from vitals.scorer.processor import RecordProcessor, SourceRecord
from vitals.scorer.records import MAX_DEAD_PAYLOAD_BYTES
from vitals.scorer.store import MemoryStore

PARTITIONS = 8


def make_processor(store: MemoryStore, clock_now: float = 1_800_000_000.0) -> RecordProcessor:
    return RecordProcessor(
        store=store,
        config=DEFAULT_CONFIG,
        params=lambda: DEFAULT_PARAMS,
        partitions=PARTITIONS,
        clock="wall",
        now=lambda partition: clock_now,
        wall=lambda: clock_now,
    )


def usage(event_id: str, customer_id: str, day: int = 1) -> dict[str, object]:
    return {
        "event_id": event_id,
        "customer_id": customer_id,
        "type": "usage",
        "name": "report.exported",
        "timestamp": f"2026-11-{day:02d}T10:00:00Z",
    }


def record(value: object, customer_id: str, offset: int, raw: bytes | None = None) -> SourceRecord:
    return SourceRecord(
        topic="events",
        partition=partition_for(customer_id, PARTITIONS),
        offset=offset,
        key=customer_id.encode(),
        value=raw if raw is not None else orjson.dumps(value),
    )


def test_single_event_record_is_folded_and_scored() -> None:
    store = MemoryStore()
    out = make_processor(store).process([record(usage("e1", "acme"), "acme", 0)])
    assert store.states["acme"].usage_events == 1
    [(key, value)] = out.snapshots
    assert key == b"acme"
    snapshot = orjson.loads(value)
    assert snapshot["customer_id"] == "acme"
    assert snapshot["stats"]["usage_events"] == 1
    assert out.dead == []


def test_envelope_scores_each_customer_once() -> None:
    store = MemoryStore()
    # Customers that hash to the same partition can share an envelope.
    target = partition_for("c-0", PARTITIONS)
    same = [f"c-{i}" for i in range(200) if partition_for(f"c-{i}", PARTITIONS) == target][:3]
    events = [usage(f"{cid}-{n}", cid, day=1 + n) for cid in same for n in range(4)]
    out = make_processor(store).process([record({"events": events}, same[0], 7)])
    assert sorted(k.decode() for k, _ in out.snapshots) == sorted(same)
    assert all(store.states[cid].usage_events == 4 for cid in same)


def test_reprocessing_the_same_record_changes_nothing() -> None:
    store = MemoryStore()
    processor = make_processor(store)
    rec = record(usage("e1", "acme"), "acme", 42)
    processor.process([rec])
    before = store.states["acme"].to_bytes()
    out = processor.process([rec])
    assert store.states["acme"].to_bytes() == before
    assert out.snapshots == []


def test_resent_event_id_at_a_new_offset_counts_once() -> None:
    store = MemoryStore()
    processor = make_processor(store)
    processor.process([record(usage("e1", "acme"), "acme", 1)])
    processor.process([record(usage("e1", "acme"), "acme", 2)])
    state = store.states["acme"]
    assert (state.usage_events, state.duplicates) == (1, 1)


@pytest.mark.parametrize(
    ("raw", "reason_start"),
    [
        (b"{not json", "not JSON"),
        (orjson.dumps({"customer_id": "acme"}), "event_id: required"),
        (orjson.dumps({"events": "nope"}), "envelope"),
    ],
)
def test_bad_records_go_to_dead_letters_with_the_reason(raw: bytes, reason_start: str) -> None:
    out = make_processor(MemoryStore()).process([record(None, "acme", 5, raw=raw)])
    [(_key, value)] = out.dead
    letter = orjson.loads(value)
    assert letter["reason"].startswith(reason_start)
    assert letter["source"]["offset"] == 5
    assert out.snapshots == []


def test_event_on_the_wrong_partition_is_dead_lettered() -> None:
    wrong = (partition_for("acme", PARTITIONS) + 1) % PARTITIONS
    rec = SourceRecord("events", wrong, 0, b"acme", orjson.dumps(usage("e1", "acme")))
    out = make_processor(MemoryStore()).process([rec])
    assert "belongs on partition" in orjson.loads(out.dead[0][1])["reason"]


def test_late_event_is_dead_lettered_and_counted_not_applied() -> None:
    store = MemoryStore()
    processor = make_processor(store)
    processor.process([record(usage("new", "acme", day=20), "acme", 1)])
    out = processor.process([record(usage("old", "acme", day=2), "acme", 2)])
    state = store.states["acme"]
    assert (state.usage_events, state.late_events) == (1, 1)
    assert orjson.loads(out.dead[0][1])["reason"].startswith("late:")


def test_good_events_in_an_envelope_survive_a_bad_neighbour() -> None:
    store = MemoryStore()
    envelope = {"events": [usage("e1", "acme"), {"bad": True}, usage("e2", "acme", day=2)]}
    out = make_processor(store).process([record(envelope, "acme", 0)])
    assert store.states["acme"].usage_events == 2
    assert [orjson.loads(v)["source"]["index"] for _, v in out.dead] == [1]


def test_stream_clock_timers_fire_at_their_due_time_inside_a_long_batch() -> None:
    """One batch spanning 60 days of a partition's events: the quiet neighbour is alerted at its
    predicted crossing, on the state it had then, not at the end of the batch."""
    processor = _stream_processor(MemoryStore())
    quiet = "quiet-co"
    target = partition_for(quiet, PARTITIONS)
    busy = next(
        f"busy-{i}" for i in range(1000) if partition_for(f"busy-{i}", PARTITIONS) == target
    )
    day, t0 = 86_400.0, 1_767_225_600.0
    events = [(t0 + d * day, quiet) for d in range(35)] + [
        (t0 + h * 3600.0, busy) for h in range(60 * 24)
    ]
    events.sort()
    records = []
    for offset, (ts, cid) in enumerate(events):
        event = {
            "event_id": f"{cid}-{offset}",
            "customer_id": cid,
            "type": "usage",
            "name": "x",
            "timestamp": datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z"),
        }
        records.append(SourceRecord("events", target, offset, cid.encode(), orjson.dumps(event)))
    processor.process(records[:40])  # a first batch schedules the quiet customer's timers
    out = processor.process(records[40:])
    alerts = [orjson.loads(v) for _, v in out.alerts]
    gone = [a for a in alerts if a["customer_id"] == quiet and a["rule"] == "gone_quiet"]
    assert len(gone) == 1
    last_usage = t0 + 34 * day
    assert gone[0]["predicted_at_ts"] == pytest.approx(last_usage + 10 * day, abs=2.0)
    assert gone[0]["raised_at_ts"] == gone[0]["predicted_at_ts"]


def _stream_processor(store: MemoryStore) -> RecordProcessor:
    """The stream clock as the live scorer keeps it (the partition's latest event time), on a
    replay of history: the wall clock is years past the events (it only bounds how far ahead an
    event may be stamped)."""
    processor = RecordProcessor(
        store=store,
        config=DEFAULT_CONFIG,
        params=lambda: DEFAULT_PARAMS,
        partitions=PARTITIONS,
        clock="stream",
        now=lambda p: processor.watermarks.get(p, 0.0),
        wall=lambda: 1_800_000_000.0,
    )
    return processor


def _usage_at(event_id: str, customer_id: str, ts: float) -> dict[str, object]:
    stamp = datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
    return {**usage(event_id, customer_id), "timestamp": stamp}


def test_stream_clock_scores_a_changed_customer_once_per_segment_of_event_time() -> None:
    """Records spanning more than STREAM_SEGMENT_SPAN_S of event time are scored in segments: a
    segment starts at its first record's earliest event and ends before the first record whose
    latest event is more than the span after that start; an envelope belongs to one segment."""
    t0, minute = 1_767_225_600.0, 60.0
    records = [
        record(_usage_at("a", "acme", t0), "acme", 0),
        record(_usage_at("b", "acme", t0 + 30 * minute), "acme", 1),
        # An envelope from t0 + 50 min to t0 + 59 min: still within the hour of the first segment.
        record(
            {"events": [_usage_at("c", "acme", t0 + 59 * minute), _usage_at("d", "acme", t0)]},
            "acme",
            2,
        ),
        # Latest event 61 min after the segment's start: a new segment, from its earliest event.
        record(
            {
                "events": [
                    _usage_at("e", "acme", t0 + 61 * minute),
                    _usage_at("f", "acme", t0 + 50 * minute),
                ]
            },
            "acme",
            3,
        ),
        record(_usage_at("g", "acme", t0 + 109 * minute), "acme", 4),  # within the hour of t0+50
        record(_usage_at("h", "acme", t0 + 111 * minute), "acme", 5),  # past it: a third segment
    ]
    out = _stream_processor(MemoryStore()).process(records)
    as_of = [orjson.loads(value)["as_of_ts"] for _, value in out.snapshots]
    assert as_of == [t0 + 59 * minute, t0 + 109 * minute, t0 + 111 * minute]
    assert [orjson.loads(v)["stats"]["usage_events"] for _, v in out.snapshots] == [4, 7, 8]


def test_a_huge_rejected_event_leaves_a_small_dead_letter() -> None:
    # Near the broker's 1 MiB limit: the whole payload in the letter would be too large to send.
    huge = orjson.dumps({**usage("e1", "acme"), "name": "x" * 1_000_000})
    out = make_processor(MemoryStore()).process([record(None, "acme", 3, raw=huge)])
    [(_key, value)] = out.dead
    letter = orjson.loads(value)
    assert len(value) < MAX_DEAD_PAYLOAD_BYTES + 4096
    assert letter["payload_truncated"] is True
    assert letter["payload"].startswith('{"event_id":"e1"')
    assert letter["reason"].startswith("name")
    small = make_processor(MemoryStore()).process([record(None, "acme", 4, raw=b"{not json")])
    assert "payload_truncated" not in orjson.loads(small.dead[0][1])
