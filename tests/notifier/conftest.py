from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from vitals.platform.settings import Settings

from .support import ScriptedServer


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    srv = ScriptedServer()
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    """A client on this test's own (flushed) Redis database."""
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()
