"""Event -> `scores` freshness of the live scorer at a steady send rate (issue 10, item 3: p99
<= 1 s at a steady 5,000 events/s), per scorer batch window (``VITALS_SCORER_BATCH_WITHIN_S``).

    .venv/bin/python benchmarks/freshness.py --rate 500,1000 --within 0.02,0.25     # ~7 min
    .venv/bin/python benchmarks/freshness.py --rate 4000 --envelope-size 250 --within 0.02,0.25
    .venv/bin/python benchmarks/freshness.py --customers 1000 --days 2 --rate 200 --seconds 10

What it does:
1. Starts its own stack (Kafka + Redis on private ports, data in --data-dir) through
   ``vitals.tools.stackctl.stack_up``; stops it at the end unless --keep-stack.
2. Simulates a population's recent history (``vitals.tools.sim.generator.simulate``, --customers
   over the last --days, ending now) and a fixed list of live usage events (same for every
   variant, seeded): a customer drawn uniformly from the population and a feature name per event.
3. Per variant (rate x envelope size x within), on topics, an app id, a data dir and a Redis db
   of its own: sends the history (``vitals.tools.sim.replay.replay_file``, envelopes of 250),
   starts ``vitals scorer`` (and ``vitals projector``, unless --redis-samples 0) as child
   processes and waits until the scorer's group has committed the end of `events` (caught up),
   then until the re-check timers every loaded customer gets BACKFILL_RECHECK_S after its history
   have fired and `scores` is quiet, and until the projector has committed the end of `scores`
   (steady state, not the end of a backfill), then sends the live events at a steady --rate for
   --seconds. Each event is stamped, when it is created, with the wall time as its event time
   (its ``timestamp``). With --envelope-size K > 1 events are grouped per partition exactly as
   ``vitals replay --envelope-size K`` does (same partitioning function, same buffers, flushed
   when full or after ENVELOPE_LINGER_S); the producer is the one every writer of `events` uses,
   with the ingest service's linger.
4. Reads `scores` back after the run and matches each live event to the first snapshot of its
   customer whose ``stats.last_event_at`` is at or past the event's time (a customer's live events
   carry strictly increasing millisecond times, all after their history, so that snapshot is the
   first one whose state includes the event). Latency = the snapshot record's CreateTime (stamped
   by the scorer's producer when it appends the record, i.e. after scoring, before the broker
   round trip) - the event's creation time. For envelopes also from the moment its envelope was
   handed to the producer (the scorer's share, without the envelope's fill time).
   It reports p50/p90/p99/max, the p50 of the first and the last quarter of the sends (a scorer
   that falls behind shows a growing latency), the events not yet on `scores` when sending
   stopped (the backlog: exact, from the snapshots' CreateTime), the group's committed lag at
   that moment (coarse: Faust commits every few seconds), the drain time (last live snapshot -
   end of sending), snapshots per live event and the scorer's CPU seconds per live event.
5. Redis (what the API serves): --redis-samples events a second are followed while the run goes
   on; their customers' records are read from Redis every REDIS_POLL_S (one pipeline, decoded as
   the API reads them) until ``stats.last_event_at`` reaches the event: creation -> seen.
6. The scorer's CPU time and its run-queue wait (/proc schedstat: runnable, no CPU free) as a share
   of the wall time of the live phase: on a shared machine a high wait share means the machine,
   not the scorer's batching, set the latency.

Clock: "wall", the default of ``Settings.clock`` and the one the product runs live with: a live
scorer evaluates at the wall clock (silence ages in real time, timers fire on time, a whole batch
is one segment). "stream" is for replays of history, which score as of that history.

Not measured: the API's HTTP layer on top of the Redis read (it returns the stored bytes). CPU:
the sender, the broker, the scorer and the projector share the machine; every variant of one run
has the same events and rate, and --repeats runs the variants again in reverse order, so compare
variants within a run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import random
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition
from private_stack import add_stack_options, stack_settings
from scorer_throughput import (
    Watcher,
    _wait_done,
    process_cpu_s,
    start_scorer,
    stop_scorer,
)

from vitals.ingest.limits import PRODUCER_LINGER_MS
from vitals.platform import keyspace as keys
from vitals.platform.partitioning import kafka_partition
from vitals.platform.producers import events_producer
from vitals.platform.settings import Settings
from vitals.platform.topics import delete_topics, ensure_topics, list_topics
from vitals.projector import codec
from vitals.projector.connect import connect
from vitals.projector.projector import group_id as projector_group
from vitals.scorer.processor import BACKFILL_RECHECK_S
from vitals.tools.sim.cli import write_events
from vitals.tools.sim.generator import simulate
from vitals.tools.sim.replay import _Envelopes, _Pacer, replay_file
from vitals.tools.stackctl import stack_down, stack_up

SCORER_COMMAND = "-m vitals.cli scorer"
PROJECTOR_COMMAND = "-m vitals.cli projector"
# History is sent as envelopes of this size: the fastest way to a caught-up scorer.
PRELOAD_ENVELOPE = 250
# After the catch-up every loaded customer has a re-check timer BACKFILL_RECHECK_S later (the
# rules are not run on history): the live phase starts once those have fired and the scores topic
# has gone quiet (fewer than QUIET_SNAPSHOTS_PER_S snapshots a second), at most SETTLE_MAX_S.
QUIET_SNAPSHOTS_PER_S = 20
SETTLE_MAX_S = 120.0
# Redis sampling: the pending sampled customers are read back this often (one pipeline).
REDIS_POLL_S = 0.02
# Sends awaited together (bounds memory; surfaces a broker error early).
MAX_IN_FLIGHT = 2_000
PRODUCER_BATCH_BYTES = 256 * 1024
PRODUCER_REQUEST_TIMEOUT_MS = 15_000
# After sending stops, the scorer has this long to put every live event on `scores`.
DRAIN_TIMEOUT_S = 60.0


@dataclass
class Live:
    """The live events of a variant: who, what, and the times they were created and sent."""

    customers: list[str]
    names: list[str]
    created: list[float] = field(default_factory=list)  # wall s, also the event time
    stamp_ms: list[int] = field(default_factory=list)  # the event time in ms (as sent)
    sent: list[float] = field(default_factory=list)  # wall s its record went to the producer


@dataclass
class Result:
    rate: float
    envelope: int
    within: float
    sent: int
    send_s: float
    latencies: list[float]  # s, creation -> snapshot CreateTime, in send order (None dropped)
    record_latencies: list[float]  # s, record send -> snapshot CreateTime
    quarter_p50: tuple[float, float]
    unmatched: int
    backlog_at_end: int  # events sent but not yet on `scores` when sending stopped
    committed_lag: int  # records: end offsets - the group's committed offsets at that moment
    drain_s: float
    snapshots: int
    cpu_s: float
    startup_s: float
    redis_latencies: list[float]  # s, creation -> seen in Redis (sampled events)
    redis_missing: int  # sampled events never seen in Redis
    starved_share: float  # scorer's run-queue wait / wall time, live phase and drain
    cpu_share: float  # scorer's CPU time / wall time, same span


def iso_ms(ms: int) -> str:
    seconds, milli = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{milli:03d}Z"


def parse_ms(text: str) -> int:
    return round(datetime.fromisoformat(text).timestamp() * 1000)


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def variant_settings(base: Settings, run: str, tag: str, redis_db: int, within: float) -> Settings:
    prefix = f"vfresh-{run}-{tag}"
    return base.model_copy(
        update={
            "topic_events": f"{prefix}.events",
            "topic_scores": f"{prefix}.scores",
            "topic_alerts": f"{prefix}.alerts",
            "topic_events_dead": f"{prefix}.events.dead",
            "topic_alerts_dead": f"{prefix}.alerts.dead",
            "scorer_app_id": prefix,
            "scorer_batch_within_s": within,
            "data_dir": base.data_dir / "runs" / run / tag,
            "redis_url": f"redis://127.0.0.1:{base.redis_port}/{redis_db}",
        }
    )


# Every child process started, stopped again at exit whatever happened (an interrupt included).
CHILDREN: list[subprocess.Popen[bytes]] = []


# ---- the live phase ---------------------------------------------------------------------------


async def send_live(
    settings: Settings,
    live: Live,
    rate: float,
    envelope_size: int,
    count: int,
    sampler: RedisSampler | None = None,
    sample_every: int = 0,
) -> float:
    """Send ``count`` live events at ``rate`` events/s; returns the wall time sending stopped."""
    producer = events_producer(
        settings.kafka_bootstrap,
        "vitals-freshness",
        linger_ms=PRODUCER_LINGER_MS,
        max_batch_bytes=PRODUCER_BATCH_BYTES,
        request_timeout_ms=PRODUCER_REQUEST_TIMEOUT_MS,
    )
    topic = settings.topic_events
    in_flight: list[asyncio.Future[object]] = []
    live.created = [0.0] * count
    live.stamp_ms = [0] * count
    live.sent = [0.0] * count
    last_ms: dict[str, int] = {}
    waiting: dict[int, list[int]] = {}  # partition -> indices in its open envelope

    async def send(key: bytes, value: bytes, partition: int | None, indices: list[int]) -> None:
        in_flight.append(await producer.send(topic, value=value, key=key, partition=partition))
        now = time.time()
        for i in indices:
            live.sent[i] = now
        if len(in_flight) >= MAX_IN_FLIGHT:
            await asyncio.gather(*in_flight)
            in_flight.clear()

    async def flush(envelopes: _Envelopes, partition: int) -> None:
        key, value, _ = envelopes.take(partition)
        await send(key, value, partition, waiting.pop(partition))

    await producer.start()
    try:
        metadata = await producer.client.fetch_all_metadata()
        partitions = sorted(metadata.partitions_for_topic(topic) or ())
        envelopes = _Envelopes(envelope_size) if envelope_size > 1 else None
        pacer = _Pacer(rate)
        for i in range(count):
            cid = live.customers[i]
            now = time.time()
            ms = max(int(now * 1000), last_ms.get(cid, 0) + 1)
            last_ms[cid] = ms
            live.created[i], live.stamp_ms[i] = now, ms
            if sampler is not None and i % sample_every == 0:
                sampler.add(i, cid, ms)
            event = {
                "event_id": f"live-{i}",
                "customer_id": cid,
                "type": "usage",
                "name": live.names[i],
                "timestamp": iso_ms(ms),
            }
            key, value = cid.encode(), orjson.dumps(event)
            if envelopes is None:
                await send(key, value, None, [i])
            else:
                partition = partitions[kafka_partition(key, len(partitions))]
                waiting.setdefault(partition, []).append(i)
                if envelopes.add(partition, key, value):
                    await flush(envelopes, partition)
                for stale in envelopes.stale(time.monotonic()):
                    await flush(envelopes, stale)
            await pacer.wait(i + 1)
        if envelopes is not None:
            for partition in envelopes.pending():
                await flush(envelopes, partition)
        await asyncio.gather(*in_flight)
        await producer.flush()
        return time.time()
    finally:
        await producer.stop()


async def read_snapshots(
    settings: Settings, starts: dict[TopicPartition, int]
) -> dict[str, list[tuple[int, float]]]:
    """Per customer, in order: (stats.last_event_at in ms, CreateTime in s) of every snapshot
    past ``starts``."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    out: dict[str, list[tuple[int, float]]] = {}
    try:
        tps = list(starts)
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > starts[tp]}
        for tp in remaining:
            consumer.seek(tp, starts[tp])
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=10_000)
            for tp, messages in batch.items():
                for m in messages:
                    if m.offset >= ends[tp]:
                        continue
                    body = orjson.loads(m.value)
                    last = body["stats"]["last_event_at"]
                    out.setdefault(body["customer_id"], []).append(
                        (parse_ms(last) if last else 0, m.timestamp / 1000.0)
                    )
                if messages and messages[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return out
    finally:
        await consumer.stop()


def match(live: Live, snapshots: dict[str, list[tuple[int, float]]]) -> list[float | None]:
    """CreateTime of the first snapshot reflecting each live event (None: none did)."""
    by_customer: dict[str, list[int]] = {}
    for i, cid in enumerate(live.customers[: len(live.created)]):
        by_customer.setdefault(cid, []).append(i)
    seen: list[float | None] = [None] * len(live.created)
    for cid, indices in by_customer.items():
        snaps = snapshots.get(cid, [])
        j = 0
        for i in indices:  # in send order: strictly increasing stamp_ms
            while j < len(snaps) and snaps[j][0] < live.stamp_ms[i]:
                j += 1
            if j < len(snaps):
                seen[i] = snaps[j][1]
    return seen


class RedisSampler:
    """Reads sampled customers' records from Redis (as the API does) until each reflects its
    sampled event; the time seen is the end of the poll that found it (REDIS_POLL_S apart)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pending: dict[int, tuple[str, int]] = {}  # live index -> (customer, stamp ms)
        self.seen: dict[int, float] = {}
        self.sampled = 0

    def add(self, index: int, customer: str, stamp_ms: int) -> None:
        self.pending[index] = (customer, stamp_ms)
        self.sampled += 1

    async def run(self, stop: asyncio.Event, deadline_s: float) -> None:
        """Poll until ``stop`` is set and nothing is pending, or ``deadline_s`` after ``stop``."""
        redis = await connect(self.url)
        layout = keys.Layout.for_client(redis)
        stop_at: float | None = None
        try:
            while self.pending or not stop.is_set():
                if stop.is_set():
                    stop_at = stop_at or time.monotonic() + deadline_s
                    if time.monotonic() > stop_at:
                        return
                if self.pending:
                    items = list(self.pending.items())
                    pipe = redis.pipeline(transaction=False)
                    for _, (cid, _) in items:
                        pipe.get(layout.record(cid))
                    raws = await pipe.execute()
                    now = time.time()
                    for (index, (_, ms)), raw in zip(items, raws, strict=True):
                        if raw is None:
                            continue
                        last = orjson.loads(codec.snapshot_of(raw))["stats"]["last_event_at"]
                        if last and parse_ms(last) >= ms:
                            self.seen[index] = now
                            del self.pending[index]
                await asyncio.sleep(REDIS_POLL_S)
        finally:
            await redis.aclose()


# ---- one variant ------------------------------------------------------------------------------


def runqueue_wait_s(pid: int) -> float:
    """Seconds the process's threads spent runnable but waiting for a CPU (/proc schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


async def settle(watch: Watcher, not_before: float) -> None:
    """Wait past ``not_before`` until `scores` grows by < QUIET_SNAPSHOTS_PER_S a second."""
    deadline = time.monotonic() + SETTLE_MAX_S
    previous = await watch.snapshot_count()
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        count = await watch.snapshot_count()
        if time.time() >= not_before and count - previous < QUIET_SNAPSHOTS_PER_S:
            return
        previous = count


async def committed_lag(watch: Watcher) -> int:
    ends = await watch.consumer.end_offsets(watch.events_tps)
    committed = await watch.committed()
    return sum(max(0, end - max(committed[tp], 0)) for tp, end in ends.items())


async def projector_caught_up(watch: Watcher, group: str) -> None:
    """Wait until the projector's group has committed the end of `scores` (at most SETTLE_MAX_S)."""
    deadline = time.monotonic() + SETTLE_MAX_S
    while time.monotonic() < deadline:
        ends = await watch.consumer.end_offsets(watch.scores_tps)
        try:
            offsets = await watch.admin.list_consumer_group_offsets(group)
        except KafkaError:
            offsets = {}
        if all(tp in offsets and offsets[tp].offset >= end for tp, end in ends.items() if end):
            return
        await asyncio.sleep(0.5)


async def run_variant(
    settings: Settings,
    jsonl: Path,
    live: Live,
    rate: float,
    envelope: int,
    count: int,
    logs: Path,
    command: str,
    redis_samples_per_s: float,
) -> Result:
    await ensure_topics(settings)
    await replay_file(
        jsonl, settings, envelope_size=PRELOAD_ENVELOPE, topic=settings.topic_events, progress=False
    )
    spawned = time.time()
    procs = [start_scorer(settings, logs / f"{settings.scorer_app_id}.log", command)]
    CHILDREN.extend(procs)
    sampler = RedisSampler(settings.redis_url) if redis_samples_per_s > 0 else None
    if sampler is not None:
        log = logs / f"{settings.scorer_app_id}-projector.log"
        procs.append(start_scorer(settings, log, PROJECTOR_COMMAND))
        CHILDREN.append(procs[-1])
    try:
        async with Watcher(settings) as watch:  # its end offsets: the history's
            stalled = await _wait_done(watch, procs[:1], logs)
            if stalled:
                raise RuntimeError(f"scorer stalled on the history; see {logs}")
            startup = time.time() - spawned
            await settle(watch, time.time() + BACKFILL_RECHECK_S)
            if sampler is not None:
                await projector_caught_up(watch, projector_group(settings))
            starts = await watch.consumer.end_offsets(watch.scores_tps)
            cpu_start = process_cpu_s(procs[0].pid)
            wait_start = runqueue_wait_s(procs[0].pid)
            stop = asyncio.Event()
            polling = (
                asyncio.create_task(sampler.run(stop, DRAIN_TIMEOUT_S))
                if sampler is not None
                else None
            )
            send_started = time.time()
            every = max(1, round(rate / redis_samples_per_s)) if sampler is not None else 0
            ended = await send_live(settings, live, rate, envelope, count, sampler, every)
            lag = await committed_lag(watch)
        async with Watcher(settings) as watch:  # its end offsets: history + live
            deadline = time.monotonic() + DRAIN_TIMEOUT_S
            while time.monotonic() < deadline:
                committed = await watch.committed()
                if all(committed[tp] >= end for tp, end in watch.event_ends.items()):
                    break
                await asyncio.sleep(0.5)
        cpu = process_cpu_s(procs[0].pid) - cpu_start
        starved = runqueue_wait_s(procs[0].pid) - wait_start
        measured_s = time.time() - send_started
        if polling is not None:
            stop.set()
            await polling
    finally:
        for proc in procs:
            stop_scorer(proc)
    redis_latencies = (
        [seen_at - live.created[i] for i, seen_at in sampler.seen.items()] if sampler else []
    )
    redis_missing = (sampler.sampled - len(sampler.seen)) if sampler else 0
    snapshots = await read_snapshots(settings, starts)
    seen = match(live, snapshots)
    latencies = [s - c for s, c in zip(seen, live.created, strict=True) if s is not None]
    record_latencies = [s - t for s, t in zip(seen, live.sent, strict=True) if s is not None]
    all_latencies = [None if s is None else s - c for s, c in zip(seen, live.created, strict=True)]
    quarter = max(1, count // 4)
    first = [x for x in all_latencies[:quarter] if x is not None]
    last = [x for x in all_latencies[-quarter:] if x is not None]
    matched = [s for s in seen if s is not None]
    return Result(
        rate=rate,
        envelope=envelope,
        within=settings.scorer_batch_within_s,
        sent=count,
        send_s=ended - send_started,
        latencies=latencies,
        record_latencies=record_latencies,
        quarter_p50=(quantile(first, 0.5), quantile(last, 0.5)),
        unmatched=sum(1 for s in seen if s is None),
        backlog_at_end=sum(1 for s in seen if s is None or s > ended),
        committed_lag=lag,
        drain_s=(max(matched) - ended) if matched else float("nan"),
        snapshots=sum(len(v) for v in snapshots.values()),
        cpu_s=cpu,
        startup_s=startup,
        redis_latencies=redis_latencies,
        redis_missing=redis_missing,
        starved_share=starved / measured_s,
        cpu_share=cpu / measured_s,
    )


# ---- main -------------------------------------------------------------------------------------


def report(results: list[Result]) -> str:
    head = (
        f"{'rate':>6} {'layout':<12} {'within':>6} {'sent':>7} {'p50':>6} {'p90':>6} {'p99':>6} "
        f"{'max':>6} {'rec p50':>7} {'rec p99':>7} {'Q1 p50':>6} {'Q4 p50':>6} {'backlog':>7} "
        f"{'lag':>6} {'drain':>6} {'snap/ev':>7} {'CPUms/ev':>8} {'redis p50':>9} {'redis p99':>9} "
        f"{'CPU%':>5} {'wait%':>5} kept up"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lat, rec = r.latencies, r.record_latencies
        p99 = quantile(lat, 0.99)
        # Kept up: every event reached `scores`, what was in flight at the end is under a second
        # of load and the latency did not grow from the first quarter of the sends to the last.
        kept = (
            r.unmatched == 0
            and r.backlog_at_end <= r.rate
            and r.quarter_p50[1] <= 2 * r.quarter_p50[0] + 0.1
        )
        layout = "single" if r.envelope == 1 else f"envelope-{r.envelope}"
        lines.append(
            f"{r.rate:>6.0f} {layout:<12} {r.within:>6.2f} {r.sent:>7} "
            f"{quantile(lat, 0.5):>6.3f} {quantile(lat, 0.9):>6.3f} {p99:>6.3f} "
            f"{max(lat, default=float('nan')):>6.3f} "
            f"{quantile(rec, 0.5):>7.3f} {quantile(rec, 0.99):>7.3f} "
            f"{r.quarter_p50[0]:>6.3f} {r.quarter_p50[1]:>6.3f} {r.backlog_at_end:>7} "
            f"{r.committed_lag:>6} {r.drain_s:>6.2f} {r.snapshots / max(r.sent, 1):>7.2f} "
            f"{1000 * r.cpu_s / max(r.sent, 1):>8.3f} "
            f"{quantile(r.redis_latencies, 0.5):>9.3f} {quantile(r.redis_latencies, 0.99):>9.3f} "
            f"{100 * r.cpu_share:>5.0f} {100 * r.starved_share:>5.0f} "
            f"{'yes' if kept else 'NO'}"
            + (f" ({r.unmatched} never on scores)" if r.unmatched else "")
            + (f" ({r.redis_missing} samples never in Redis)" if r.redis_missing else "")
        )
    lines.append(
        "latencies in s: p50..max from event creation (= its event time) to the snapshot's "
        "CreateTime; rec = from the record's send (envelopes: after filling); Q1/Q4 = p50 of the "
        "first/last quarter of sends; backlog = events not on scores when sending stopped; lag = "
        "group's committed lag then (records, commits every few s); drain = last live snapshot - "
        "end of sending; CPUms/ev = scorer CPU ms per live event (timers and idle included); "
        "redis = creation -> the customer's record in Redis reflects it (sampled events, read "
        f"every {REDIS_POLL_S * 1000:.0f} ms as the API reads it); CPU% / wait% = the scorer's "
        "CPU time / its run-queue wait (runnable, no CPU free), % of the wall time from the "
        "first live send to the drained end: a high wait% means the machine, not the scorer, "
        "set the latency"
    )
    return "\n".join(lines)


async def bench(args: argparse.Namespace, base: Settings, run: str, workdir: Path) -> None:
    logs = workdir / "logs"
    now = datetime.now(UTC)
    started = time.perf_counter()
    sim = simulate(args.customers, now - timedelta(days=args.days), args.days, args.seed)
    jsonl = workdir / "history.jsonl"
    written = write_events(jsonl, sim, now, progress=False)
    customers: set[str] = set()
    names: set[str] = set()
    with jsonl.open("rb") as lines:
        for line in lines:
            event = orjson.loads(line)
            customers.add(event["customer_id"])
            if event["type"] == "usage":
                names.add(event["name"])
    print(
        f"simulated {written} events of {len(customers)} customers over the last {args.days} "
        f"days in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    rates = [float(r) for r in args.rate.split(",")]
    sizes = [int(s) for s in args.envelope_size.split(",")]
    withins = [float(w) for w in args.within.split(",")]
    most = int(max(rates) * args.seconds)
    rng = random.Random(args.seed)
    population, features = sorted(customers), sorted(names) or ["page_view"]
    live_customers = [rng.choice(population) for _ in range(most)]
    live_names = [rng.choice(features) for _ in range(most)]

    results: list[Result] = []
    variants = list(itertools.product(rates, sizes, withins))
    # Repeats run the variants in alternating order (A B C, C B A, ...): a load drift on a shared
    # machine then falls on every variant alike instead of on the last one.
    order = [
        (repeat, variant)
        for repeat in range(args.repeats)
        for variant in (variants if repeat % 2 == 0 else variants[::-1])
    ]
    for index, (repeat, (rate, size, within)) in enumerate(order, start=1):
        tag = f"r{rate:g}-k{size}-w{within:g}-{repeat}".replace(".", "_")
        settings = variant_settings(base, run, tag, redis_db=index % 16, within=within)
        count = int(rate * args.seconds)
        live = Live(live_customers, live_names)
        print(f"{tag}: history, catch-up, then {count} events at {rate:g}/s ...", flush=True)
        result = await run_variant(
            settings,
            jsonl,
            live,
            rate,
            size,
            count,
            logs,
            args.scorer_command,
            args.redis_samples,
        )
        results.append(result)
        print(
            f"  sent in {result.send_s:.1f} s ({result.sent / result.send_s:,.0f} ev/s), "
            f"p50 {quantile(result.latencies, 0.5):.3f} s, p99 "
            f"{quantile(result.latencies, 0.99):.3f} s; scorer CPU {100 * result.cpu_share:.0f} %, "
            f"run-queue wait {100 * result.starved_share:.0f} % of wall; start-up and catch-up "
            f"{result.startup_s:.0f} s",
            flush=True,
        )
        with contextlib.suppress(Exception):
            await delete_topics(
                base, [t for t in await list_topics(base) if t.startswith(f"vfresh-{run}-{tag}")]
            )
        shutil.rmtree(settings.data_dir, ignore_errors=True)
    print()
    print(report(sorted(results, key=lambda r: (r.rate, r.envelope, r.within))))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=2_000, help="population size")
    parser.add_argument("--days", type=int, default=3, help="days of history before now")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", default="500,1000", help="events/s, comma separated")
    parser.add_argument(
        "--envelope-size",
        default="1",
        help="events per record, comma separated (1 = single-event records)",
    )
    parser.add_argument(
        "--within", default="0.02,0.25", help="scorer_batch_within_s values, comma separated"
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="steady load per variant")
    parser.add_argument(
        "--repeats", type=int, default=1, help="run every variant this often, order alternating"
    )
    parser.add_argument(
        "--redis-samples",
        type=float,
        default=20.0,
        help="live events a second followed into Redis (runs `vitals projector`); 0 = off",
    )
    add_stack_options(parser, kafka_port=39592, redis_port=36979, data_dir="/tmp/vitals-freshness")
    parser.add_argument(
        "--scorer-command",
        default=SCORER_COMMAND,
        help="python arguments that start the scorer (to time a variant)",
    )
    args = parser.parse_args()
    # A new topic's partitions have no leader for a moment: the producer retries and logs each.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    if args.seconds > 60:
        parser.error("--seconds: at most 60 s of steady load per variant")

    base = stack_settings(args, clock="wall")
    run = time.strftime("%H%M%S")
    workdir = base.data_dir / "runs" / run
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    stack_up(base, create_topics=False)
    try:
        asyncio.run(bench(args, base, run, workdir))
    finally:
        for proc in CHILDREN:
            stop_scorer(proc)
        if not args.keep_stack:
            stack_down(base)
        for path in workdir.iterdir():
            if path.name != "logs":
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()
        print(f"\ntotal {time.perf_counter() - started:.0f} s; logs in {workdir / 'logs'}")


if __name__ == "__main__":
    main()
