"""How many function evaluations one ``next_check`` costs, over the processor's own calls.

    .venv/bin/python benchmarks/next_check_evaluations.py                     # this checkout
    .venv/bin/python benchmarks/next_check_evaluations.py --baseline /path/to/old/checkout

Runs ``RecordProcessor`` over the records of processor_throughput.py's "today" workload (the same
cached bytes, single-event records, stream clock) and counts, per ``next_check`` call, the
temperature curve values (``TemperatureCurve.at``) and silent usage/health values
(``SilentScores.health_at``) it computes: risk is read from those two, so these are the
evaluations a band-crossing search pays for. Prints the mean, percentiles and the mean µs of
next_check (CPU time of this pass, wrappers included). ``--baseline DIR`` first runs the same count
against another checkout's services/ in a child process, as processor_throughput.py does.
``--compare``: also computes every call's answer with the plain bisection
(``timers.bisect_first_crossing``, where this checkout has it) and reports how many differ and by
how much.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from processor_throughput import baseline_shim, build_records, make_processor


def count(records: list[tuple[int, int, bytes, bytes]], max_events: int, compare: bool) -> None:
    from vitals.core import temperature, timers
    from vitals.scorer import processor as processor_module
    from vitals.scorer.processor import SourceRecord

    counts = {"temperature": 0, "health": 0}
    per_call: list[tuple[int, int]] = []
    spent = [0.0]

    def counted(cls: Any, name: str, key: str) -> None:
        original = getattr(cls, name)

        def wrapper(self: Any, t: float) -> Any:
            counts[key] += 1
            return original(self, t)

        setattr(cls, name, wrapper)

    counted(temperature.TemperatureCurve, "at", "temperature")
    counted(timers.SilentScores, "health_at", "health")
    real_next_check = processor_module.next_check

    differences: list[float] = []

    def next_check(*args: Any, **kwargs: Any) -> float:
        before = counts["temperature"], counts["health"]
        started = time.thread_time()
        try:
            answer: float = real_next_check(*args, **kwargs)
        finally:
            spent[0] += time.thread_time() - started
            per_call.append((counts["temperature"] - before[0], counts["health"] - before[1]))
        if compare:
            differences.append(answer - bisected(*args))
        return answer

    def bisected(state: Any, now: float, params: Any, config: Any) -> float:
        # next_check exactly as before the root finder: bisection, stopping early as it did.
        real = timers.first_band_crossing

        def first_band_crossing(*args: Any, **kwargs: Any) -> float:
            return real(*args, first_crossing=timers.bisect_first_crossing, **kwargs)

        timers.first_band_crossing = first_band_crossing  # type: ignore[assignment]
        try:
            return float(timers.next_check(state, now, params, config))
        finally:
            timers.first_band_crossing = real  # type: ignore[assignment]

    processor_module.next_check = next_check  # type: ignore[assignment]
    table: dict[bytes, bytes] = {}
    processor = make_processor(table)
    events = 0
    for partition, offset, key, value in records:
        processor.process([SourceRecord("events", partition, offset, key, value)])
        events += 1
        if max_events and events >= max_events:
            break
    calls = len(per_call)
    temps = [t for t, _ in per_call]
    healths = [h for _, h in per_call]
    totals = sorted(t + h for t, h in per_call)
    print(f"  next_check calls: {calls:,} over {events:,} records")
    print(
        f"  evaluations per call: temperature {statistics.fmean(temps):.2f}, "
        f"health {statistics.fmean(healths):.2f}, total {statistics.fmean(totals):.2f} "
        f"(median {totals[calls // 2]}, p90 {totals[int(calls * 0.9)]}, max {totals[-1]})"
    )
    print(f"  next_check CPU: {1e6 * spent[0] / calls:.1f} µs per call (counting wrappers on)")
    if compare:
        moved = [d for d in differences if d != 0.0]
        largest = max((abs(d) for d in moved), default=0.0)
        print(
            f"  against the bisection: {len(moved):,} of {len(differences):,} answers differ "
            f"(largest difference {largest:.6f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-events", type=int, default=0, help="first N records only (0: all)")
    parser.add_argument(
        "--cache-dir", default=os.path.join(tempfile.gettempdir(), "vitals-processor-bench")
    )
    parser.add_argument("--baseline", default="")
    parser.add_argument("--compare", action="store_true", help="check answers against bisection")
    args = parser.parse_args()
    records = build_records("today", Path(args.cache_dir)).layouts["single"]
    if args.baseline:
        shim = baseline_shim(Path(args.cache_dir) / "evaluations-shim", args.baseline)
        argv = [a for a in sys.argv[1:] if a != "--compare"]
        index = argv.index("--baseline")
        del argv[index : index + 2]
        print(f"==== baseline: {args.baseline}", flush=True)
        env = dict(os.environ, PYTHONPATH=str(shim))
        subprocess.run([sys.executable, __file__, *argv], env=env, check=True)
        print("\n==== this checkout", flush=True)
    import vitals

    print(f"code under test: {Path(vitals.__file__).parent}")
    count(records, args.max_events, args.compare)


if __name__ == "__main__":
    main()
