"""The Kafka broker crashes (SIGKILL) and restarts under ingest load: while it is down, ingest
answers 503 with Retry-After; every event ingest acknowledged (200) is in `events` afterwards.

The test broker is shared by every test session on the machine, so this test starts a broker of
its own (deploy/stack.sh through vitals.tools.stackctl, on free ports, data under the test's tmp
dir) and kills that one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from vitals.platform.settings import Settings
from vitals.platform.topics import ensure_topics
from vitals.tools.stackctl import run_blocking, stack_down, stack_up

from .kafka_io import read_all
from .services import await_for, free_port, running

pytestmark = pytest.mark.integration

POSTERS = 4  # concurrent clients: a few requests are always in flight when the broker dies
EVENTS_PER_POST = 10
# Ingest gives up on a write after limits.DELIVERY_TIMEOUT_S (10 s): a poster sees a 503 within
# that while the broker is down. Three of them show it is the answer, not a fluke.
UNAVAILABLE_SEEN = 3
ACCEPTED_AFTER_RESTART = 20


@contextlib.contextmanager
def private_stack(data_dir: Path) -> Iterator[Settings]:
    kafka_port = free_port()
    settings = Settings(
        kafka_port=kafka_port,
        kafka_controller_port=free_port(),
        redis_port=free_port(),
        data_dir=data_dir,
        kafka_bootstrap=f"127.0.0.1:{kafka_port}",
        partitions=2,
    )
    settings = settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{settings.redis_port}/0"}
    )
    try:
        stack_up(settings, create_topics=False)
        run_blocking(lambda: ensure_topics(settings))
        yield settings
    finally:
        stack_down(settings)


def kill_broker(settings: Settings) -> None:
    pid = int((settings.data_dir / "kafka" / "kafka.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise TimeoutError(f"broker pid {pid} still alive after SIGKILL")


@dataclass
class Load:
    acknowledged: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    unavailable: list[httpx.Response] = field(default_factory=list)
    others: list[httpx.Response] = field(default_factory=list)
    posted: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def poster(self, client: httpx.AsyncClient, url: str, name: int) -> None:
        while not self.stop.is_set():
            batch = []
            for _ in range(EVENTS_PER_POST):
                self.posted += 1
                batch.append(
                    {
                        "event_id": f"load-{name}-{self.posted}",
                        "customer_id": f"c{self.posted % 50}",
                        "type": "usage",
                        "name": "report.exported",
                        "timestamp": datetime.now(UTC).isoformat(),
                    }
                )
            try:
                response = await client.post(url, json={"batch": batch})
            except httpx.HTTPError as exc:  # ingest itself must stay up: count it as a failure
                self.others.append(httpx.Response(599, text=repr(exc)))
                continue
            self.statuses[response.status_code] += 1
            if response.status_code == 200:
                rejected = {r["index"] for r in response.json()["rejected"]}
                assert not rejected, response.text
                self.acknowledged.update(e["event_id"] for e in batch)
            elif response.status_code == 503:
                self.unavailable.append(response)
                await asyncio.sleep(0.2)
            else:
                self.others.append(response)


async def test_broker_restart_under_ingest_load_503_while_down_and_no_acknowledged_event_lost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with private_stack(tmp_path / "stack") as stack:
        settings = stack.model_copy(update={"ingest_port": free_port()})
        url = f"http://127.0.0.1:{settings.ingest_port}"
        with running("ingest", ["ingest"], settings, tmp_path, f"{url}/healthz"):
            load = Load()
            async with httpx.AsyncClient(timeout=60.0) as client:

                async def ready() -> bool:
                    return (await client.get(f"{url}/readyz")).status_code == 200

                await await_for(ready, timeout=60, interval=0.2, what="ingest connected")
                posters = [
                    asyncio.create_task(load.poster(client, f"{url}/v1/batch", n))
                    for n in range(POSTERS)
                ]
                try:

                    async def accepted(n: int) -> bool:
                        assert not load.others, [r.text for r in load.others]
                        return len(load.acknowledged) >= n

                    await await_for(lambda: accepted(200), timeout=60, what="load flowing")
                    kill_broker(stack)
                    down_at = time.monotonic()
                    before_kill = len(load.acknowledged)

                    async def refused() -> bool:
                        return len(load.unavailable) >= UNAVAILABLE_SEEN

                    await await_for(refused, timeout=60, what="503s while the broker is down")
                    down_for = time.monotonic() - down_at
                    # In a thread: the posters keep posting while the broker starts again.
                    await asyncio.to_thread(stack_up, stack, create_topics=False)
                    after = len(load.acknowledged) + ACCEPTED_AFTER_RESTART * EVENTS_PER_POST
                    await await_for(
                        lambda: accepted(after), timeout=120, what="load accepted again"
                    )
                finally:
                    load.stop.set()
                    await asyncio.gather(*posters, return_exceptions=True)
        assert not load.others, [(r.status_code, r.text) for r in load.others]
        for response in load.unavailable:
            assert response.headers["content-type"] == "application/problem+json"
            assert int(response.headers["retry-after"]) > 0
            assert "resend" in response.json()["detail"]
        stored = {value["event_id"] for _, value in await read_all(settings, settings.topic_events)}
    lost = load.acknowledged - stored
    assert not lost, f"{len(lost)} acknowledged events lost, e.g. {sorted(lost)[:5]}"
    with capsys.disabled():
        print(
            f"\n[faults] broker SIGKILLed after {before_kill} acknowledged events, down "
            f"{down_for:.1f} s; responses {dict(load.statuses)}; {len(load.acknowledged)} "
            f"acknowledged, all in `events` ({len(stored)} stored incl. unacknowledged retries)"
        )
