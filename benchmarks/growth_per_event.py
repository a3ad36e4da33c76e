"""Per-event cost the growth fold adds to the scorer, against the scoring core in the same run.

    .venv/bin/python benchmarks/growth_per_event.py                 # 200,000 events
    .venv/bin/python benchmarks/growth_per_event.py --events 50000

Over one synthetic stream (core_per_event.generate: usage, purchases, subscriptions, support,
feedback, profile; plus ``--lead-share`` of lead, referral and experiment events):
  (a) parse          ``parse_event`` of every decoded dict (the growth agent parses each record
                     again: it is a separate consumer)
  (b) growth         growth fold + facts of every entity changed per envelope (events pre-parsed),
                     what GrowthProcessor does between the table reads and the Redis write
  (c) core           ``fold.apply_event`` + ``snapshot.evaluate`` per changed customer per envelope
                     (core_per_event's stage c): the scorer's own per-event work
Figures: µs/event, and (a)+(b) as a share of (c).
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import time
from pathlib import Path
from typing import Any

from vitals.core.config import DEFAULT_CONFIG
from vitals.core.events import Event, parse_event
from vitals.core.fold import apply_event
from vitals.core.params import DEFAULT_PARAMS
from vitals.core.snapshot import evaluate
from vitals.core.state import CustomerState
from vitals.growth.config import DEFAULT_GROWTH
from vitals.growth.fold import apply_growth_event
from vitals.growth.processor import snapshot_of
from vitals.growth.state import GrowthState

_spec = importlib.util.spec_from_file_location(
    "core_per_event", Path(__file__).with_name("core_per_event.py")
)
assert _spec is not None and _spec.loader is not None
core_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(core_bench)
ENVELOPE = core_bench.ENVELOPE


def with_leads(events: list[dict[str, Any]], share: float, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i, event in enumerate(events):
        if rng.random() < share:
            event = {k: v for k, v in event.items() if k in ("customer_id", "timestamp")}
            event["event_id"] = f"lead-{i}"
            kind = rng.choice(["lead", "lead", "referral", "experiment"])
            event["type"] = kind
            if kind == "lead":
                event["name"] = "engaged"
                event["properties"] = {"tags": ["pricing-page"]}
            elif kind == "referral":
                event["name"] = "invite_sent"
            else:
                event["name"] = "assigned"
                event["properties"] = {"experiment": "x", "arm": rng.choice(["a", "b"])}
        out.append(event)
    return out


def timed(label: str, fn: Any, n: int) -> float:
    started = time.perf_counter()
    fn()
    per = (time.perf_counter() - started) / n * 1e6
    print(f"  {label:<34} {per:8.2f} µs/event")
    return per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=4_000)
    parser.add_argument("--lead-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    raw = with_leads(
        core_bench.generate(args.events, args.customers, args.seed), args.lead_share, 1
    )
    n = len(raw)
    print(f"{n:,} events, {args.customers:,} customers, envelopes of {ENVELOPE}")
    parsed: list[Event] = []
    parse_us = timed("(a) parse", lambda: parsed.extend(parse_event(e) for e in raw), n)

    growth_states: dict[str, GrowthState] = {}

    def growth() -> None:
        for lo in range(0, n, ENVELOPE):
            changed = set()
            # Every type is folded (first/last seen), as GrowthProcessor does.
            for event in parsed[lo : lo + ENVELOPE]:
                state = growth_states.get(event.customer_id)
                if state is None:
                    state = growth_states[event.customer_id] = GrowthState(event.customer_id)
                if apply_growth_event(state, event, DEFAULT_GROWTH) == "changed":
                    changed.add(event.customer_id)
            for cid in changed:
                state = growth_states[cid]
                state.to_bytes()
                snapshot_of(state, DEFAULT_GROWTH)

    core_states: dict[str, CustomerState] = {}

    def core() -> None:
        for lo in range(0, n, ENVELOPE):
            changed = set()
            for event in parsed[lo : lo + ENVELOPE]:
                if event.type in ("lead", "referral", "experiment"):
                    continue
                state = core_states.get(event.customer_id)
                if state is None:
                    state = core_states[event.customer_id] = CustomerState(event.customer_id)
                apply_event(state, event, DEFAULT_CONFIG)
                changed.add(event.customer_id)
            for cid in changed:
                state = core_states[cid]
                evaluate(state, state.last_ts, DEFAULT_PARAMS, DEFAULT_CONFIG, "stream")

    growth_us = timed("(b) growth fold + facts", growth, n)
    core_us = timed("(c) core fold + evaluate", core, n)
    print(f"  growth adds (a)+(b) = {parse_us + growth_us:.2f} µs/event")
    print(
        f"  = {(parse_us + growth_us) / core_us:.0%} of the core's (c), "
        f"{growth_us / core_us:.0%} without the second parse"
    )


if __name__ == "__main__":
    main()
