from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis_cluster import local_cluster

from vitals.platform.settings import Settings


@pytest.fixture(scope="session")
def cluster_ports(stack: Settings) -> Iterator[list[int]]:
    """A three-master Redis Cluster for this session (after ``stack``: redis-server installed)."""
    with local_cluster(Path(stack.data_dir)) as ports:
        yield ports


async def cluster_client(ports: list[int]) -> RedisCluster:
    """A bytes client on the session's cluster, every master flushed."""
    client = RedisCluster(host="127.0.0.1", port=ports[0])
    await client.initialize()
    await client.flushall(target_nodes=RedisCluster.PRIMARIES)
    return client


@pytest.fixture(params=["single", "cluster"])
async def redis(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Redis]:
    """A bytes client: the test's flushed Redis database, or the session's flushed cluster (the
    projection must behave the same on both)."""
    if request.param == "single":
        client: Redis | RedisCluster = Redis.from_url(settings.redis_url)
    else:
        client = await cluster_client(request.getfixturevalue("cluster_ports"))
    yield client  # type: ignore[misc]
    await client.aclose()
