"""A scorer worker restarted over a large table: time back to scoring, RSS, timer rebuild.

    .venv/bin/python benchmarks/scorer_restart.py                      # 1,000,000 customers
    .venv/bin/python benchmarks/scorer_restart.py --customers 100000   # a smaller machine

What it does (its own stack on private ports, stopped at the end unless --keep-stack):
1. Scores a small simulated population with the real processor and takes its states as templates
   (real sizes and shapes); writes --customers states cloned from them (own ids, each on the
   partition its id hashes to, timers far in the future so none fires) to the table's changelog,
   exactly as the scorer would, one producer batch at a time.
2. Reference, same run: a raw aiokafka read of the whole changelog (records/s, wall and CPU
   seconds of this process), best of two.
3. "changelog": starts `vitals scorer` on an EMPTY datadir (a new container) and sends one probe
   event per partition; restart-to-scoring is the time from the spawn to the last probe's snapshot
   on `scores`: start-up, the restore of every partition from the changelog ahead of Faust
   (faust_compat.restore_ahead_of_faust, which also indexes each state's timer as it reads it),
   Faust's own recovery (nothing left to read), the timer index loaded, then the probes scored.
   Stops the worker cleanly.
4. "local": starts it again on the datadir just filled (RocksDB kept: nothing to read back) with a
   second probe round, timed the same way; here the timers are rebuilt from the table (each
   state's last 9 bytes, off the event loop).
Each run prints the worker's CPU seconds from spawn to scoring (user + system, all its threads:
on a shared machine a steadier figure than the wall time), its RSS once scoring (VmRSS) and its
peak (VmHWM), and the timer rebuild time the worker logs ("timers: N rebuilt in X s").
Expect about five minutes at 1M customers (1.3 GB of changelog written, read twice as the
reference, then restored once); the stack's Kafka keeps each run's topics under --data-dir
(1.3 GB a run at 1M customers): delete that directory when done.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import msgpack
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from private_stack import add_stack_options, stack_settings

from vitals.core.config import DEFAULT_CONFIG
from vitals.core.params import DEFAULT_PARAMS
from vitals.platform.partitioning import partition_for
from vitals.platform.settings import Settings, to_env
from vitals.platform.topics import TopicSpec, ensure_topics
from vitals.scorer.processor import RecordProcessor, SourceRecord
from vitals.scorer.store import MemoryStore
from vitals.tools.sim.generator import simulate
from vitals.tools.stackctl import stack_down, stack_up

SIM_START = datetime(2025, 1, 1, tzinfo=UTC)
# Template population: enough shapes (new, active, churned, paying...) to be representative.
TEMPLATE_CUSTOMERS = 60
TEMPLATE_DAYS = 30
# Timers of the cloned states are pushed this far past the probes, so none fires during the run.
TIMER_PUSH_S = 365 * 86_400.0
# The worker is given this long to come back (recovery included) before the run is declared failed.
RUN_TIMEOUT_S = 300.0
POLL_S = 0.2
PRODUCE_CHUNK = 50_000
TIMERS_LINE = re.compile(r"timers: (\d+) rebuilt in ([\d.]+) s")


def template_states() -> list[list[object]]:
    """Real states (as msgpack lists) of a small simulated population, scored by the processor."""
    sim = simulate(TEMPLATE_CUSTOMERS, SIM_START, TEMPLATE_DAYS, seed=5)
    store = MemoryStore()
    marks: dict[int, float] = {}
    processor = RecordProcessor(
        store=store,
        config=DEFAULT_CONFIG,
        params=lambda: DEFAULT_PARAMS,
        partitions=1,
        clock="stream",
        now=lambda p: marks.get(p, 0.0),
        wall=time.time,
    )
    for offset, event in enumerate(sim.events):
        record = SourceRecord("t", 0, offset, None, orjson.dumps(event))
        processor.process([record])
        marks.update(processor.watermarks)
    return [
        msgpack.unpackb(s.to_bytes(), raw=False, strict_map_key=False)
        for s in store.states.values()
    ]


def cloned(templates: list[list[object]], count: int, partitions: int):  # type: ignore[no-untyped-def]
    """(partition, key, value) of ``count`` states cloned from the templates."""
    for i in range(count):
        values = list(templates[i % len(templates)])
        cid = f"bench-{i:07d}"
        partition = partition_for(cid, partitions)
        values[1] = cid
        values[2] = [partition, i, 0]
        values[-1] = float(values[-1] or 0.0) + TIMER_PUSH_S + (i % 86_400)
        yield partition, cid.encode(), msgpack.packb(values, use_bin_type=True)


async def fill_changelog(settings: Settings, topic: str, count: int) -> tuple[int, float]:
    templates = template_states()
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks=1, linger_ms=50, max_batch_size=1 << 20
    )
    await producer.start()
    size = 0
    started = time.perf_counter()
    try:
        futures = []
        for n, (partition, key, value) in enumerate(cloned(templates, count, settings.partitions)):
            size += len(value)
            futures.append(await producer.send(topic, value, key=key, partition=partition))
            if n % PRODUCE_CHUNK == PRODUCE_CHUNK - 1:
                await asyncio.gather(*futures)
                futures = []
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    print(
        f"changelog: {count:,} states ({size / count:.0f} B mean, {size / 1e6:.0f} MB) written in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return size, time.perf_counter() - started


async def raw_read(settings: Settings, topic: str) -> tuple[float, float]:
    """Seconds (wall, then this process's CPU) to read ``topic`` end to end with aiokafka (the
    reference)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
        tps = [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        started, cpu = time.perf_counter(), time.process_time()
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=10_000)
            for tp, messages in batch.items():
                if messages and messages[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        await consumer.stop()


def probe_ids(partitions: int) -> list[str]:
    """One new customer id per partition."""
    found: dict[int, str] = {}
    n = 0
    while len(found) < partitions:
        cid = f"probe-{n}"
        found.setdefault(partition_for(cid, partitions), cid)
        n += 1
    return [found[p] for p in range(partitions)]


async def send_probes(settings: Settings, round_: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        ts = SIM_START.timestamp() + TEMPLATE_DAYS * 86_400 + round_ * 60
        for cid in probe_ids(settings.partitions):
            event = {
                "event_id": f"{cid}-{round_}",
                "customer_id": cid,
                "type": "usage",
                "timestamp": datetime.fromtimestamp(ts, UTC).isoformat(),
                "name": "probe",
            }
            await producer.send(settings.topic_events, orjson.dumps(event), key=cid.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def scores_count(settings: Settings) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
        parts = cluster.partitions_for_topic(settings.topic_scores) or set()
        tps = [TopicPartition(settings.topic_scores, p) for p in parts]
        return sum((await consumer.end_offsets(tps)).values()) if tps else 0
    finally:
        await consumer.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def restart(settings: Settings, name: str, round_: int, log: Path) -> dict[str, float]:
    expected = await scores_count(settings) + settings.partitions
    spawned = time.perf_counter()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vitals.cli", "scorer", "--loglevel", "info"],
            env=os.environ | to_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        await send_probes(settings, round_)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while await scores_count(settings) < expected:
            if proc.poll() is not None:
                raise RuntimeError(f"scorer exited with {proc.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name}: not scoring within {RUN_TIMEOUT_S} s; see {log}")
            await asyncio.sleep(POLL_S)
        back = time.perf_counter() - spawned
        cpu = cpu_seconds(proc.pid)
        rss = status_kb(proc.pid, "VmRSS") / 1024
        await asyncio.sleep(2.0)  # settled
        peak = status_kb(proc.pid, "VmHWM") / 1024
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    rebuilt = TIMERS_LINE.findall(log.read_text(errors="replace"))
    timers, rebuild_s = (int(rebuilt[-1][0]), float(rebuilt[-1][1])) if rebuilt else (0, -1.0)
    return {
        "back_s": back,
        "cpu_s": cpu,
        "rss_mb": rss,
        "peak_mb": peak,
        "timers": timers,
        "rebuild_s": rebuild_s,
    }


async def bench(args: argparse.Namespace, settings: Settings, logs: Path) -> None:
    changelog = f"{settings.scorer_app_id}-customers-changelog"
    await ensure_topics(
        settings, extra=[TopicSpec(changelog, settings.partitions, {"cleanup.policy": "compact"})]
    )
    size, _ = await fill_changelog(settings, changelog, args.customers)
    raw_s, raw_cpu = min([await raw_read(settings, changelog) for _ in range(2)])
    print(
        f"reference: raw aiokafka read of the changelog {args.customers / raw_s:,.0f} records/s "
        f"({raw_s:.1f} s, {raw_cpu:.1f} CPU-s)"
    )
    results = {}
    results["changelog"] = await restart(settings, "changelog", 1, logs / "scorer-changelog.log")
    results["local"] = await restart(settings, "local", 2, logs / "scorer-local.log")
    print(
        f"\n{args.customers:,} customers, {args.partitions} partitions, "
        f"{size / 1e6:.0f} MB of state"
    )
    print(
        f"{'restart from':<14} {'back to scoring':>16} {'x raw read':>11} {'CPU s':>7} "
        f"{'RSS MB':>8} {'peak MB':>8} {'timers':>9} {'rebuild s':>10}"
    )
    for name, r in results.items():
        print(
            f"{name:<14} {r['back_s']:>14.1f} s {r['back_s'] / raw_s:>11.1f} {r['cpu_s']:>7.1f} "
            f"{r['rss_mb']:>8.0f} "
            f"{r['peak_mb']:>8.0f} {int(r['timers']):>9,} {r['rebuild_s']:>10.2f}"
        )
    print(
        f"(raw read of the changelog: {raw_s:.1f} s, {raw_cpu:.1f} CPU-s; CPU s: the worker's, "
        "spawn to scoring; targets: back <= 60 s, RSS <= 1,536 MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    add_stack_options(
        parser, kafka_port=39292, redis_port=36679, data_dir="/tmp/vitals-restart-bench"
    )
    args = parser.parse_args()
    run = time.strftime("%H%M%S")
    base = stack_settings(args, clock="stream")
    settings = base.model_copy(
        update={
            "topic_events": f"vrestart-{run}.events",
            "topic_scores": f"vrestart-{run}.scores",
            "topic_alerts": f"vrestart-{run}.alerts",
            "topic_events_dead": f"vrestart-{run}.events.dead",
            "topic_alerts_dead": f"vrestart-{run}.alerts.dead",
            "scorer_app_id": f"vrestart-{run}",
            "data_dir": base.data_dir / "runs" / run,
        }
    )
    logs = base.data_dir / "logs" / run
    logs.mkdir(parents=True, exist_ok=True)
    stack_up(base, create_topics=False)
    try:
        asyncio.run(bench(args, settings, logs))
    finally:
        if not args.keep_stack:
            stack_down(base)
        shutil.rmtree(base.data_dir / "runs" / run, ignore_errors=True)
        print(f"logs in {logs}")


if __name__ == "__main__":
    main()
