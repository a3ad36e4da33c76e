from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from vitals.core.settings import Settings


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    """A bytes client on the test's flushed Redis database."""
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()
