"""Connect to the projection's Redis: a single server or a Redis Cluster, told apart at start-up.

``VITALS_REDIS_URL`` names one node either way; ``connect`` asks it (``INFO cluster``) and returns a
``RedisCluster`` client when cluster mode is on, so moving to a cluster needs no new setting: point
the URL at any master and run ``vitals rebuild-redis`` (the key layout differs:
platform/keyspace.py).
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError


async def is_cluster(url: str) -> bool:
    """Whether the node at ``url`` runs in cluster mode; False when it cannot be asked (Redis down
    at start-up: the caller's plain client then reports the outage, e.g. the API's /readyz)."""
    probe = Redis.from_url(url)
    try:
        info = await probe.info("cluster")
    except (RedisError, OSError):
        return False
    finally:
        await probe.aclose()
    return bool(info.get("cluster_enabled"))


async def connect(url: str) -> Redis | RedisCluster:
    """A bytes client for ``url``: ``RedisCluster`` if that node runs in cluster mode."""
    if await is_cluster(url):
        client = RedisCluster.from_url(url)
        await client.initialize()
        return client
    return Redis.from_url(url)
