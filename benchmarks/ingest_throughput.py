"""Events/s of one ingest process through each door, beside a raw aiokafka producer in the same run.

    .venv/bin/python benchmarks/ingest_throughput.py              # 100k events per door, ~1 min
    .venv/bin/python benchmarks/ingest_throughput.py --events 20000 --profile-seconds 0

What it does:
1. Starts its own stack (Kafka + Redis on private ports, data in --data-dir) through
   ``vitals.tools.stackctl.stack_up`` (or uses --bootstrap), and one topic for the run.
2. Starts ``vitals ingest`` as a child process (uvloop + httptools, as in production) with API keys
   on, and sends it 500-event batches from this process with --concurrency requests in flight:
   - batch:       ``{"batch": [...]}`` of contract events, Bearer key;
   - segment:     ``{"batch": [...], "writeKey"}`` of Segment track calls, gzip, Basic auth (what
                  segment-analytics-python / rudder-sdk-python send);
   - cloudevents: ``application/cloudevents-batch+json`` arrays;
   - stripe:      one signed ``invoice.paid`` per request (Stripe sends one event per delivery).
3. raw: the same records produced by an ``AIOKafkaProducer`` in this process, acks=all,
   idempotent, 500 per round and every acknowledgement awaited — what ingest's sink does, without
   HTTP, JSON or validation: the ceiling of this design on this broker.
4. Prints events/s (wall) and events per CPU-second of the ingest process (utime + stime from
   /proc: steadier than wall time on a shared 2-core machine, where the load generator and the
   broker take the other core), and the ratio to raw.
5. With --profile-seconds > 0: py-spy records the ingest process during a second pass of the
   batch door and prints where its time goes.

Target (issue 12): >= 50,000 events/s per process for /v1/batch. The run says whether it is met.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gzip
import hashlib
import hmac
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaProducer

from vitals.platform.settings import Settings, to_env
from vitals.platform.topics import delete_topics, ensure_topics
from vitals.tools.stackctl import stack_down, stack_up

BATCH = 500  # events per request (issue 12)
TARGET_EVENTS_PER_S = 50_000
KEY = "bench-ingest-key-0123456789"
STRIPE_SECRET = "whsec_bench_0123456789"
CUSTOMERS = 2_000
# The ingest process is up when /healthz answers and its producer when /readyz does.
START_TIMEOUT_S = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- payloads -----------------------------------------------------------------------------------


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def contract_events(start: int, now: float) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"bench-{start + i}",
            "customer_id": f"cust-{(start + i) % CUSTOMERS}",
            "type": "usage",
            "timestamp": iso(now - (i % 3600)),
            "name": ("report.exported", "dashboard.viewed", "invite.sent")[i % 3],
            "user_id": f"u-{i % 40}",
            "properties": {"plan": "pro", "source": "web"},
        }
        for i in range(BATCH)
    ]


def segment_calls(start: int, now: float) -> list[dict[str, Any]]:
    return [
        {
            "type": "track",
            "messageId": f"ajs-{start + i}",
            "event": ("Report Exported", "Dashboard Viewed", "Invite Sent")[i % 3],
            "userId": f"u-{i % 40}",
            "timestamp": iso(now - (i % 3600)),
            "properties": {"format": "pdf"},
            "context": {
                "groupId": f"cust-{(start + i) % CUSTOMERS}",
                "library": {"name": "analytics-python", "version": "2.4.0"},
            },
        }
        for i in range(BATCH)
    ]


def cloudevents(start: int, now: float) -> list[dict[str, Any]]:
    return [
        {
            "specversion": "1.0",
            "id": str(start + i),
            "source": "/bench/app",
            "type": "com.example.usage",
            "time": iso(now - (i % 3600)),
            "subject": f"cust-{(start + i) % CUSTOMERS}",
            "datacontenttype": "application/json",
            "data": {"name": "report.exported", "user_id": f"u-{i % 40}"},
        }
        for i in range(BATCH)
    ]


def stripe_event(n: int, now: float) -> dict[str, Any]:
    return {
        "id": f"evt_bench_{n}",
        "object": "event",
        "type": "invoice.paid",
        "created": int(now),
        "data": {
            "object": {
                "id": f"in_{n}",
                "object": "invoice",
                "customer": f"cus_{n % CUSTOMERS}",
                "subscription": f"sub_{n % CUSTOMERS}",
                "billing_reason": "subscription_cycle",
                "currency": "usd",
                "lines": {
                    "data": [
                        {
                            "type": "subscription",
                            "amount": 4900,
                            "proration": False,
                            "price": {"recurring": {"interval": "month", "interval_count": 1}},
                        }
                    ]
                },
            }
        },
    }


@dataclass
class Door:
    name: str
    path: str
    requests: list[tuple[bytes, dict[str, str]]]  # distinct bodies, sent round-robin
    events_per_request: int


def doors(requests: int, now: float) -> list[Door]:
    bearer = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
    basic = {
        "authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode(),
        "content-type": "application/json",
        "content-encoding": "gzip",
    }
    ce = {"authorization": f"Bearer {KEY}", "content-type": "application/cloudevents-batch+json"}
    distinct = min(requests, 20)  # different ids and customers per body, few enough to prebuild
    out = [
        Door(
            "batch",
            "/v1/batch",
            [
                (orjson.dumps({"batch": contract_events(r * BATCH, now)}), bearer)
                for r in range(distinct)
            ],
            BATCH,
        ),
        Door(
            "segment (gzip, Basic)",
            "/v1/batch",
            [
                (
                    gzip.compress(
                        orjson.dumps(
                            {
                                "batch": segment_calls(r * BATCH, now),
                                "writeKey": KEY,
                                "sentAt": iso(now),
                            }
                        )
                    ),
                    basic,
                )
                for r in range(distinct)
            ],
            BATCH,
        ),
        Door(
            "cloudevents batch",
            "/v1/batch",
            [(orjson.dumps(cloudevents(r * BATCH, now)), ce) for r in range(distinct)],
            BATCH,
        ),
    ]
    stripe_requests = []
    for n in range(200):
        payload = orjson.dumps(stripe_event(n, now))
        t = int(now)
        mac = hmac.new(STRIPE_SECRET.encode(), f"{t}.".encode() + payload, hashlib.sha256)
        headers = {"stripe-signature": f"t={t},v1={mac.hexdigest()}"}
        stripe_requests.append((payload, headers))
    out.append(Door("stripe (1 event/request)", "/v1/stripe/webhook", stripe_requests, 1))
    return out


# ---- measuring ----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


@dataclass
class Result:
    name: str
    events: int
    wall_s: float
    cpu_s: float | None

    @property
    def rate(self) -> float:
        return self.events / self.wall_s

    @property
    def per_cpu(self) -> float | None:
        return self.events / self.cpu_s if self.cpu_s else None


async def drive(url: str, door: Door, requests: int, concurrency: int, pid: int) -> Result:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0) as client:
        # Warm-up: connections, the producer's metadata, code paths.
        for body, headers in door.requests[:concurrency]:
            await _post(client, door.path, body, headers, door.events_per_request)
        queue = iter(range(requests))
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()

        async def worker() -> None:
            for n in queue:
                body, headers = door.requests[n % len(door.requests)]
                await _post(client, door.path, body, headers, door.events_per_request)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    return Result(door.name, requests * door.events_per_request, wall, cpu)


async def _post(
    client: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str], expected: int
) -> None:
    response = await client.post(path, content=body, headers=headers)
    if response.status_code != 200 or response.json()["accepted"] != expected:
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")


async def raw_producer(settings: Settings, door: Door, requests: int) -> Result:
    """The same records, produced the way ingest's sink produces them, without ingest."""
    batches = []
    for body, _ in door.requests:
        events = orjson.loads(body)["batch"]
        batches.append([(e["customer_id"].encode(), orjson.dumps(e)) for e in events])
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        for key, value in batches[0][:10]:
            await producer.send_and_wait(settings.topic_events, value=value, key=key)
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        for n in range(requests):
            futures = [
                await producer.send(settings.topic_events, value=value, key=key)
                for key, value in batches[n % len(batches)]
            ]
            await asyncio.wait(futures)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        await producer.stop()
    return Result("raw aiokafka producer (same records)", requests * BATCH, wall, cpu)


# ---- the ingest process -------------------------------------------------------------------------


def start_ingest(settings: Settings, logs: Path) -> subprocess.Popen[bytes]:
    env = os.environ | to_env(settings)
    log = (logs / "ingest.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "vitals.cli", "ingest", "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ingest exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError("ingest not ready")


def profile(pid: int, seconds: float, out: Path, during: Callable[[], None]) -> Path | None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        print("py-spy not installed: no profile")
        return None
    cmd = [py_spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200"]
    cmd += ["--format", "raw", "-o", str(out), "--nonblocking"]
    spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        during()
    finally:
        _, err = spy.communicate(timeout=seconds + 30)
    if spy.returncode != 0:
        print(f"py-spy failed: {err.decode()[-300:]}")
        return None
    return out


CATEGORIES = [
    ("validate: parse_event (pydantic contract)", re.compile(r"core/events\.py")),
    (
        "map: Segment/CloudEvents/Stripe adapters",
        re.compile(r"ingest/(adapters|segment|cloudevents|stripe_map)"),
    ),
    ("read body + gzip", re.compile(r"ingest/body\.py")),
    ("intake other: orjson.dumps, loop", re.compile(r"ingest/intake\.py")),
    ("aiokafka producer: send() per record", re.compile(r"aiokafka/producer/producer\.py")),
    ("aiokafka: batches, sender, protocol", re.compile(r"aiokafka/")),
    ("ingest app other (orjson.loads, auth, answer)", re.compile(r"ingest/app\.py")),
    ("uvicorn/starlette/fastapi HTTP", re.compile(r"uvicorn|starlette|fastapi|httptools|h11")),
]


def summarise(path: Path) -> None:
    categories: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count, frames = int(count_text), stack.split(";")
        total += count
        name = next((n for n, p in CATEGORIES if any(p.search(f) for f in frames)), "other")
        categories[name] += count
        leaves[re.sub(r"\(.*?(site-packages|services)/", "(", frames[-1])] += count
    print(f"\nprofile of the ingest process, /v1/batch: {total} samples ({path})")
    for name, count in categories.most_common():
        print(f"  {100 * count / total:5.1f} %  {name}")
    print("  top functions by own time:")
    for name, count in leaves.most_common(12):
        print(f"  {100 * count / total:5.1f} %  {name}")


# ---- main ---------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, settings: Settings, logs: Path) -> None:
    await ensure_topics(settings)
    url = f"http://127.0.0.1:{settings.ingest_port}"
    now = time.time()
    requests = max(1, args.events // BATCH)
    all_doors = doors(requests, now)
    proc = start_ingest(settings, logs)
    results: list[Result] = []
    try:
        await asyncio.to_thread(wait_ready, url, proc)
        for door in all_doors:
            count = requests if door.events_per_request == BATCH else args.stripe_requests
            results.append(await drive(url, door, count, args.concurrency, proc.pid))
            print(f"  {results[-1].name}: {results[-1].rate:,.0f} events/s", flush=True)
        raw = await raw_producer(settings, all_doors[0], requests)
        print(f"  {raw.name}: {raw.rate:,.0f} events/s", flush=True)
        print_table(results, raw, args)
        if args.profile_seconds > 0:
            out = logs / "pyspy-ingest-batch.txt"
            loop = asyncio.get_running_loop()

            def load() -> None:
                future = asyncio.run_coroutine_threadsafe(
                    drive(url, all_doors[0], requests, args.concurrency, proc.pid), loop
                )
                future.result()

            done = await asyncio.to_thread(profile, proc.pid, args.profile_seconds, out, load)
            if done is not None:
                summarise(done)
    finally:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(20)
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(Exception):
            await delete_topics(settings, [settings.topic_events])


def print_table(results: list[Result], raw: Result, args: argparse.Namespace) -> None:
    print(
        f"\n{BATCH}-event batches, {args.concurrency} requests in flight, one ingest process "
        f"(uvloop + httptools), keys on, acks=all; {os.cpu_count()} cores shared with the load "
        "generator and the broker\n"
    )
    print(
        "| door | events | wall s | events/s | ingest CPU s | events per CPU-s | × raw (events/s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in [*results, raw]:
        per_cpu = f"{r.per_cpu:,.0f}" if r.per_cpu else "—"
        cpu = f"{r.cpu_s:.1f}" if r.cpu_s is not None else "—"
        print(
            f"| {r.name} | {r.events:,} | {r.wall_s:.1f} | {r.rate:,.0f} | {cpu} | {per_cpu} "
            f"| {r.rate / raw.rate:.2f} |"
        )
    batch = results[0]
    verdict = "MET" if batch.rate >= TARGET_EVENTS_PER_S else "MISSED"
    print(
        f"\ntarget >= {TARGET_EVENTS_PER_S:,} events/s per process for /v1/batch: {verdict} "
        f"({batch.rate:,.0f} wall; {batch.per_cpu or 0:,.0f} per CPU-second of the ingest process)"
    )
    print("(raw's CPU column is this benchmark process's own CPU while producing)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000, help="events per batch door")
    parser.add_argument("--stripe-requests", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile-seconds", type=float, default=15.0)
    parser.add_argument("--bootstrap", default="", help="use this broker, start no stack")
    parser.add_argument("--kafka-port", type=int, default=39292)
    parser.add_argument("--kafka-controller-port", type=int, default=39293)
    parser.add_argument("--redis-port", type=int, default=36679)
    parser.add_argument("--ingest-port", type=int, default=38181)
    parser.add_argument("--data-dir", default="/tmp/vitals-bench-ingest")
    parser.add_argument("--keep-stack", action="store_true")
    args = parser.parse_args()

    run = time.strftime("%H%M%S")
    settings = Settings(
        kafka_port=args.kafka_port,
        kafka_controller_port=args.kafka_controller_port,
        redis_port=args.redis_port,
        data_dir=Path(args.data_dir),
        kafka_bootstrap=args.bootstrap,
        topic_events=f"vbench-ingest-{run}.events",
        ingest_port=args.ingest_port,
        api_keys=f"{KEY}:ingest",  # type: ignore[arg-type]
        stripe_webhook_secret=STRIPE_SECRET,  # type: ignore[arg-type]
        max_future_skew_s=86_400.0,
    )
    logs = settings.data_dir / "runs" / run
    logs.mkdir(parents=True, exist_ok=True)
    own_stack = not args.bootstrap
    if own_stack:
        stack_up(settings, create_topics=False)
    try:
        asyncio.run(bench(args, settings, logs))
    finally:
        if own_stack and not args.keep_stack:
            stack_down(settings)
    print(f"logs and profile in {logs}")


if __name__ == "__main__":
    main()
