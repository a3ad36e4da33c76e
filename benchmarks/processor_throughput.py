"""Throughput of ``RecordProcessor`` alone (no Kafka, no Faust), beside a raw loop, per step.

    .venv/bin/python benchmarks/processor_throughput.py                    # both workloads
    .venv/bin/python benchmarks/processor_throughput.py --workloads today  # 1,000 customers only
    .venv/bin/python benchmarks/processor_throughput.py --baseline /path/to/old/checkout

Workloads (``vitals.tools.sim.generator.simulate``, 30 days, seed 7):
  today:      1,000 customers, full usage volume (~100k events: the figure issue 10 started from)
  realistic:  200,000 customers, usage scaled to give >= 1M events (a 30-day month of a big tenant)
Each is cut into records exactly as ``vitals replay`` does (murmur2 partition of the customer id,
8 partitions): single-event records, and envelopes of 250 events of one partition. Records are
generated once and cached under --cache-dir, so a --baseline run reads the very same bytes.

Per workload and layout, in this process and this run:
  raw:        ``orjson.loads`` of every record value, counting events (the floor of touching each
              record in Python; best of RAW_REPEATS);
  processor:  ``RecordProcessor.process([record])`` per record (``--batch N``: N consecutive
              records split per partition, one call per partition, as the agent calls it), clock
              "stream", states kept as bytes in a dict behind ``TableStore`` (so every read and
              write pays the msgpack (de)serialisation a RocksDB table would).
Figures: events/s and the ratio to raw. With --steps (default on) a second processor pass runs
with every step wrapped in a timer: decode, fold, evaluate, next_check, rules, state
(de)serialisation, snapshot encoding; the table gives µs per event, per snapshot and the share of
the pass ("other" is the processor's own loop and bookkeeping). Each wrapper reads the thread CPU
clock twice (a system call: 0.3-1.5 µs each, depending on the machine's load), so the wrappers'
own cost is calibrated in the same run on a no-op and subtracted: from each step the part that
falls inside its span, from "other" the rest; the table shows the total subtracted.

``--baseline DIR`` runs the same benchmark, on the same cached records, against the package
sources of another checkout (e.g. ``git worktree add /tmp/base main``) in a child process, so a
before/after comparison is measured in one run on one (shared, noisy) machine.

``--compiled DIR`` (repeatable) runs it likewise against a mypyc-compiled tree of this checkout's
package (``benchmarks/build_compiled.py DIR`` builds one), before the pure run of this checkout.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

SIM_START = datetime(2025, 1, 1, tzinfo=UTC)
PARTITIONS = 8
ENVELOPE = 250
RAW_REPEATS = 3
# name -> (customers, days, usage_scale): realistic keeps >= 1M events over 200k customers.
WORKLOADS: dict[str, tuple[int, int, float]] = {
    "today": (1_000, 30, 1.0),
    "realistic": (200_000, 30, 0.03),
}
SEED = 7


@dataclass
class Records:
    """Record values per layout, in the order a consumer of all partitions would see them."""

    events: int
    customers: int
    layouts: dict[str, list[tuple[int, int, bytes, bytes]]] = field(default_factory=dict)


def build_records(name: str, cache_dir: Path) -> Records:
    customers, days, scale = WORKLOADS[name]
    # Plain data in the cache, not a Records: a pickled class is looked up in the module that
    # pickled it, which is __main__ here and another script (next_check_evaluations) there.
    path = cache_dir / f"records-v2-{name}-{customers}-{days}-{scale}-{SEED}.pickle"
    if path.exists():
        with path.open("rb") as f:
            events, count_of_customers, layouts = pickle.load(f)
        return Records(events, count_of_customers, layouts)
    try:
        from vitals.platform.partitioning import kafka_partition
        from vitals.tools.sim.generator import simulate
    except ImportError:  # a --baseline checkout from before the layout move (issue 9)
        from vitals.partitioning import kafka_partition  # type: ignore[no-redef]
        from vitals.sim.generator import simulate  # type: ignore[no-redef]

    started = time.perf_counter()
    sim = simulate(customers, SIM_START, days, SEED, usage_scale=scale)
    single: list[tuple[int, int, bytes, bytes]] = []
    envelopes: list[tuple[int, int, bytes, bytes]] = []
    offsets: Counter[int] = Counter()
    env_offsets: Counter[int] = Counter()
    buffers: dict[int, list[bytes]] = defaultdict(list)
    keys: dict[int, bytes] = {}
    count = 0
    for event in sim.iter_events():
        key = str(event["customer_id"]).encode()
        value = orjson.dumps(event)
        partition = kafka_partition(key, PARTITIONS)
        single.append((partition, offsets[partition], key, value))
        offsets[partition] += 1
        keys.setdefault(partition, key)
        buffers[partition].append(value)
        if len(buffers[partition]) >= ENVELOPE:
            body = b'{"events":[' + b",".join(buffers.pop(partition)) + b"]}"
            envelopes.append((partition, env_offsets[partition], keys.pop(partition), body))
            env_offsets[partition] += 1
        count += 1
    for partition, parts in buffers.items():
        body = b'{"events":[' + b",".join(parts) + b"]}"
        envelopes.append((partition, env_offsets[partition], keys[partition], body))
        env_offsets[partition] += 1
    records = Records(count, customers, {"single": single, f"envelope-{ENVELOPE}": envelopes})
    print(
        f"  simulated {name}: {count:,} events of {customers:,} customers over {days} days "
        f"(usage scale {scale}) in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pickle.dump(
            (records.events, records.customers, records.layouts),
            f,
            protocol=pickle.HIGHEST_PROTOCOL,
        )
    return records


def raw_pass(records: list[tuple[int, int, bytes, bytes]]) -> tuple[float, float]:
    """(wall s, CPU s) of orjson.loads over every record value."""
    loads = orjson.loads
    started, cpu = time.perf_counter(), time.process_time()
    events = 0
    for _, _, _, value in records:
        body = loads(value)
        events += len(body["events"]) if "events" in body else 1
    return time.perf_counter() - started, time.process_time() - cpu


def make_processor(table: dict[bytes, bytes]) -> Any:
    from vitals.core.config import DEFAULT_CONFIG
    from vitals.core.params import DEFAULT_PARAMS
    from vitals.scorer.processor import RecordProcessor
    from vitals.scorer.store import TableStore

    processor: Any = None

    def now(partition: int) -> float:
        return float(processor.watermarks.get(partition, 0.0))

    processor = RecordProcessor(
        store=TableStore(table),
        config=DEFAULT_CONFIG,
        params=lambda: DEFAULT_PARAMS,
        partitions=PARTITIONS,
        clock="stream",
        now=now,
        # A fixed wall clock past the simulated month: no event is "from the future".
        wall=lambda: SIM_START.timestamp() + 400 * 86_400.0,
    )
    return processor


def agent_batches(sources: list[Any], batch: int) -> list[list[Any]]:
    """The calls the Faust agent makes: ``batch`` consecutive records (its take_events size),
    split per partition in order of first appearance, one ``process`` call per partition."""
    calls: list[list[Any]] = []
    for start in range(0, len(sources), batch):
        groups: dict[int, list[Any]] = {}
        for source in sources[start : start + batch]:
            groups.setdefault(source.partition, []).append(source)
        calls.extend(groups.values())
    return calls


def processor_pass(
    records: list[tuple[int, int, bytes, bytes]], batch: int = 1
) -> tuple[float, float, int, int]:
    """(wall s, CPU s, snapshots, alerts) of the processor over the records, ``batch`` records
    per agent batch (1: one ``process`` call per record)."""
    from vitals.scorer.processor import SourceRecord

    table: dict[bytes, bytes] = {}
    processor = make_processor(table)
    sources = [SourceRecord("events", p, o, k, v) for p, o, k, v in records]
    calls = agent_batches(sources, batch)
    snapshots = alerts = 0
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    for call in calls:
        out = processor.process(call)
        snapshots += len(out.snapshots)
        alerts += len(out.alerts)
    return time.perf_counter() - started, time.process_time() - cpu, snapshots, alerts


# ---- per-step timing -------------------------------------------------------------------------

# (module, attribute, step): functions the processor calls through its module globals (or class
# methods), wrapped by a timer. Listed where present; a step missing from a version is skipped.
STEPS: list[tuple[str, str, str]] = [
    ("vitals.scorer.processor", "decode_record", "decode (orjson + validate)"),
    ("vitals.scorer.processor", "decode_records", "decode (orjson + validate)"),
    ("vitals.scorer.processor", "apply_event", "fold (apply_event)"),
    ("vitals.scorer.processor", "evaluate", "evaluate (snapshot)"),
    ("vitals.scorer.processor", "evaluate_many", "evaluate (snapshot)"),
    ("vitals.scorer.processor", "next_check", "next_check (timers)"),
    ("vitals.scorer.processor", "evaluate_rules", "alert rules"),
    ("vitals.scorer.processor", "encode_snapshot", "snapshot -> JSON bytes"),
    ("vitals.scorer.store", "CustomerState.from_bytes", "state from_bytes"),
    ("vitals.scorer.store", "CustomerState.to_bytes", "state to_bytes"),
]


CALIBRATION_CALLS = 200_000


class StepTimer:
    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._undo: list[Callable[[], None]] = []
        self._depth = 0
        # Wrapper cost per call (s): the part inside a step's span, and the part outside it.
        self.inside = self.outside = 0.0

    def calibrate(self) -> None:
        """Measure a wrapped no-op: what a wrapper adds to its step and to "other", per call."""
        probe = StepTimer()
        noop = probe.wrap(lambda: None, "noop")
        bare: Callable[[], None] = lambda: None  # noqa: E731
        rounds = []
        for _ in range(3):
            start = time.thread_time()
            for _ in range(CALIBRATION_CALLS):
                bare()
            base = time.thread_time() - start
            probe.seconds.clear()
            start = time.thread_time()
            for _ in range(CALIBRATION_CALLS):
                noop()
            total = time.thread_time() - start - base
            inside = probe.seconds["noop"]
            rounds.append((total, inside))
        total, inside = min(rounds)
        self.inside = max(inside, 0.0) / CALIBRATION_CALLS
        self.outside = max(total - inside, 0.0) / CALIBRATION_CALLS

    def wrap(self, fn: Callable[..., Any], step: str) -> Callable[..., Any]:
        # Thread CPU time: the shares stay meaningful on a machine shared with other work.
        clock = time.thread_time
        seconds, calls = self.seconds, self.calls

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[step] += clock() - start
                calls[step] += 1

        return timed

    def install(self) -> list[str]:
        import importlib

        installed: list[str] = []
        for module_name, attribute, step in STEPS:
            module = importlib.import_module(module_name)
            owner: Any = module
            name = attribute
            if "." in attribute:
                cls_name, name = attribute.split(".")
                owner = getattr(module, cls_name, None)
                if owner is None:
                    continue
            original = owner.__dict__.get(name) if isinstance(owner, type) else None
            current = getattr(owner, name, None)
            if current is None:
                continue
            if isinstance(original, classmethod):
                wrapped = classmethod(self.wrap(original.__func__, step))
                setattr(owner, name, wrapped)
                self._undo.append(functools.partial(setattr, owner, name, original))
            else:
                setattr(owner, name, self.wrap(current, step))
                self._undo.append(functools.partial(setattr, owner, name, current))
            installed.append(f"{module_name}.{attribute}")
        # orjson.dumps of snapshots and alerts, as the processor module sees it.
        processor_module = importlib.import_module("vitals.scorer.processor")
        if hasattr(processor_module, "orjson") and "encode_snapshot" not in vars(processor_module):
            real = processor_module.orjson

            class _Orjson:
                JSONDecodeError = real.JSONDecodeError
                loads = staticmethod(real.loads)
                dumps = staticmethod(self.wrap(real.dumps, "snapshot -> JSON bytes"))

            processor_module.orjson = _Orjson  # type: ignore[assignment]
            self._undo.append(functools.partial(setattr, processor_module, "orjson", real))
        return installed

    def uninstall(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()


def steps_pass(
    records: list[tuple[int, int, bytes, bytes]], events: int, batch: int
) -> tuple[float, int, StepTimer]:
    """A processor pass with every step timed (CPU s of the pass, snapshots, the timers)."""
    timer = StepTimer()
    timer.calibrate()
    timer.install()
    try:
        _, seconds, snapshots, _ = processor_pass(records, batch)
    finally:
        timer.uninstall()
    return seconds, snapshots, timer


def print_steps(label: str, seconds: float, events: int, snapshots: int, timer: StepTimer) -> None:
    print(
        f"\n  steps of {label} (timed pass: {seconds:.1f} s, {events:,} events, "
        f"{snapshots:,} snapshots, {snapshots / events:.2f}/event)"
    )
    print(
        f"  {'step':<30} {'calls':>10} {'µs/call':>9} {'µs/event':>9} {'µs/snap':>9} {'share':>7}"
    )
    overhead = sum(timer.calls.values()) * (timer.inside + timer.outside)
    seconds -= overhead
    accounted = 0.0
    net = {step: spent - timer.calls[step] * timer.inside for step, spent in timer.seconds.items()}
    for step, spent in sorted(net.items(), key=lambda kv: -kv[1]):
        accounted += spent
        calls = timer.calls[step]
        print(
            f"  {step:<30} {calls:>10,} {1e6 * spent / calls:>9.1f} {1e6 * spent / events:>9.2f} "
            f"{1e6 * spent / max(snapshots, 1):>9.1f} {100 * spent / seconds:>6.1f}%"
        )
    other = seconds - accounted
    print(
        f"  {'other (processor loop, ...)':<30} {'':>10} {'':>9} {1e6 * other / events:>9.2f} "
        f"{1e6 * other / max(snapshots, 1):>9.1f} {100 * other / seconds:>6.1f}%"
    )
    print(
        f"  (step timers' own cost subtracted: {1e6 * (timer.inside + timer.outside):.2f} µs per "
        f"wrapped call, {1e6 * timer.inside:.2f} of it inside the step; "
        f"{1e6 * overhead / max(snapshots, 1):.1f} µs per snapshot in all)"
    )


def prefix(
    rows: list[tuple[int, int, bytes, bytes]], max_events: int
) -> tuple[list[tuple[int, int, bytes, bytes]], int]:
    """The first records holding at most ``max_events`` events (all with 0), and their count."""
    events = 0
    for index, (_, _, _, value) in enumerate(rows):
        body = orjson.loads(value)
        size = len(body["events"]) if "events" in body else 1
        if max_events and events + size > max_events:
            return rows[:index], events
        events += size
    return rows, events


def run(args: argparse.Namespace) -> None:
    import vitals

    print(f"code under test: {Path(vitals.__file__).parent}")
    for name in args.workloads.split(","):
        records = build_records(name, Path(args.cache_dir))
        print(f"\nworkload {name}: {records.events:,} events, {records.customers:,} customers")
        if args.max_events:
            print(f"  (each layout cut to its first records holding <= {args.max_events:,} events)")
        if args.batch > 1:
            print(
                f"  (records processed {args.batch:,} at a time, per partition, as the agent does)"
            )
        print(
            f"  {'layout':<14} {'pass':<22} {'records':>10} {'wall s':>8} {'ev/s':>11} "
            f"{'× raw':>8} {'CPU s':>8} {'ev/CPU-s':>12} {'× raw':>8}"
        )
        for layout, all_rows in records.layouts.items():
            if args.layouts and layout not in args.layouts.split(","):
                continue
            rows, n = prefix(all_rows, args.max_events)
            raw_wall, raw_cpu = min(raw_pass(rows) for _ in range(RAW_REPEATS))
            wall, cpu, snapshots, alerts = processor_pass(rows, args.batch)
            print(
                f"  {layout:<14} {'raw orjson.loads':<22} {len(rows):>10,} {raw_wall:>8.2f} "
                f"{n / raw_wall:>11,.0f} {1.0:>8.3f} {raw_cpu:>8.2f} {n / raw_cpu:>12,.0f} "
                f"{1.0:>8.3f}"
            )
            print(
                f"  {layout:<14} {'RecordProcessor alone':<22} {len(rows):>10,} {wall:>8.2f} "
                f"{n / wall:>11,.0f} {raw_wall / wall:>8.4f} {cpu:>8.2f} {n / cpu:>12,.0f} "
                f"{raw_cpu / cpu:>8.4f}   ({snapshots:,} snapshots, {snapshots / n:.2f}/event, "
                f"{alerts:,} alerts; {1e3 * cpu / max(snapshots, 1):.3f} CPU-ms/snapshot)",
                flush=True,
            )
            if args.steps:
                step_s, step_snaps, timer = steps_pass(rows, n, args.batch)
                print_steps(f"{name}/{layout}", step_s, n, step_snaps, timer)
                print()


def baseline_shim(shim: Path, checkout: str) -> Path:
    """A folder whose ``vitals`` is ``checkout``'s services/: put it on PYTHONPATH to run this
    code against another checkout's package."""
    shim.mkdir(parents=True, exist_ok=True)
    link = shim / "vitals"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(Path(checkout).resolve() / "services")
    return shim


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workloads", default="today,realistic")
    parser.add_argument("--layouts", default="", help="comma list (single,envelope-250); all")
    parser.add_argument("--no-steps", dest="steps", action="store_false")
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="records per agent batch, split per partition as the Faust agent does (the scorer "
        "takes up to 2,000); 1 = one process() call per record",
    )
    parser.add_argument(
        "--max-events",
        type=int,
        default=0,
        help="only the first records holding this many events per layout (0: all)",
    )
    parser.add_argument(
        "--cache-dir", default=os.path.join(tempfile.gettempdir(), "vitals-processor-bench")
    )
    parser.add_argument(
        "--baseline",
        default="",
        help="another checkout: run the same benchmark against its services/ first",
    )
    parser.add_argument(
        "--compiled",
        action="append",
        default=[],
        help="a tree made by benchmarks/build_compiled.py: run the same benchmark against it "
        "first (repeatable)",
    )
    args = parser.parse_args()
    children: list[tuple[str, str]] = []  # (label, PYTHONPATH) of runs in a child process
    if args.baseline:
        shim = baseline_shim(Path(args.cache_dir) / "baseline-shim", args.baseline)
        children.append((f"baseline: {args.baseline}", str(shim)))
    for tree in args.compiled:
        children.append((f"compiled: {tree}", str(Path(tree).resolve())))
    if children:
        # Build (or load) the records with this checkout first, so every run reads the same bytes.
        for name in args.workloads.split(","):
            build_records(name, Path(args.cache_dir))
        argv = list(sys.argv[1:])
        for option in ("--baseline", "--compiled"):
            while option in argv:
                index = argv.index(option)
                del argv[index : index + 2]
        for label, pythonpath in children:
            print(f"==== {label}", flush=True)
            env = dict(os.environ, PYTHONPATH=pythonpath)
            subprocess.run([sys.executable, __file__, *argv], env=env, check=True)
            print(flush=True)
        print("==== this checkout", flush=True)
    run(args)


if __name__ == "__main__":
    main()
