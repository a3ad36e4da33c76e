"""Alert fatigue on synthetic data: alerts per customer per week, by rule, and the hygiene used.

Runs the scorer's own record processor (fold, timers, rules) offline over a simulated stream on the
stream clock, exactly as the live scorer would on `VITALS_CLOCK=stream`, and counts what it raises.

    .venv/bin/python benchmarks/alert_fatigue.py [--customers 400] [--days 180] [--seed 5]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime

import orjson

from vitals.core.config import DEFAULT_CONFIG
from vitals.core.params import DEFAULT_PARAMS
from vitals.platform.partitioning import partition_for
from vitals.scorer.processor import RecordProcessor, SourceRecord
from vitals.scorer.store import MemoryStore
from vitals.tools.sim.generator import simulate

PARTITIONS = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    sim = simulate(
        args.customers, datetime(2026, 1, 1, tzinfo=UTC), args.days, seed=args.seed, kind="mixed"
    )
    events = list(sim.events)
    store = MemoryStore()
    watermarks: dict[int, float] = {}
    processor = RecordProcessor(
        store=store,
        config=DEFAULT_CONFIG,
        params=lambda: DEFAULT_PARAMS,
        partitions=PARTITIONS,
        clock="stream",
        now=lambda p: watermarks.get(p, 0.0),
        wall=time.time,
    )
    by_rule: Counter[str] = Counter()
    by_customer: Counter[str] = Counter()
    offsets: Counter[int] = Counter()
    timers = 0
    started = time.perf_counter()
    for event in events:
        partition = partition_for(event["customer_id"], PARTITIONS)
        record = SourceRecord(
            "events",
            partition,
            offsets[partition],
            event["customer_id"].encode(),
            orjson.dumps(event),
        )
        offsets[partition] += 1
        # The stream clock is the partition's latest event time (as in the live scorer).
        ts = datetime.fromisoformat(event["timestamp"]).timestamp()
        watermarks[partition] = max(watermarks.get(partition, 0.0), ts)
        out = processor.process([record])
        timers += out.timers_fired
        for _, value in out.alerts:
            alert = orjson.loads(value)
            by_rule[alert["rule"]] += 1
            by_customer[alert["customer_id"]] += 1
    elapsed = time.perf_counter() - started

    weeks = args.days / 7.0
    customers = len(store.states)
    total = sum(by_rule.values())
    print(
        f"{len(events):,} events, {customers} customers, {args.days} days, {elapsed:.1f} s "
        f"({1e6 * elapsed / len(events):.0f} µs/event incl. timers and rules); "
        f"{timers:,} timers fired"
    )
    print(f"alerts: {total:,} = {total / customers / weeks:.3f} per customer per week")
    alerted = [by_customer[c] for c in store.states]
    print(
        f"customers with no alert: {sum(1 for n in alerted if n == 0)} of {customers}; "
        f"max per customer: {max(alerted)} ({max(alerted) / weeks:.2f}/week)"
    )
    print("\nper rule (per customer per week):")
    for rule, count in by_rule.most_common():
        print(f"  {rule:24s} {count:6d}  {count / customers / weeks:.4f}")
    print("\nhygiene settings:", asdict(DEFAULT_CONFIG.alerts))


if __name__ == "__main__":
    main()
