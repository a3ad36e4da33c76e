"""Growth events and the scorer: the customer fold leaves them to the growth processor, which
folds them into its own table and publishes snapshots only when a fact may change."""

from __future__ import annotations

from test_processor import PARTITIONS, make_processor, record, usage

from vitals.growth.config import DEFAULT_GROWTH
from vitals.growth.processor import GrowthProcessor
from vitals.growth.state import GrowthState
from vitals.scorer.store import MemoryStore


def lead(event_id: str, cid: str, name: str = "engaged", day: int = 1) -> dict[str, object]:
    return {
        "event_id": event_id,
        "customer_id": cid,
        "type": "lead",
        "name": name,
        "timestamp": f"2026-11-{day:02d}T10:00:00Z",
        "properties": {"tags": ["demo-request"]},
    }


def test_lead_events_create_no_customer_score() -> None:
    store = MemoryStore()
    out = make_processor(store).process([record(lead("l1", "lead-1"), "lead-1", 0)])
    assert "lead-1" not in store.states
    assert out.snapshots == [] and out.dead == []


def test_growth_processor_folds_into_its_own_table_and_skips_quiet_repeats() -> None:
    table: dict[bytes, bytes] = {}
    now = [0.0]
    processor = GrowthProcessor(table, DEFAULT_GROWTH, PARTITIONS, clock=lambda: now[0])
    now[0] = 1_000.0  # past the start-up heal window
    first = record(lead("l1", "lead-1"), "lead-1", 0)
    sql = {**lead("l2", "lead-1", "stage_changed", day=2), "properties": {"stage": "sql"}}
    again = record(sql, "lead-1", 1)
    [snap] = processor.process([(first.partition, first.value)])
    assert snap.entity == "lead-1" and snap.facts
    assert GrowthState.from_bytes(table[b"lead-1"]).version == snap.version
    # The same record redelivered: nothing changed, nothing published ...
    assert processor.process([(first.partition, first.value)]) == []
    # ... unless inside the heal window after a recovery.
    processor.heal()
    now[0] += 1.0
    [healed] = processor.process([(first.partition, first.value)])
    assert healed == snap
    now[0] += 10_000.0
    [moved] = processor.process([(again.partition, again.value)])
    assert moved.version == snap.version + 1


def test_usage_after_becoming_a_customer_publishes_nothing_new() -> None:
    table: dict[bytes, bytes] = {}
    processor = GrowthProcessor(table, DEFAULT_GROWTH, PARTITIONS, clock=lambda: 1e9)
    processor._heal_until = 0.0
    bought = {
        "event_id": "p1",
        "customer_id": "acme",
        "type": "purchase",
        "amount": 50.0,
        "timestamp": "2026-11-01T09:00:00Z",
    }
    rec = record(bought, "acme", 0)
    assert len(processor.process([(rec.partition, rec.value)])) == 1
    login = {**usage("u1", "acme", day=2), "name": "login"}
    later = record(login, "acme", 1)
    # After the purchase a usage event changes no stage entry and passes no horizon: it moves
    # the last-seen times only, so the state is stored but nothing is published.
    assert processor.process([(later.partition, later.value)]) == []
    assert GrowthState.from_bytes(table[b"acme"]).last_usage_ts is not None
