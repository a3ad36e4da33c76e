"""Summarising py-spy's collapsed stacks (``py-spy record --format raw``) of the scorer into cost
categories: Faust/aiokafka machinery vs our scoring code vs table writes vs the projector.

    .venv/bin/python benchmarks/pyspy_summary.py /tmp/vitals-bench/runs/<run>/logs/pyspy-single.txt

Used by scorer_throughput.py; runs on its own over any saved profile of `vitals scorer`.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

TOP_FUNCTIONS = 14

# Each sample goes to the FIRST category whose pattern matches any frame of its stack, so narrow
# categories come before the broad ones that also sit on the same stack.
CATEGORIES: list[tuple[str, re.Pattern[str]]] = [
    ("projector agent (scores -> Redis)", re.compile(r"_project \(.*scorer/app\.py|projector/")),
    (
        "state (de)serialize to/from bytes",
        re.compile(r"^(CustomerState\.)?(to_bytes|from_bytes) \(.*core/state\.py"),
    ),
    (
        "table write: faust Table set + changelog",
        re.compile(r"^(TableStore\.)?put \(.*scorer/store\.py"),
    ),
    (
        "table read: faust Table get (RocksDB)",
        re.compile(r"^(TableStore\.)?get \(.*scorer/store\.py"),
    ),
    (
        "table write per batch: changelog batch + RocksDB WriteBatch",
        re.compile(r"^(PartitionedTable\.)?(write|restore) \(.*scorer/faust_compat\.py"),
    ),
    (
        "table read: RocksDB get of the partition (PartitionedStore)",
        re.compile(r"^(PartitionedStore\.)?(get|put) \(.*scorer/store\.py"),
    ),
    (
        "bulk produce of snapshots/alerts (per-partition batches)",
        re.compile(r"^(ScorerApp\.)?_persist_and_publish \(|_produce_keyed|produce_batched"),
    ),
    ("core: next_check (timers)", re.compile(r"core/timers\.py")),
    ("core: alert rules", re.compile(r"core/alert_rules\.py")),
    ("core: evaluate (snapshot)", re.compile(r"core/snapshot\.py")),
    ("core: fold (apply_event)", re.compile(r"core/fold\.py")),
    ("decode: orjson.loads + parse_event", re.compile(r"scorer/records\.py")),
    (
        "processor other: orjson.dumps, BatchStore, TimerIndex, metrics",
        re.compile(r"scorer/processor\.py"),
    ),
    ("agent: topic.send of snapshots/alerts", re.compile(r"faust/topics\.py|faust/channels\.py")),
    (
        "faust per-record stream machinery (streams, conductor, events)",
        re.compile(r"faust/streams\.py|faust/transport/conductor\.py|faust/events\.py"),
    ),
    (
        "agent body other (metrics, acks)",
        re.compile(r"^(ScorerApp\.)?(_score|_score_partition) \("),
    ),
    ("aiokafka producer: batching + produce requests", re.compile(r"aiokafka/producer/")),
    (
        "faust producer buffer + changelog acks (persisted offsets)",
        re.compile(r"faust/transport/producer\.py|faust/tables/|faust/stores/"),
    ),
    (
        "faust/aiokafka consumer: fetch, decode, commit",
        re.compile(r"faust/transport/|aiokafka/consumer/|aiokafka/conn\.py|aiokafka/client\.py"),
    ),
]
OTHER = "event loop (select, callbacks), gc, other"
# The categories above, summed into the three questions the profile answers.
GROUPS = {
    "our code (decode, fold, evaluate, next_check, rules, processor)": (
        "state",
        "core:",
        "decode:",
        "processor other",
    ),
    "table (RocksDB get/set, changelog send + acks)": ("table ", "faust producer buffer"),
    "bulk produce of outputs": ("bulk produce",),
    "projector (same process)": ("projector",),
}
FRAMEWORK = "Faust/aiokafka/event loop (per record + per produced message)"
FRAME = re.compile(r"^(?P<func>.*?) \((?P<where>.*)\)$")


def summarize_collapsed(path: Path) -> tuple[Counter[str], Counter[str], int]:
    """Categories (inclusive, first match wins) and leaf functions of py-spy's collapsed stacks."""
    categories: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        name = next(
            (n for n, pattern in CATEGORIES if any(pattern.search(f) for f in frames)), OTHER
        )
        categories[name] += count
        leaves[_short(frames[-1])] += count
    return categories, leaves, total


def _short(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    where = re.sub(r"^.*?site-packages/|^.*?/services/", "", match["where"])
    return f"{match['func']} ({where})"


def print_profile(name: str, path: Path, seconds: float, rate: int) -> None:
    """Groups, categories and top own-time functions of one profile, as shares of its samples.

    ``seconds`` and ``rate`` are the recording's: samples / (rate x seconds) is the share of the
    time the worker's threads were running or runnable (py-spy skips threads asleep in I/O).
    """
    categories, leaves, total = summarize_collapsed(path)
    busy = (
        f" in {seconds:.0f} s at {rate}/s (all threads: "
        f"{100 * total / (rate * seconds):.0f} % of one thread's time)"
        if seconds > 0
        else ""
    )
    print(f"\nprofile {name}: {total} non-idle samples{busy}, {path}")
    groups: Counter[str] = Counter()
    for category, count in categories.items():
        group = next((g for g, heads in GROUPS.items() if category.startswith(heads)), FRAMEWORK)
        groups[group] += count
    for group, count in groups.most_common():
        print(f"  {100 * count / total:5.1f} %  = {group}")
    for category, count in categories.most_common():
        print(f"  {100 * count / total:5.1f} %  {category}")
    print("  top functions by own time:")
    for function, count in leaves.most_common(TOP_FUNCTIONS):
        print(f"  {100 * count / total:5.1f} %  {function}")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print_profile(Path(arg).stem, Path(arg), seconds=0.0, rate=100)
