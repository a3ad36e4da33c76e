"""Without the projection's completeness marker (a flushed or lost Redis, a rebuild under way) the
read routes answer 503 "rebuilding" with Retry-After; probes and alert management still answer."""

from __future__ import annotations

from redis.asyncio import Redis

from vitals.platform import keyspace as keys

from .conftest import ClientFactory
from .support import make_snapshot, seed


async def test_read_routes_are_503_rebuilding_until_the_marker_is_back(
    api: ClientFactory, redis: Redis
) -> None:
    async with api() as client:
        await redis.delete(keys.ready())
        await seed(redis, [make_snapshot("acme", 1.0, risk=50.0)])  # a projector's writes go on
        await redis.delete(keys.ready())  # ...but a running projector does not mark it whole
        for path in ("/v1/customers/acme", "/v1/customers/acme/history", "/v1/at-risk"):
            response = await client.get(path)
            assert response.status_code == 503, path
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["retry-after"] == "10"
            assert response.json()["title"] == "Rebuilding"
            assert "vitals rebuild-redis" in response.json()["detail"]
        assert (await client.get("/v1/segments")).status_code == 503
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
    async with api() as client:  # the marker is back (a finished rebuild sets it)
        assert (await client.get("/v1/customers/acme")).status_code == 200
