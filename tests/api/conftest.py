from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from vitals.api.app import create_app
from vitals.platform import keyspace as keys
from vitals.platform.settings import Settings

ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    """A bytes client on the test's flushed Redis database (for seeding)."""
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def api(settings: Settings) -> ClientFactory:
    """``async with api(**settings_overrides) as client``: the app with its lifespan running."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        # A complete (if empty) projection, as a projector's first batch leaves it: the read
        # routes answer 503 "rebuilding" without the marker (test_readiness.py).
        marker = Redis.from_url(settings.redis_url)
        await marker.set(keys.ready(), b"0")
        await marker.aclose()
        app = create_app(settings.model_copy(update=overrides))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://vitals.test"
            ) as client:
                yield client

    return factory
