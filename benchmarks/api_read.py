"""Read side at 1,000,000 customers: the Vitals API beside a minimal FastAPI + Redis service.

    .venv/bin/python benchmarks/api_read.py                 # 1M customers (~10 min on 2 cores)
    .venv/bin/python benchmarks/api_read.py --customers 100000 --seconds 5   # a quick look

What it does, in one run:

1. Starts a private redis-server (free port, data under a temp dir, no persistence) and loads N
   customers through the project's own ``ScoreProjection`` (the writer the projector uses): the
   insert rate, then a second pass re-scoring 30 % of them one day later (moves ranks and adds a
   history point) — the sustained rate at N customers. Both are **projection snapshots/s** of one
   Python process writing to one Redis, Kafka not included (the projector adds a fetch + commit).
2. Fills every customer's history to 90 daily points by rewriting the record's history section
   (codec.py's layout; what 90 days of daily snapshots leave) and reports **Redis memory per
   million customers** (used_memory delta, scaled).
3. Loads the minimal service's own data into the same Redis: the same snapshot JSON, stored plain,
   one sorted set for all active customers and one per owner (what a first implementation does).
4. Starts ``vitals api`` (one uvicorn worker, API keys on, metrics on) and the minimal service
   (FastAPI + redis-py/hiredis, one uvicorn worker, uvloop + httptools, gc.freeze, the same
   BlockingConnectionPool) and measures, for each of: top-50 global (default status=active),
   top-50 of one owner (random among 50 owners, ~20k customers each), one customer (random):
   * p50/p99 at 1,000 req/s open loop (requests sent on schedule whatever the answers do; latency
     counted from the scheduled time, so queueing is included);
   * saturated req/s (closed loop, ``--connections`` connections).
   The load generator is this process (asyncio + uvloop, raw HTTP/1.1 keep-alive), on the same
   2 cores as the servers and Redis: absolute figures are low, the ratios are the point.

Targets (issue 11): p99 ≤ 1.3× and saturated throughput ≥ 0.8× the minimal service, every list.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from projector.support import EXAMPLE  # noqa: E402

from vitals.projector import codec  # noqa: E402
from vitals.projector.writer import ScoreProjection  # noqa: E402

OWNERS = 50
SEGMENTS = ("enterprise", "mid_market", "smb", "self_serve")
QUADRANTS = codec.QUADRANTS
BANDS = ("low", "medium", "high", "critical")
CHURNED_SHARE = 0.05
WRITE_BATCH = 5_000
API_KEY = "bench-key-0123456789"
DAY = 86_400.0
T0 = 1_795_000_000.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def snapshot(i: int, ts: float, rng: random.Random) -> tuple[dict[str, Any], bytes]:
    """A varied snapshot of customer i (owner i % 50, 5 % churned), its compact JSON bytes."""
    s = orjson.loads(EXAMPLE_BYTES)
    risk = round(rng.random() * 100, 1)
    s["customer_id"] = f"cus_{i:07d}"
    s["as_of_ts"] = ts
    s["mrr"] = float(rng.randint(10, 5000))
    s["profile"].update(
        name=f"Customer {i}", owner=f"owner{i % OWNERS:02d}", segment=SEGMENTS[i % 4]
    )
    s["risk"].update(value=risk, band=BANDS[min(3, int(risk // 25))])
    s["risk"]["components"] = {
        "from_temperature": round(rng.random(), 4),
        "from_health": round(rng.random(), 4),
        "from_trend": round(rng.random() * 0.1, 4),
    }
    s["temperature"]["value"] = round(rng.random() * 100, 1)
    s["health"]["value"] = round(rng.random() * 100, 1)
    s["quadrant"] = QUADRANTS[rng.randrange(4)]
    s["lifecycle"]["stage"] = "churned" if rng.random() < CHURNED_SHARE else "stable"
    s["clv"]["value"] = float(rng.randint(100, 90000))
    s["stats"]["events"] = rng.randint(1, 5000)
    return s, orjson.dumps(s)


EXAMPLE_BYTES = orjson.dumps(EXAMPLE)


# --------------------------------------------------------------------------- servers


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[int]:
    if shutil.which("redis-server") is None:
        sys.exit("redis-server not found: run `vitals stack up` once (it apt-get installs it)")
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def service(args: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            args, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                sys.exit(f"{args} exited with {proc.returncode}; see {log}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                sys.exit(f"{args} did not listen on {port}; see {log}")
            time.sleep(0.1)
        time.sleep(1.0)  # let the lifespan finish and gc.freeze run
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


MINIMAL_APP = """
import gc, asyncio
from fastapi import FastAPI, Response
from redis.asyncio import BlockingConnectionPool, Redis
app = FastAPI()
redis = Redis(connection_pool=BlockingConnectionPool.from_url(
    "redis://127.0.0.1:{port}/0", max_connections=64, timeout=5))

@app.on_event("startup")
async def freeze():
    asyncio.get_running_loop().call_later(0.5, gc.freeze)

@app.get("/top")
async def top(owner: str | None = None, limit: int = 50):
    key = f"m:r:owner:{{owner}}" if owner else "m:r:active"
    ids = await redis.zrevrange(key, 0, limit - 1)
    snaps = await redis.mget([b"m:s:" + i for i in ids]) if ids else []
    return Response(b'{{"items":[' + b",".join(s for s in snaps if s) + b']}}',
                    media_type="application/json")

@app.get("/c/{{cid}}")
async def customer(cid: str):
    s = await redis.get("m:s:" + cid)
    if s is None:
        return Response(status_code=404)
    return Response(s, media_type="application/json")
"""


# --------------------------------------------------------------------------- load generator


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status


async def connect(port: int, n: int) -> list[Conn]:
    out = []
    for _ in range(n):
        r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
        out.append(Conn(r, w))
    return out


def request_bytes(path: str, auth: bool) -> bytes:
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if auth:
        head += f"Authorization: Bearer {API_KEY}\r\n"
    return (head + "\r\n").encode()


async def open_loop(port: int, paths: list[bytes], rate: float, seconds: float) -> dict[str, Any]:
    """Send at ``rate`` req/s on schedule; latency from the scheduled instant."""
    conns = await connect(port, 64)
    free: asyncio.Queue[Conn] = asyncio.Queue()
    for c in conns:
        free.put_nowait(c)
    latencies: list[float] = []
    errors = 0
    total = int(rate * seconds)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    tasks = []

    async def one(i: int, due: float) -> None:
        nonlocal errors
        conn = await free.get()
        try:
            status = await conn.request(paths[i % len(paths)])
            if status != 200:
                errors += 1
        finally:
            free.put_nowait(conn)
        latencies.append(loop.time() - due)

    for i in range(total):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    for c in conns:
        c.writer.close()
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "errors": errors,
    }


async def saturated(port: int, paths: list[bytes], connections: int, seconds: float) -> float:
    conns = await connect(port, connections)
    done = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def worker(conn: Conn, offset: int) -> None:
        nonlocal done
        i = offset
        while loop.time() < end:
            await conn.request(paths[i % len(paths)])
            i += connections
            done += 1

    started = loop.time()
    await asyncio.gather(*(worker(c, k) for k, c in enumerate(conns)))
    elapsed = loop.time() - started
    for c in conns:
        c.writer.close()
    return done / elapsed


# --------------------------------------------------------------------------- loading


async def redis_cpu(redis: Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def load(redis: Redis, n: int, rng: random.Random) -> dict[str, float]:
    """Projection rates: wall-clock snapshots/s, and snapshots per CPU-second of the writer
    process plus Redis (what the machine's other load does not change much)."""
    projection = ScoreProjection(redis)
    insert_s = update_s = 0.0
    cpu = {"py": 0.0, "redis": -await redis_cpu(redis)}
    generated = 0
    for start in range(0, n, WRITE_BATCH):
        batch = [snapshot(i, T0 + i * 1e-3, rng) for i in range(start, min(n, start + WRITE_BATCH))]
        generated += len(batch)
        t, c = time.perf_counter(), time.process_time()
        await projection.apply(batch)
        insert_s += time.perf_counter() - t
        cpu["py"] += time.process_time() - c
        if start % 200_000 == 0:
            print(f"  loaded {start + len(batch):,}", flush=True)
    updates = int(n * 0.3)
    picks = rng.sample(range(n), updates)
    for start in range(0, updates, WRITE_BATCH):
        batch = [snapshot(i, T0 + DAY + i * 1e-3, rng) for i in picks[start : start + WRITE_BATCH]]
        t, c = time.perf_counter(), time.process_time()
        await projection.apply(batch)
        update_s += time.perf_counter() - t
        cpu["py"] += time.process_time() - c
    cpu["redis"] += await redis_cpu(redis)
    # apply_raw is what the projector calls (it decodes the JSON too): measure it on a slice.
    raws = [snapshot(i, T0 + 2 * DAY, rng)[1] for i in range(min(n, 50_000))]
    t = time.perf_counter()
    for start in range(0, len(raws), WRITE_BATCH):
        await projection.apply_raw(raws[start : start + WRITE_BATCH])
    raw_s = time.perf_counter() - t
    return {
        "per_cpu_s": (n + updates) / (cpu["py"] + cpu["redis"]),
        "py_us": cpu["py"] / (n + updates) * 1e6,
        "insert_per_s": n / insert_s,
        "update_per_s": updates / update_s,
        "raw_per_s": len(raws) / raw_s,
    }


async def fill_history(redis: Redis, n: int, rng: random.Random) -> None:
    """Give every record 90 daily points (what 90 days of daily snapshots leave behind)."""
    projection = ScoreProjection(redis)
    layout = projection.layout
    last_day = int((T0 + 2 * DAY) // DAY)
    # Values vary daily; quadrant and stage change a few times in 90 days (the code runs).
    codes = [rng.randrange(4) * 16 + rng.randrange(6) for _ in range(4)]
    points = [
        bytes([rng.randrange(200), rng.randrange(200), rng.randrange(200), codes[d // 23]])
        for d in range(codec.HISTORY_DAYS)
    ]
    hist = codec.history_bytes(last_day - codec.HISTORY_DAYS + 1, points)
    for start in range(0, n, WRITE_BATCH):
        keys = [layout.record(f"cus_{i:07d}") for i in range(start, min(n, start + WRITE_BATCH))]
        raws = await redis.mget(keys)
        pipe = redis.pipeline(transaction=False)
        for key, raw in zip(keys, raws, strict=True):
            rec = codec.split(raw)
            pipe.set(key, codec.encode(rec.header, hist, rec.snapshot_blob))
        await pipe.execute()


async def load_minimal(redis: Redis, n: int) -> None:
    """The minimal service's own keys: plain JSON and plain sorted sets (active customers)."""
    reader_layout = ScoreProjection(redis).layout
    for start in range(0, n, WRITE_BATCH):
        ids = [f"cus_{i:07d}" for i in range(start, min(n, start + WRITE_BATCH))]
        raws = await redis.mget([reader_layout.record(c) for c in ids])
        pipe = redis.pipeline(transaction=False)
        for cid, raw in zip(ids, raws, strict=True):
            rec = codec.split(raw)
            pipe.set(f"m:s:{cid}", rec.snapshot())
            if rec.header["stage"] != "churned" and rec.header["risk"]:
                pipe.zadd("m:r:active", {cid: float(rec.header["risk"])})
                pipe.zadd(f"m:r:owner:{rec.header['owner']}", {cid: float(rec.header["risk"])})
        await pipe.execute()


# --------------------------------------------------------------------------- main


def paths_for(kind: str, minimal: bool, n: int, rng: random.Random) -> list[bytes]:
    out = []
    for _ in range(5000):
        if kind == "global":
            path = "/top?limit=50" if minimal else "/v1/at-risk?limit=50"
        elif kind == "owner":
            owner = f"owner{rng.randrange(OWNERS):02d}"
            path = f"/top?owner={owner}&limit=50" if minimal else f"/v1/at-risk?owner={owner}"
        else:
            cid = f"cus_{rng.randrange(n):07d}"
            path = f"/c/{cid}" if minimal else f"/v1/customers/{cid}"
        out.append(request_bytes(path, auth=not minimal))
    return out


async def measure(ports: dict[str, int], args: argparse.Namespace) -> dict[str, Any]:
    """Both services are up; for each read, alternate Vitals and minimal ``--reps`` times (the
    machine is shared: alternating spreads outside load over both) and keep each side's best."""
    out: dict[str, dict[str, Any]] = {"vitals": {}, "minimal": {}}
    for kind in ("global", "owner", "customer"):
        for rep in range(args.reps):
            order = ("vitals", "minimal") if rep % 2 == 0 else ("minimal", "vitals")
            for name in order:
                minimal = name == "minimal"
                paths = paths_for(kind, minimal, args.customers, random.Random(7 + rep))
                await saturated(ports[name], paths, 8, 1.0)  # warm-up
                gc.collect()
                lat = await open_loop(ports[name], paths, args.rate, args.seconds)
                rps = await saturated(ports[name], paths, args.connections, args.seconds)
                print(f"  {name:8s} {kind:8s} p50 {lat['p50_ms']:7.2f} ms  p99 "
                      f"{lat['p99_ms']:7.2f} ms  errors {lat['errors']}  saturated {rps:6.0f}/s",
                      flush=True)  # fmt: skip
                best = out[name].get(kind)
                if best is None:
                    out[name][kind] = {**lat, "saturated_rps": rps}
                else:
                    best["saturated_rps"] = max(best["saturated_rps"], rps)
                    if lat["p99_ms"] < best["p99_ms"]:
                        best.update(lat)
    return out


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="vitals-api-read-"))
    rng = random.Random(20261201)
    try:
        with redis_server(workdir) as redis_port:
            redis = Redis(port=redis_port)
            base = (await redis.info("memory"))["used_memory"]
            print(f"loading {args.customers:,} customers through ScoreProjection ...", flush=True)
            rates = await load(redis, args.customers, rng)
            print("filling 90 days of history ...", flush=True)
            await fill_history(redis, args.customers, rng)
            vitals_mem = (await redis.info("memory"))["used_memory"] - base
            print("loading the minimal service's data ...", flush=True)
            await load_minimal(redis, args.customers)
            minimal_mem = (await redis.info("memory"))["used_memory"] - base - vitals_mem
            await redis.aclose()
            api_port, min_port = free_port(), free_port()
            env = {
                "VITALS_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "VITALS_API_PORT": str(api_port),
                "VITALS_API_KEYS": f"{API_KEY}:read",
            }
            (workdir / "minimal_app.py").write_text(MINIMAL_APP.format(port=redis_port))
            py = sys.executable
            min_args = [py, "-m", "uvicorn", "minimal_app:app", "--port", str(min_port),
                        "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                        "--log-level", "warning", "--app-dir", str(workdir)]  # fmt: skip
            with (
                service([py, "-m", "vitals.cli", "api"], env, api_port, workdir / "api.log"),
                service(min_args, {}, min_port, workdir / "minimal.log"),
            ):
                print("measuring (vitals api and minimal service alternately) ...", flush=True)
                results = await measure({"vitals": api_port, "minimal": min_port}, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    scale = 1_000_000 / args.customers
    print()
    print(f"customers: {args.customers:,}; open loop {args.rate:.0f} req/s for {args.seconds} s; "
          f"saturated with {args.connections} connections")  # fmt: skip
    print(f"projection: insert {rates['insert_per_s']:,.0f} snapshots/s; re-score at "
          f"{args.customers:,} customers {rates['update_per_s']:,.0f}/s; apply_raw (decode too) "
          f"{rates['raw_per_s']:,.0f}/s  [target >= 50,000/s]; "
          f"{rates['per_cpu_s']:,.0f} snapshots per CPU-second (writer + Redis; writer "
          f"{rates['py_us']:.1f} us each)")  # fmt: skip
    print(f"Redis memory per million customers (90 daily points each): "
          f"{vitals_mem * scale / 1e9:.2f} GB  [target <= 1.5 GB]; minimal service's data: "
          f"{minimal_mem * scale / 1e9:.2f} GB")  # fmt: skip
    print(f"{'read':10s} {'p50 ms':>16s} {'p99 ms':>22s} {'saturated req/s':>28s}")
    ok = True
    for kind in ("global", "owner", "customer"):
        v, m = results["vitals"][kind], results["minimal"][kind]
        p99_ratio = v["p99_ms"] / m["p99_ms"]
        rps_ratio = v["saturated_rps"] / m["saturated_rps"]
        good = p99_ratio <= 1.3 and rps_ratio >= 0.8
        ok &= good
        print(f"{kind:10s} {v['p50_ms']:6.2f} vs {m['p50_ms']:6.2f}  "
              f"{v['p99_ms']:6.2f} vs {m['p99_ms']:6.2f} ({p99_ratio:4.2f}x)  "
              f"{v['saturated_rps']:6.0f} vs {m['saturated_rps']:6.0f} ({rps_ratio:4.2f}x)  "
              f"{'ok' if good else 'MISSED'}")  # fmt: skip
    print(
        "targets (p99 <= 1.3x, saturated >= 0.8x the minimal service):", "met" if ok else "MISSED"
    )
    if any(r[k]["p50_ms"] > 50 for r in results.values() for k in r):
        print(
            f"NOTE: a p50 above 50 ms means that service could not keep up with {args.rate:.0f} "
            "req/s on this machine (queueing): compare saturated req/s, and the load average."
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="open-loop req/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--connections", type=int, default=16, help="saturated, closed loop")
    parser.add_argument("--reps", type=int, default=2, help="alternations per read (best kept)")
    import uvloop

    uvloop.run(main(parser.parse_args()))
