"""A real ingest server (uvicorn, in a thread of the test process) for clients that speak HTTP
themselves, such as the Segment and RudderStack SDKs; and a sink that loses acknowledgements."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from e2e.services import free_port
from fastapi import FastAPI

from vitals.ingest.errors import SinkUnavailable
from vitals.ingest.producer import KafkaEventSink, Record

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on a free loopback port until the block ends; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"ingest-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"ingest did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT_S)


class LostAckSink:
    """The Kafka sink, except that the first ``failures`` batches are written to Kafka and then
    answered as if the acknowledgement never came (503): the worst case for duplicates."""

    def __init__(self, inner: KafkaEventSink, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.failed: list[list[Record]] = []

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    async def ready(self) -> bool:
        return await self.inner.ready()

    async def send_batch(self, items: list[Record]) -> None:
        await self.inner.send_batch(items)
        if self.failures > 0:
            self.failures -= 1
            self.failed.append(list(items))
            raise SinkUnavailable("forced by the test: acknowledgement lost", "timeout")
