"""The API and the projection's entry points find a Redis Cluster by themselves (connect.py)."""

from __future__ import annotations

import httpx
import orjson
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from vitals.api.app import create_app
from vitals.platform.settings import Settings
from vitals.projector.connect import connect, is_cluster
from vitals.projector.writer import ScoreProjection

from .conftest import cluster_client
from .support import make_snapshot


async def test_connect_tells_a_cluster_from_a_single_redis(
    settings: Settings, cluster_ports: list[int]
) -> None:
    cluster_url = f"redis://127.0.0.1:{cluster_ports[1]}/0"
    assert await is_cluster(cluster_url)
    assert not await is_cluster(settings.redis_url)
    client = await connect(cluster_url)
    assert isinstance(client, RedisCluster)
    await client.aclose()
    single = await connect(settings.redis_url)
    assert isinstance(single, Redis)
    await single.aclose()


async def test_api_serves_lists_and_customers_from_a_cluster(
    settings: Settings, cluster_ports: list[int]
) -> None:
    seeded = await cluster_client(cluster_ports)
    owners = ("dana", "lee", "omar")
    await ScoreProjection(seeded).apply(
        [
            make_snapshot(f"c{i:03d}", 1.0, risk=float(i % 97), owner=owners[i % 3])
            for i in range(300)
        ]
    )
    await seeded.aclose()
    app = create_app(
        settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{cluster_ports[2]}/0"})
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vitals.test") as client:
            ids: list[str] = []
            cursor = None
            while True:
                params = {"owner": "lee", "limit": 7, **({"cursor": cursor} if cursor else {})}
                body = (await client.get("/v1/at-risk", params=params)).json()
                ids += [item["customer_id"] for item in body["items"]]
                cursor = body["next_cursor"]
                if cursor is None:
                    break
            one = await client.get("/v1/customers/c042")
            counts = (await client.get("/v1/segments")).json()
    lee = [(i % 97, f"c{i:03d}") for i in range(300) if i % 3 == 1]
    assert ids == [cid for _, cid in sorted(lee, reverse=True)]
    assert orjson.loads(one.content)["customer_id"] == "c042"
    assert counts["customers"] == 300 and counts["owner"] == {"dana": 100, "lee": 100, "omar": 100}
