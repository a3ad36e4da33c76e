"""Helpers for the alert tests: alert records and a real local HTTP server with scripted replies.

The server stands in for Slack/Teams/...: it is a real uvicorn + Starlette server on 127.0.0.1
(random port), so delivery goes through httpx's real network stack, timeouts and all.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_ALERT: dict[str, Any] = json.loads(
    (ROOT / "schemas" / "examples" / "alert.example.json").read_text()
)
_ids = itertools.count(1)
T = TypeVar("T")
# A store fixture with these params runs each of its tests on both implementations.
STORE_KINDS = ["memory", "redis"]


def memory_or_redis(
    request: pytest.FixtureRequest, in_memory: Callable[[], T], over_redis: Callable[[Any], T]
) -> T:
    """The store a ``params=STORE_KINDS`` fixture asked for: the in-memory one, or the Redis one
    over this test's own database (the ``redis`` fixture)."""
    if request.param == "memory":
        return in_memory()
    return over_redis(request.getfixturevalue("redis"))


def make_alert(**overrides: Any) -> dict[str, Any]:
    """The published example alert with a fresh alert_id, raised now, plus ``overrides``."""
    alert = copy.deepcopy(EXAMPLE_ALERT)
    alert["alert_id"] = f"test{next(_ids):012d}"
    alert["raised_at_ts"] = time.time()
    alert.update(overrides)
    return alert


def oversized_alert() -> dict[str, Any]:
    """An alert whose every text runs past every chat format's limits (title, customer, owner,
    reasons and their count), with scores before, so each format has to cut it down to fit."""
    return make_alert(
        title="T" * 1000,
        customer_name="N" * 5000,
        owner="o" * 3000,
        reasons=[{"text": "r" * 900} for _ in range(40)],
        before={"temperature": 1.0, "health": 2.0, "risk": 3.0},
    )


@dataclass
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Received:
    path: str
    at: float  # time.monotonic() when the request arrived
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ScriptedServer:
    """POST /<path> answers with the next scripted ``Reply`` for that path, else 200 "ok"."""

    def __init__(self) -> None:
        self.scripts: dict[str, deque[Reply]] = {}
        self.requests: list[Received] = []
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def script(self, path: str, *replies: Reply) -> str:
        """Queue replies for ``path`` and return its full URL."""
        self.scripts.setdefault(path, deque()).extend(replies)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def received(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def _handle(self, request: Request) -> Response:
        path = request.path_params["path"]
        self.requests.append(
            Received(path, time.monotonic(), dict(request.headers), await request.body())
        )
        queue = self.scripts.get(path)
        reply = queue.popleft() if queue else Reply()
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        return Response(reply.body, status_code=reply.status, headers=reply.headers)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        deadline = time.monotonic() + 5
        while not self._server.started:
            if time.monotonic() > deadline or self._task.done():
                raise RuntimeError("test HTTP server did not start")
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task


async def create_topics(bootstrap: str, *names: str, partitions: int = 1) -> None:
    """Create fresh topics (the broker does not auto-create them)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()
