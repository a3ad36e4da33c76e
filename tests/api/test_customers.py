from __future__ import annotations

import orjson
from redis.asyncio import Redis

from vitals.platform import keyspace as keys

from .conftest import ClientFactory
from .support import make_snapshot, seed


async def test_customer_returns_the_stored_bytes(api: ClientFactory, redis: Redis) -> None:
    snap, raw = make_snapshot("acme", 10.0)
    await seed(redis, [(snap, raw)])
    async with api() as client:
        response = await client.get("/v1/customers/acme")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == raw


async def test_unknown_customer_is_404_problem(api: ClientFactory) -> None:
    async with api() as client:
        response = await client.get("/v1/customers/nobody")
        history = await client.get("/v1/customers/nobody/history")
    for r in (response, history):
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 404 and "nobody" in r.json()["detail"]


async def test_history_is_oldest_first_and_limited(api: ClientFactory, redis: Redis) -> None:
    day = 86_400.0
    await seed(redis, [make_snapshot("acme", t * day, risk=float(t * 10)) for t in range(1, 6)])
    async with api() as client:
        response = await client.get("/v1/customers/acme/history", params={"limit": 2})
        too_many = await client.get("/v1/customers/acme/history", params={"limit": 501})
    body = orjson.loads(response.content)
    assert body["customer_id"] == "acme"
    assert [(p["as_of_ts"], p["risk"]) for p in body["points"]] == [
        (5 * day - 1, 40.0),
        (5 * day, 50.0),
    ]
    assert too_many.status_code == 422
    assert too_many.headers["content-type"] == "application/problem+json"


async def test_segments_counts_rfm_lifecycle_quadrant(api: ClientFactory, redis: Redis) -> None:
    await seed(
        redis,
        [
            make_snapshot("a", 1.0, rfm="important_value", stage="growth", quadrant="upsell"),
            make_snapshot("b", 1.0, rfm="important_value", stage="decline", quadrant="at_risk"),
            make_snapshot("c", 1.0, rfm="general_retain", stage="decline", quadrant="at_risk"),
        ],
    )
    async with api() as client:
        body = (await client.get("/v1/segments")).json()
    assert body["customers"] == 3
    assert body["rfm"] == {"general_retain": 1, "important_value": 2}
    assert body["lifecycle"] == {"decline": 2, "growth": 1}
    assert body["quadrant"] == {"at_risk": 2, "upsell": 1}


async def test_a_record_written_by_an_older_version_is_503_rebuild_needed(
    api: ClientFactory, redis: Redis
) -> None:
    # After an upgrade, Redis still holds the old record format until `vitals rebuild-redis`.
    await seed(redis, [make_snapshot("acme", 10.0)])
    layout = keys.Layout.for_client(redis)
    await redis.setrange(layout.record("acme"), 0, b"1")  # the format byte of an older version
    async with api() as client:
        responses = [
            await client.get("/v1/customers/acme"),
            await client.get("/v1/customers/acme/history"),
        ]
    for response in responses:
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "60"
        body = response.json()
        assert body["type"] == "urn:vitals:problem:rebuild-needed"
        assert "vitals rebuild-redis" in body["detail"]
