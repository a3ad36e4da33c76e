"""Test doubles of the EventSink seam and a client factory for the ingest app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from vitals.ingest.errors import SinkUnavailable
from vitals.ingest.producer import Record

BASE_URL = "http://ingest.test"


class MemorySink:
    """Keeps every batch it is given; can be told to fail like an unreachable Kafka."""

    def __init__(self) -> None:
        self.batches: list[list[Record]] = []
        self.fail_with: str | None = None

    async def send_batch(self, items: list[Record]) -> None:
        if self.fail_with is not None:
            raise SinkUnavailable("test sink is down", self.fail_with)
        self.batches.append(list(items))

    @property
    def records(self) -> list[Record]:
        return [record for batch in self.batches for record in batch]


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client on ``app`` with its lifespan (start-up and shutdown) running."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


async def post_batch(app: FastAPI, content: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST ``content`` with ``headers`` to ``app``'s /v1/batch, its lifespan running."""
    async with running(app) as client:
        return await client.post("/v1/batch", content=content, headers=headers)


def event(index: int, customer: str = "acme", **fields: object) -> dict[str, object]:
    return {
        "event_id": f"evt-{index}",
        "customer_id": customer,
        "type": "usage",
        "timestamp": "2026-11-23T18:30:00Z",
        "name": "report.exported",
        **fields,
    }
