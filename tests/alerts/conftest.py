from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from vitals.core.settings import Settings

from .support import ScriptedServer, create_topics


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    srv = ScriptedServer()
    await srv.start()
    yield srv
    await srv.stop()


# Fallback until tests/conftest.py (the shared fixtures) exists: a Settings on the private Redis
# (127.0.0.1:36380, db 3, flushed per test) and Kafka (127.0.0.1:36392) started by hand under
# /tmp/alerts-exp, with fresh topics per test. Defined only while the shared conftest is absent,
# so it never shadows the shared `settings` fixture.
if not (Path(__file__).resolve().parents[1] / "conftest.py").exists():

    @pytest.fixture
    async def settings() -> Settings:
        tag = uuid.uuid4().hex[:8]
        s = Settings(
            redis_url="redis://127.0.0.1:36380/3",
            kafka_bootstrap="127.0.0.1:36392",
            topic_alerts=f"alerts-{tag}",
            topic_alerts_dead=f"alerts.dead-{tag}",
        )
        await create_topics(s.kafka_bootstrap, s.topic_alerts, s.topic_alerts_dead)
        client = aioredis.from_url(s.redis_url)
        await client.flushdb()
        await client.aclose()
        return s
