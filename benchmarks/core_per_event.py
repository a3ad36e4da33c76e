"""Per-event cost of the pure scoring core, with a reference measured in the same run.

    .venv/bin/python benchmarks/core_per_event.py       # 1,000,000 events, ~20,000 customers
    .venv/bin/python benchmarks/core_per_event.py --events 200000 --profile 100000

Stages, each over the same synthetic stream (a mix of usage, purchases, subscriptions, support,
feedback and profile events; event time rising over a year with in-window jitter):
  (a) parse   ``events.parse_event`` from a decoded dict (what ingest and the scorer pay per record)
  (b) fold    ``fold.apply_event`` into a per-customer state dict (events pre-parsed)
  (c) fold+eval  (b) plus ``snapshot.evaluate`` of every customer changed in each envelope of
              ``--envelope`` events (the scorer's pattern: fold a batch, publish changed snapshots)
  (d) reference  a plain ``dict`` update per event: the cost floor of touching each event in Python
Figures are µs/event and a ratio to (d), so runs on a noisy shared machine can be compared.
``--profile N`` runs cProfile over stage (c) on the first N events and prints the top costs.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from vitals.core.config import DEFAULT_CONFIG
from vitals.core.events import Event, parse_event
from vitals.core.fold import apply_event
from vitals.core.params import DEFAULT_PARAMS
from vitals.core.snapshot import evaluate
from vitals.core.state import CustomerState

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_DAYS = 365.0
# Jitter stays well inside the 1-day allowed lateness, so nearly every event is applied, not late.
JITTER_DAYS = 0.2
FEATURES = [f"feature.{i}" for i in range(40)]
SUBSCRIPTION_NAMES = ["renewed"] * 6 + [
    "upgraded",
    "downgraded",
    "payment_failed",
    "cancellation_requested",
]
# The scorer folds a batch of this many records, then publishes the changed customers' snapshots.
ENVELOPE = 250


def generate(n_events: int, n_customers: int, seed: int) -> list[dict[str, Any]]:
    """Decoded JSON events in roughly rising event time; activity skewed to a few busy customers."""
    rng = random.Random(seed)
    kinds = ["usage", "purchase", "subscription", "support", "feedback", "profile"]
    weights = [80, 8, 5, 3, 2, 2]
    stamps: dict[int, str] = {}
    out: list[dict[str, Any]] = []
    for i in range(n_events):
        # Squaring a uniform skews traffic towards low customer numbers (heavy users).
        customer = int(n_customers * rng.random() ** 2)
        second = int((SPAN_DAYS * i / n_events + rng.uniform(0, JITTER_DAYS)) * 86_400)
        stamp = stamps.get(second)
        if stamp is None:
            stamp = (T0 + timedelta(seconds=second)).isoformat().replace("+00:00", "Z")
            if len(stamps) < 200_000:
                stamps[second] = stamp
        kind = rng.choices(kinds, weights)[0]
        raw: dict[str, Any] = {
            "event_id": f"ev-{i}",
            "customer_id": f"cust-{customer}",
            "type": kind,
            "timestamp": stamp,
        }
        if kind == "usage":
            raw["name"] = FEATURES[int(len(FEATURES) * rng.random() ** 1.5)]
            raw["user_id"] = f"u{customer}-{rng.randrange(12)}"
        elif kind == "purchase":
            raw["amount"] = round(rng.uniform(5.0, 400.0), 2)
            raw["currency"] = "EUR"
        elif kind == "subscription":
            name = "started" if rng.random() < 0.2 else rng.choice(SUBSCRIPTION_NAMES)
            raw["name"] = name
            raw["amount"] = 99.0
        elif kind == "support":
            raw["name"] = rng.choice(["ticket_opened", "ticket_closed", "ticket_escalated"])
        elif kind == "feedback":
            raw["name"] = "nps"
            raw["score"] = float(rng.randrange(11))
        else:
            raw["properties"] = {"plan": rng.choice(["team", "pro"]), "seats": rng.randrange(1, 50)}
        out.append(raw)
    return out


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    extra = fn()
    return time.perf_counter() - start, extra


def stage_parse(raws: list[dict[str, Any]]) -> tuple[float, list[Event]]:
    parsed: list[Event] = []
    append = parsed.append
    start = time.perf_counter()
    for raw in raws:
        append(parse_event(raw))
    return time.perf_counter() - start, parsed


def stage_reference(events: list[Event]) -> int:
    counts: dict[str, int] = {}
    for event in events:
        counts[event.customer_id] = counts.get(event.customer_id, 0) + 1
    return len(counts)


def stage_fold(events: list[Event]) -> int:
    states: dict[str, CustomerState] = {}
    config = DEFAULT_CONFIG
    applied = 0
    for event in events:
        state = states.get(event.customer_id)
        if state is None:
            state = states[event.customer_id] = CustomerState(event.customer_id)
        applied += apply_event(state, event, config) == "applied"
    return applied


def stage_fold_and_evaluate(events: list[Event], envelope: int = ENVELOPE) -> int:
    """Returns the number of snapshot evaluations."""
    states: dict[str, CustomerState] = {}
    config, params = DEFAULT_CONFIG, DEFAULT_PARAMS
    watermark = 0.0
    changed: set[str] = set()
    evaluations = 0
    for i, event in enumerate(events, start=1):
        state = states.get(event.customer_id)
        if state is None:
            state = states[event.customer_id] = CustomerState(event.customer_id)
        if apply_event(state, event, config) == "applied":
            changed.add(event.customer_id)
            watermark = max(watermark, event.ts)
        if i % envelope == 0 or i == len(events):
            for customer in changed:
                evaluate(states[customer], watermark, params, config)
            evaluations += len(changed)
            changed.clear()
    return evaluations


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--envelope", type=int, default=ENVELOPE)
    parser.add_argument("--eval-events", type=int, default=0, help="events for stage (c); 0 = all")
    parser.add_argument("--profile", type=int, default=0, help="cProfile stage (c) over N events")
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()

    t0 = time.perf_counter()
    raws = generate(args.events, args.customers, args.seed)
    print(
        f"generated {len(raws):,} events for {args.customers:,} customers "
        f"in {time.perf_counter() - t0:.1f}s"
    )

    parse_s, events = stage_parse(raws)
    del raws
    # The stream itself is long-lived input, not scorer state: keep the cyclic GC from rescanning
    # a million Event objects on every collection (the live scorer never holds the stream).
    gc.collect()
    gc.freeze()

    ref_s, n_customers = timed(lambda: stage_reference(events))
    fold_s, applied = timed(lambda: stage_fold(events))
    eval_events = events[: args.eval_events] if args.eval_events else events
    eval_s, evaluations = timed(lambda: stage_fold_and_evaluate(eval_events, args.envelope))

    n, ref_us = len(events), ref_s / len(events) * 1e6
    rows = [
        ("(a) parse_event (dict -> Event)", n, parse_s),
        ("(b) fold.apply_event", n, fold_s),
        (f"(c) fold + evaluate changed / {args.envelope}", len(eval_events), eval_s),
        ("(d) reference: dict update", n, ref_s),
    ]
    print(
        f"\n{n_customers:,} customers seen; {applied:,} of {n:,} events applied "
        f"({n - applied:,} late/duplicate); stage (c): {evaluations:,} evaluations "
        f"({evaluations / len(eval_events):.2f} per event)\n"
    )
    print(f"{'stage':<40} {'events':>10} {'total s':>9} {'µs/event':>9} {'× ref':>8}")
    for label, count, seconds in rows:
        us = seconds / count * 1e6
        print(f"{label:<40} {count:>10,} {seconds:>9.2f} {us:>9.2f} {us / ref_us:>8.1f}")
    fold_us = fold_s / n * 1e6
    per_eval = (eval_s / len(eval_events) * 1e6 - fold_us) * len(eval_events) / max(1, evaluations)
    print(f"\nsnapshot.evaluate ≈ {per_eval:.1f} µs per call (c minus b, per evaluation)")

    if args.profile:
        sample = events[: args.profile]
        for label, run in (
            ("(b) fold", lambda: stage_fold(sample)),
            ("(c) fold + evaluate", lambda: stage_fold_and_evaluate(sample, args.envelope)),
        ):
            profiler = cProfile.Profile()
            profiler.enable()
            run()
            profiler.disable()
            for order in ("tottime", "cumulative"):
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(12)
                print(f"\ncProfile of stage {label} over {len(sample):,} events, by {order}:")
                print(out.getvalue().split("ncalls", 1)[-1].join(["ncalls", ""]))


if __name__ == "__main__":
    main()
