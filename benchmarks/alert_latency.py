"""Time from a predicted crossing to the delivered webhook, on the real stack (wall clock).

Starts a private stack, `vitals scorer` (wall clock) and `vitals notifier` with one generic webhook
destination pointing at a local receiver, then loads N customers whose product usage stopped
almost 10 days ago, so each one's "gone quiet" crossing falls at a known moment in the next minute
or two. Nothing is sent for them afterwards: only the silence timers can raise the alerts. For every
gone-quiet alert the receiver gets, it records arrival − predicted_at_ts.

    .venv/bin/python benchmarks/alert_latency.py [--customers 200] [--spread-s 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vitals.core.config import DEFAULT_CONFIG
from vitals.platform.settings import Settings, to_env
from vitals.tools.stackctl import stack_down, stack_up

DAY = 86_400.0
# Customers' usage stopped so that their gone-quiet crossing lands LEAD_S after loading starts,
# plus a spread: the scorer must have loaded them (and run its 30 s backfill re-check) first.
LEAD_S = 60.0


def receiver(port: int, arrivals: dict[str, tuple[float, dict]]) -> uvicorn.Server:
    async def hook(request: Request) -> Response:
        body = orjson.loads(await request.body())
        arrivals.setdefault(body["alert_id"], (time.time(), body))
        return Response(status_code=204)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    return server


def events_for(cid: str, i: int, crossing: float) -> list[dict]:
    last_usage = crossing - DEFAULT_CONFIG.alerts.gone_quiet_days * DAY
    start = last_usage - 50 * DAY
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z"  # noqa: E731
    out = [
        {
            "event_id": f"{cid}-p",
            "customer_id": cid,
            "type": "profile",
            "timestamp": iso(start),
            "properties": {"name": f"Quiet {i}", "owner": "dana", "seats": 5},
        },
        {
            "event_id": f"{cid}-s",
            "customer_id": cid,
            "type": "subscription",
            "name": "started",
            "amount": 100.0,
            "timestamp": iso(start),
        },
    ]
    for d in range(51):
        out.append(
            {
                "event_id": f"{cid}-u{d}",
                "customer_id": cid,
                "type": "usage",
                "name": f"f{d % 4}",
                "user_id": f"u{d % 3}",
                "timestamp": iso(last_usage - (50 - d) * DAY),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--spread-s", type=float, default=60.0)
    parser.add_argument("--keep-stack", action="store_true")
    args = parser.parse_args()

    run = uuid.uuid4().hex[:6]
    data = Path(tempfile.gettempdir()) / "vitals-alert-bench"
    receiver_port, ingest_port = 39395, 39396
    settings = Settings(
        kafka_port=39392,
        kafka_controller_port=39393,
        redis_port=36779,
        data_dir=data,
        clock="wall",
        refit_interval_s=0.0,
        ingest_port=ingest_port,
        topic_events=f"events-{run}",
        topic_scores=f"scores-{run}",
        topic_alerts=f"alerts-{run}",
        topic_events_dead=f"events.dead-{run}",
        topic_alerts_dead=f"alerts.dead-{run}",
        scorer_app_id=f"bench-scorer-{run}",
    )
    print(f"stack: kafka {settings.kafka_bootstrap}, redis {settings.redis_url}, data {data}")
    stack_up(settings)
    arrivals: dict[str, tuple[float, dict]] = {}
    server = receiver(receiver_port, arrivals)
    destinations = [
        {
            "id": "bench",
            "kind": "webhook",
            "url": f"http://127.0.0.1:{receiver_port}/hook",
            "rate_per_s": 1000,
            "burst": 100,
        }
    ]
    env = (
        os.environ
        | to_env(settings)
        | {"VITALS_ALERT_DESTINATIONS": orjson.dumps(destinations).decode()}
    )
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "vitals.cli", *cmd],
            env=env,
            stdout=open(logs / f"{name}-{run}.log", "wb"),  # noqa: SIM115 (lives as long as the child)
            stderr=subprocess.STDOUT,
        )
        for name, cmd in (
            ("scorer", ["scorer", "--loglevel", "warn"]),
            ("notifier", ["notifier", "--start-at", "earliest"]),
            ("ingest", ["ingest"]),
        )
    ]
    try:
        base = f"http://127.0.0.1:{ingest_port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        time.sleep(8)  # the scorer and the notifier join their consumer groups
        t0 = time.time()
        crossings = {
            # Alert ids are (customer, rule, episode): new customer ids per run, or the
            # notifier rightly skips what an earlier run already delivered.
            f"quiet-{run}-{i:04d}": t0 + LEAD_S + args.spread_s * i / max(1, args.customers - 1)
            for i in range(args.customers)
        }
        batch: list[dict] = []
        for i, (cid, crossing) in enumerate(crossings.items()):
            batch += events_for(cid, i, crossing)
        for k in range(0, len(batch), 1000):
            response = httpx.post(
                f"{base}/v1/batch", json={"batch": batch[k : k + 1000]}, timeout=30
            )
            response.raise_for_status()
        print(
            f"loaded {len(batch):,} events for {args.customers} customers "
            f"in {time.time() - t0:.1f} s; "
            f"crossings from +{LEAD_S:.0f} s to +{LEAD_S + args.spread_s:.0f} s"
        )
        deadline = max(crossings.values()) + 60
        while time.time() < deadline:
            quiet = [a for a in arrivals.values() if a[1]["rule"] == "gone_quiet"]
            if len(quiet) >= args.customers:
                break
            time.sleep(0.5)
        quiet = [(at, body) for at, body in arrivals.values() if body["rule"] == "gone_quiet"]
        lags = sorted(at - body["predicted_at_ts"] for at, body in quiet)
        early = [
            body
            for _, body in quiet
            if abs(body["predicted_at_ts"] - crossings[body["customer_id"]]) > 2
        ]
        print(
            f"gone_quiet alerts delivered: {len(quiet)} of {args.customers} "
            f"(other alerts: {len(arrivals) - len(quiet)}); "
            f"predicted_at off the planted crossing by >2 s: {len(early)}"
        )
        if lags:
            p99 = lags[min(len(lags) - 1, round(0.99 * (len(lags) - 1)))]
            print(
                "predicted crossing -> webhook delivered: "
                f"median {statistics.median(lags) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
                f"max {lags[-1] * 1000:.0f} ms, min {lags[0] * 1000:.0f} ms"
            )
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
        server.should_exit = True
        if not args.keep_stack:
            stack_down(settings)


if __name__ == "__main__":
    asyncio.set_event_loop(asyncio.new_event_loop())
    main()
