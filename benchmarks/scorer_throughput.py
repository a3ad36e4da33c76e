"""Throughput of the live scorer (`vitals scorer`, a Faust worker) on the real broker, against a
raw aiokafka reference measured in the same run, and a py-spy profile of where its time goes.

    .venv/bin/python benchmarks/scorer_throughput.py                   # ~100k events, ~5-6 min
    .venv/bin/python benchmarks/scorer_throughput.py --customers 500 --days 20 --profile-seconds 0
    .venv/bin/python benchmarks/scorer_throughput.py --workload realistic --workers 1,2

Workloads (issue 10): ``today`` is 1,000 customers over 30 days (~100k events); ``realistic`` is
200,000 customers, >= 1M events. The simulator keeps every event in memory and a 30-day history of
200,000 customers is ~20M events (tens of GB), so ``realistic`` simulates REALISTIC_DAYS days: the
customer count (table size, cache misses, dirty keys per event) is the issue's; the history depth
per customer is not. --customers/--days override either preset.

What it does:
1. Starts its own stack (Kafka + Redis on private ports, data in --data-dir) through
   ``vitals.tools.stackctl.stack_up``; stops it at the end unless --keep-stack.
2. Simulates a stream (``vitals.tools.sim.generator.simulate``), writes it as JSONL and sends it
   with ``vitals.tools.sim.replay.replay_file`` once per layout, each on its own topic set:
   ``--layouts 1,25,250`` means single-event records, envelopes of 25 and envelopes of 250 events
   grouped per partition exactly as ``vitals replay --envelope-size`` does.
3. Per layout, measures:
   - raw:   aiokafka consumer reading the topic to its end + ``orjson.loads`` of every value
            (best of RAW_REPEATS; the cost floor of touching each record in Python);
   - core:  ``RecordProcessor`` alone over the same records, in this process, states kept as bytes
            in a dict behind ``TableStore`` (no Kafka, no Faust, no RocksDB): our code's ceiling;
   - scorer: ``vitals scorer`` as a child process (clock "stream", refit off, own app id, data dir
            and Redis db). The time runs from the moment the first worker logs Faust's "Ready"
            (imports, group join and table recovery done: start-up is excluded) to the CreateTime
            of the last snapshot on the scores topic (stamped by the scorer's producer); the CPU
            counter is read at that same moment. Timing from the first snapshot instead, as this
            benchmark did until session 5, left the first batch's scoring out: a few % with
            single-event records, most of the run with envelopes and a longer batch window
            (scorer_batch_within_s 0.25 s: a first batch of ~50k events). The run is complete
            when the scorer's consumer group has committed the end offset of every events
            partition (Faust commits offset + 1 every ~2.8 s); only then is the last snapshot's
            timestamp read. If commits stall while nothing moves for STALL_S, the run is taken
            as finished and marked.
4. With --profile-seconds > 0 and py-spy installed (``pip install py-spy``; needs ptrace), runs the
   scorer again on the first and last layout under ``py-spy record --nonblocking`` and prints the
   share of CPU samples per cost category (Faust/aiokafka machinery vs fold / evaluate / next_check
   / rules vs table writes) and the top functions by own time. Without py-spy: cProfile of the
   core-only pass. The raw py-spy files (collapsed stacks; speedscope.app opens them) are kept;
   ``benchmarks/pyspy_summary.py FILE`` summarises one again.

On a shared 2-core machine wall-clock rates move ±20 % with other load: the notes under the table
give the scorer's CPU share of its wall time and events per CPU-second, which move much less.
``--scorer-command "path/to/variant.py"`` times an experimental variant of the worker (same env);
``--skip-core`` leaves out the core-only pass to make such comparisons quicker.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition
from private_stack import add_stack_options, stack_settings
from pyspy_summary import print_profile

from vitals.core.config import DEFAULT_CONFIG
from vitals.core.params import DEFAULT_PARAMS
from vitals.platform.settings import Settings, to_env
from vitals.platform.topics import delete_topics, ensure_topics, list_topics
from vitals.scorer.processor import RecordProcessor, SourceRecord
from vitals.scorer.store import TableStore
from vitals.tools.sim.cli import write_events
from vitals.tools.sim.generator import simulate
from vitals.tools.sim.replay import replay_file
from vitals.tools.stackctl import stack_down, stack_up

SIM_START = datetime(2025, 1, 1, tzinfo=UTC)
# (customers, days) per workload; see the module docstring for why realistic is 2 days deep.
REALISTIC_DAYS = 2
WORKLOADS = {"today": (1_000, 30), "realistic": (200_000, REALISTIC_DAYS)}
# The raw reference takes well under a second per layout: best of a few damps scheduler noise.
RAW_REPEATS = 3
# Polling the group's committed offsets: a commit lands every ~2.8 s, finer polling buys nothing.
POLL_S = 0.5
# Waiting for a worker's "Ready" and the first snapshot: finer, since the CPU counter is read at
# the first of them.
FIRST_POLL_S = 0.05
# A scorer whose commits and snapshot count have not moved for this long is done (or stuck).
STALL_S = 20.0
# Upper bound for one scorer run (start-up included), so a broken run cannot hang the benchmark.
RUN_TIMEOUT_S = 900.0
# py-spy samples per second: enough for percentages to ±1 %, light enough with --nonblocking.
PYSPY_RATE = 100
# getmany page size for the raw reader (bigger pages, fewer round trips through the loop).
RAW_MAX_RECORDS = 10_000


@dataclass
class Layout:
    size: int  # events per record; 1 = one event per record
    settings: Settings
    events: int = 0
    records: int = 0

    @property
    def name(self) -> str:
        return "single" if self.size == 1 else f"envelope-{self.size}"


@dataclass
class Timing:
    events: int
    seconds: float
    snapshots: int = 0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class ScorerRun:
    timing: Timing
    startup_s: float
    snapshots: int
    stalled: bool
    cpu_s: float  # CPU seconds (all threads) the scorer used from "Ready" to the end
    load: tuple[float, float]  # 1-minute load average at the start and at the end


def process_cpu_s(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- stack and topics ------------------------------------------------------------------------


def layout_settings(base: Settings, run: str, tag: str, redis_db: int) -> Settings:
    """Topics, app id, data dir and Redis db of their own: layouts never share state."""
    prefix = f"vbench-{run}-{tag}"
    return base.model_copy(
        update={
            "topic_events": f"{prefix}.events",
            "topic_scores": f"{prefix}.scores",
            "topic_alerts": f"{prefix}.alerts",
            "topic_events_dead": f"{prefix}.events.dead",
            "topic_alerts_dead": f"{prefix}.alerts.dead",
            "scorer_app_id": prefix,
            "data_dir": base.data_dir / "runs" / run / tag,
            "redis_url": f"redis://127.0.0.1:{base.redis_port}/{redis_db}",
        }
    )


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    cluster = await consumer._client.fetch_all_metadata()  # public topics() hides new topics
    return [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]


# ---- the raw reference and the core-only pass -----------------------------------------------


async def raw_read(settings: Settings, collect: bool = False) -> tuple[Timing, list[SourceRecord]]:
    """Read the events topic to its end, orjson.loads every value; events counted inside
    envelopes. Timed from the first fetch to the last record."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = await partitions_of(consumer, settings.topic_events)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        kept: list[SourceRecord] = []
        events = 0
        started = time.perf_counter()
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=RAW_MAX_RECORDS)
            for tp, messages in batch.items():
                for m in messages:
                    body = orjson.loads(m.value)
                    events += len(body["events"]) if "events" in body else 1
                    if collect:
                        kept.append(SourceRecord(m.topic, m.partition, m.offset, m.key, m.value))
                if messages and messages[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return Timing(events, time.perf_counter() - started), kept
    finally:
        await consumer.stop()


def core_pass(records: list[SourceRecord], settings: Settings, events: int) -> Timing:
    """RecordProcessor over the records one at a time (as the agent calls it), no Kafka."""
    table: dict[bytes, bytes] = {}
    processor: RecordProcessor

    def now(partition: int) -> float:
        return processor.watermarks.get(partition, 0.0)

    processor = RecordProcessor(
        store=TableStore(table),
        config=DEFAULT_CONFIG,
        params=lambda: DEFAULT_PARAMS,
        partitions=settings.partitions,
        clock="stream",
        now=now,
        wall=time.time,
        public_url=settings.public_url,
    )
    snapshots = 0
    started = time.perf_counter()
    for record in records:
        snapshots += len(processor.process([record]).snapshots)
    return Timing(events, time.perf_counter() - started, snapshots)


# ---- the scorer as a child process ------------------------------------------------------------


# How the scorer is started (--scorer-command replaces it, to time an experimental variant).
SCORER_COMMAND = "-m vitals.cli scorer"


def start_scorer(settings: Settings, log_path: Path, command: str) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, *command.split()],
            env=os.environ | to_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop_scorer(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Watcher:
    """Reads the scorer's progress from the broker: committed offsets, snapshot timestamps."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
        )
        self.admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)

    async def __aenter__(self) -> Watcher:
        await self.consumer.start()
        await self.admin.start()
        self.events_tps = await partitions_of(self.consumer, self.settings.topic_events)
        self.scores_tps = await partitions_of(self.consumer, self.settings.topic_scores)
        self.event_ends = await self.consumer.end_offsets(self.events_tps)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def committed(self) -> dict[TopicPartition, int]:
        try:
            offsets = await self.admin.list_consumer_group_offsets(self.settings.scorer_app_id)
        except KafkaError:  # no coordinator yet: a fresh broker creates __consumer_offsets lazily
            offsets = {}
        return {tp: offsets[tp].offset if tp in offsets else -1 for tp in self.events_tps}

    async def snapshot_count(self) -> int:
        ends = await self.consumer.end_offsets(self.scores_tps)
        return sum(ends.values())

    async def snapshot_span(self) -> tuple[float, float]:
        """CreateTime (Unix s) of the first and the last snapshot over all partitions."""
        ends = await self.consumer.end_offsets(self.scores_tps)
        starts = await self.consumer.beginning_offsets(self.scores_tps)
        first, last = float("inf"), 0.0
        for tp in self.scores_tps:
            if ends[tp] <= starts[tp]:
                continue
            for offset in (starts[tp], ends[tp] - 1):
                ts = await self._timestamp_at(tp, offset)
                first, last = min(first, ts), max(last, ts)
        return first, last

    async def _timestamp_at(self, tp: TopicPartition, offset: int) -> float:
        self.consumer.assign([tp])
        self.consumer.seek(tp, offset)
        while True:
            batch = await self.consumer.getmany(tp, timeout_ms=2000, max_records=1)
            for message in batch.get(tp, []):
                return message.timestamp / 1000.0


async def run_scorer(
    layout: Layout, logs: Path, command: str, settings: Settings | None = None, workers: int = 1
) -> ScorerRun:
    """Start the scorer (``workers`` processes of one group, each with its own datadir) on a full
    events topic; wait until the group has committed everything."""
    settings = settings or layout.settings
    async with Watcher(settings) as watch:
        load_start = os.getloadavg()[0]
        spawned = time.time()
        log_paths = [logs / f"{settings.scorer_app_id}-{i}.log" for i in range(workers)]
        # The logs are appended to: only what this run writes counts.
        log_starts = [p.stat().st_size if p.exists() else 0 for p in log_paths]
        procs = [
            start_scorer(
                settings.model_copy(update={"data_dir": settings.data_dir / f"worker-{i}"})
                if workers > 1
                else settings,
                log_paths[i],
                command,
            )
            for i in range(workers)
        ]
        try:
            await _wait_ready(procs, list(zip(log_paths, log_starts, strict=True)), logs)
            ready = time.time()
            cpu_start = sum(process_cpu_s(proc.pid) for proc in procs)
            await _wait_first_snapshot(watch, procs, logs)
            stalled = await _wait_done(watch, procs, logs)
            cpu = sum(process_cpu_s(proc.pid) for proc in procs) - cpu_start
        finally:
            for proc in procs:
                stop_scorer(proc)
        _, last = await watch.snapshot_span()
        snapshots = await watch.snapshot_count()
        return ScorerRun(
            Timing(layout.events, last - ready, snapshots),
            startup_s=ready - spawned,
            snapshots=snapshots,
            stalled=stalled,
            cpu_s=cpu,
            load=(load_start, os.getloadavg()[0]),
        )


def _check_alive(procs: list[subprocess.Popen[bytes]], logs: Path) -> None:
    for proc in procs:
        if proc.poll() is not None:
            raise RuntimeError(f"scorer exited with {proc.returncode}; see logs in {logs}")


# Faust's worker logs this line once it has joined, recovered its tables and started its agents.
READY_LINE = "[^Worker]: Ready"


async def _wait_ready(
    procs: list[subprocess.Popen[bytes]], log_paths: list[tuple[Path, int]], logs: Path
) -> None:
    """Until one of the workers logs Faust's "Ready" (the scorer logs at info by default) past
    the given offset of its log."""

    def ready(path: Path, start: int) -> bool:
        if not path.exists():
            return False
        with open(path, "rb") as log:
            log.seek(start)
            return READY_LINE.encode() in log.read()

    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not any(ready(path, start) for path, start in log_paths):
        _check_alive(procs, logs)
        if time.monotonic() > deadline:
            raise TimeoutError(f"no worker ready within {RUN_TIMEOUT_S} s; see logs in {logs}")
        await asyncio.sleep(FIRST_POLL_S)


async def _wait_first_snapshot(
    watch: Watcher, procs: list[subprocess.Popen[bytes]], logs: Path
) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while await watch.snapshot_count() == 0:
        _check_alive(procs, logs)
        if time.monotonic() > deadline:
            raise TimeoutError(f"no snapshot within {RUN_TIMEOUT_S} s; see logs in {logs}")
        await asyncio.sleep(FIRST_POLL_S)


async def _wait_done(watch: Watcher, procs: list[subprocess.Popen[bytes]], logs: Path) -> bool:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    last_seen: tuple[object, ...] = ()
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        _check_alive(procs, logs)
        committed = await watch.committed()
        if all(committed[tp] >= end for tp, end in watch.event_ends.items()):
            return False
        seen = (tuple(sorted(committed.values())), await watch.snapshot_count())
        if seen != last_seen:
            last_seen, still_since = seen, time.monotonic()
        elif seen[1] > 0 and time.monotonic() - still_since > STALL_S:
            return True
        await asyncio.sleep(POLL_S)
    raise TimeoutError(f"scorer did not finish within {RUN_TIMEOUT_S} s; see logs in {logs}")


# ---- profiling --------------------------------------------------------------------------------


async def profile_layout(
    layout: Layout, run: str, seconds: float, logs: Path, redis_db: int, command: str
) -> Path | None:
    """Run the scorer again over the layout's events topic under py-spy; collapsed stacks file."""
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(pyspy).exists():
        return None
    settings = layout_settings(layout.settings, run, f"{layout.name}-prof", redis_db)
    settings = settings.model_copy(update={"topic_events": layout.settings.topic_events})
    await ensure_topics(settings)
    out = logs / f"pyspy-{layout.name}.txt"
    async with Watcher(settings) as watch:
        proc = start_scorer(settings, logs / f"{settings.scorer_app_id}.log", command)
        try:
            await _wait_first_snapshot(watch, [proc], logs)  # steady state, not start-up
            done = subprocess.run(
                [
                    pyspy,
                    "record",
                    "--pid",
                    str(proc.pid),
                    "--rate",
                    str(PYSPY_RATE),
                    "--duration",
                    str(max(1, round(seconds))),
                    "--nonblocking",
                    "--format",
                    "raw",
                    "-o",
                    str(out),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            stop_scorer(proc)
    if done.returncode != 0 or not out.exists():
        print(f"py-spy failed ({done.returncode}): {done.stderr.strip()[-400:]}", file=sys.stderr)
        return None
    return out


def cprofile_core(records: list[SourceRecord], settings: Settings, events: int, name: str) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    core_pass(records, settings, events)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
    print(f"\ncProfile of the core-only pass, {name} (py-spy unavailable):\n{text.getvalue()}")


# ---- main -------------------------------------------------------------------------------------


def table(rows: list[tuple[str, str, int, float, float, float]]) -> str:
    head = (
        f"{'layout':<14} {'consumer':<34} {'events':>8} {'seconds':>8} {'events/s':>9} {'x raw':>7}"
    )
    lines = [head, "-" * len(head)]
    for layout, consumer, events, seconds, rate, ratio in rows:
        lines.append(
            f"{layout:<14} {consumer:<34} {events:>8} {seconds:>8.2f} {rate:>9,.0f} {ratio:>7.3f}"
        )
    return "\n".join(lines)


async def bench(args: argparse.Namespace, base: Settings, run: str, workdir: Path) -> None:
    logs = workdir / "logs"
    worker_counts = [int(w) for w in args.workers.split(",")]
    sizes = [int(s) for s in args.layouts.split(",")]
    layouts = [Layout(k, base) for k in sizes]
    for index, layout in enumerate(layouts, start=1):
        layout.settings = layout_settings(base, run, layout.name, redis_db=index)
        await ensure_topics(layout.settings)

    started = time.perf_counter()
    sim = simulate(args.customers, SIM_START, args.days, args.seed)
    jsonl = workdir / "events.jsonl"
    written = write_events(jsonl, sim, None, progress=False)
    print(
        f"simulated {written} events of {args.customers} customers over {args.days} days "
        f"in {time.perf_counter() - started:.1f} s"
    )
    for layout in layouts:
        report = await replay_file(
            jsonl,
            layout.settings,
            envelope_size=layout.size,
            topic=layout.settings.topic_events,
            progress=False,
        )
        layout.events, layout.records = report.events, report.records
        print(
            f"  {layout.name}: {report.records} records in {report.seconds:.1f} s "
            f"-> {layout.settings.topic_events}"
        )

    rows: list[tuple[str, str, int, float, float, float]] = []
    notes: list[str] = []
    scorer_times: dict[str, float] = {}
    for layout in layouts:
        raw = min(
            [(await raw_read(layout.settings))[0] for _ in range(RAW_REPEATS)],
            key=lambda t: t.seconds,
        )
        core: Timing | None = None
        if not args.skip_core:
            _, records = await raw_read(layout.settings, collect=True)
            core = core_pass(records, layout.settings, layout.events)
            del records
        print(
            f"{layout.name}: raw {raw.rate:,.0f} ev/s"
            + (f", core {core.rate:,.0f} ev/s" if core else "")
            + "; scorer running ...",
            flush=True,
        )
        result = await run_scorer(layout, logs, args.scorer_command)
        scorer_times[layout.name] = result.timing.seconds
        multi: list[tuple[int, ScorerRun]] = []
        for offset, workers in enumerate((w for w in worker_counts if w > 1), start=1):
            tag = f"{layout.name}-x{workers}"
            again = layout_settings(base, run, tag, redis_db=len(layouts) + 2 + offset)
            again = again.model_copy(update={"topic_events": layout.settings.topic_events})
            await ensure_topics(again)
            multi.append(
                (workers, await run_scorer(layout, logs, args.scorer_command, again, workers))
            )
        rows.append(
            (layout.name, "raw aiokafka + orjson.loads", raw.events, raw.seconds, raw.rate, 1.0)
        )
        if core:
            rows.append(
                (
                    layout.name,
                    "RecordProcessor alone (no Kafka)",
                    core.events,
                    core.seconds,
                    core.rate,
                    core.rate / raw.rate,
                )
            )
        rows.append(
            (
                layout.name,
                "vitals scorer (Faust worker)",
                result.timing.events,
                result.timing.seconds,
                result.timing.rate,
                result.timing.rate / raw.rate,
            )
        )
        for workers, other in multi:
            rows.append(
                (
                    layout.name,
                    f"vitals scorer, {workers} workers",
                    other.timing.events,
                    other.timing.seconds,
                    other.timing.rate,
                    other.timing.rate / raw.rate,
                )
            )
            notes.append(
                f"{layout.name}: {workers} workers {other.timing.rate / result.timing.rate:.2f}x "
                f"one worker (CPU {100 * other.cpu_s / other.timing.seconds:.0f} % of wall)"
                + (" — COMMITS STALLED" if other.stalled else "")
            )
        core_note = (
            f", core alone {1000 * core.seconds / max(core.snapshots, 1):.2f} ms" if core else ""
        )
        notes.append(
            f"{layout.name}: {layout.records} records, {result.snapshots} snapshots "
            f"({result.snapshots / layout.events:.2f}/event); per snapshot: scorer "
            f"{1000 * result.timing.seconds / result.snapshots:.2f} ms{core_note}; "
            f"scorer CPU {100 * result.cpu_s / result.timing.seconds:.0f} % of its wall time "
            f"({layout.events / max(result.cpu_s, 1e-9):,.0f} events per CPU-second), "
            f"load avg {result.load[0]:.1f}->{result.load[1]:.1f}; "
            f"start-up {result.startup_s:.1f} s (excluded)"
            + (" — COMMITS STALLED, end taken from the last snapshot" if result.stalled else "")
        )
    print()
    print(table(rows))
    print("\n".join(notes))

    if args.profile_seconds <= 0:
        return
    targets = [layouts[0]] if len(layouts) == 1 else [layouts[0], layouts[-1]]
    for offset, layout in enumerate(targets, start=len(layouts) + 1):
        # Profile at most the steady part of the run: past the end the worker only idles.
        seconds = min(args.profile_seconds, 0.8 * scorer_times[layout.name])
        path = await profile_layout(layout, run, seconds, logs, offset, args.scorer_command)
        if path is not None:
            print_profile(layout.name, path, max(1, round(seconds)), PYSPY_RATE)
        else:
            _, records = await raw_read(layout.settings, collect=True)
            cprofile_core(records, layout.settings, layout.events, layout.name)


async def cleanup_topics(base: Settings, run: str) -> None:
    names = [t for t in await list_topics(base) if t.startswith(f"vbench-{run}-")]
    await delete_topics(base, names)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workload", choices=sorted(WORKLOADS), default="today", help="customers and days preset"
    )
    parser.add_argument("--customers", type=int, default=None, help="overrides the workload's")
    parser.add_argument("--days", type=int, default=None, help="overrides the workload's")
    parser.add_argument(
        "--workers",
        default="1",
        help="worker counts to time, comma separated (e.g. 1,2: also 2 workers on one group)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--layouts",
        default="1,25,250",
        help="events per record, comma separated; 1 = single-event records",
    )
    parser.add_argument(
        "--profile-seconds",
        type=float,
        default=20.0,
        help="py-spy seconds per profiled layout (first and last); 0 = no profile",
    )
    add_stack_options(parser, kafka_port=39192, redis_port=36579, data_dir="/tmp/vitals-bench")
    parser.add_argument(
        "--scorer-command",
        default=SCORER_COMMAND,
        help="python arguments that start the scorer (to time a variant)",
    )
    parser.add_argument(
        "--skip-core",
        action="store_true",
        help="skip the RecordProcessor-alone pass (faster variant comparisons)",
    )
    parser.add_argument(
        "--keep-topics", action="store_true", help="do not delete this run's topics"
    )
    args = parser.parse_args()
    customers, days = WORKLOADS[args.workload]
    args.customers = args.customers or customers
    args.days = args.days or days

    base = stack_settings(args, clock="stream")
    run = time.strftime("%H%M%S")
    workdir = base.data_dir / "runs" / run
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    stack_up(base, create_topics=False)
    try:
        asyncio.run(bench(args, base, run, workdir))
    finally:
        if not args.keep_topics:
            with contextlib.suppress(Exception):
                asyncio.run(cleanup_topics(base, run))
        if not args.keep_stack:
            stack_down(base)
        # Scorer RocksDB dirs and the JSONL are large; logs and py-spy files are worth keeping.
        for path in workdir.iterdir():
            if path.name != "logs":
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()
        print(
            f"\ntotal {time.perf_counter() - started:.0f} s; "
            f"logs and profiles in {workdir / 'logs'}"
        )


if __name__ == "__main__":
    main()
