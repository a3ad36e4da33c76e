from __future__ import annotations

import pytest
from redis.asyncio import Redis

from vitals.projector.reader import MAX_PAGE_LIMIT

from .conftest import ClientFactory
from .support import make_snapshot, seed

OWNERS = ("dana", "lee", "omar")


@pytest.fixture
async def book(redis: Redis) -> dict[str, dict]:
    items = [
        make_snapshot(
            f"c{i:02d}",
            1.0,
            risk=float(i * 7 % 11 * 9),
            mrr=float(10 + i),
            owner=OWNERS[i % 3],
            segment="smb" if i % 2 else "enterprise",
        )
        for i in range(33)
    ]
    await seed(redis, items)
    return {s["customer_id"]: s for s, _ in items}


async def walk(client, **params: object) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(200):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/at-risk", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [item["customer_id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("paging did not end")


def by(book: dict[str, dict], key) -> list[str]:
    return sorted(book, key=lambda c: (key(book[c]), c), reverse=True)


async def test_paging_returns_every_customer_once_most_at_risk_first(
    api: ClientFactory, book: dict[str, dict]
) -> None:
    async with api() as client:
        ids = await walk(client, limit=4)
    assert ids == by(book, lambda s: s["risk"]["value"])
    assert len(ids) == len(set(ids)) == 33


async def test_filters_and_revenue_order(api: ClientFactory, book: dict[str, dict]) -> None:
    async with api() as client:
        lee = await walk(client, limit=5, owner="lee")
        lee_smb_revenue = await walk(client, limit=2, owner="lee", segment="smb", order="revenue")
        none = await walk(client, quadrant="upsell")
    assert lee == [
        c for c in by(book, lambda s: s["risk"]["value"]) if book[c]["profile"]["owner"] == "lee"
    ]
    expected = [
        c
        for c in by(book, lambda s: s["risk"]["value"] / 100 * s["mrr"])
        if book[c]["profile"]["owner"] == "lee" and book[c]["profile"]["segment"] == "smb"
    ]
    assert lee_smb_revenue == expected
    assert none == []


@pytest.mark.parametrize("query", [{"limit": MAX_PAGE_LIMIT + 1}, {"limit": 0}, {"order": "mrr"}])
async def test_out_of_range_parameters_are_422(api: ClientFactory, query: dict) -> None:
    async with api() as client:
        response = await client.get("/v1/at-risk", params=query)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"][0] == "query"


async def test_bad_cursor_is_400_problem(api: ClientFactory, book: dict[str, dict]) -> None:
    async with api() as client:
        page = (await client.get("/v1/at-risk", params={"limit": 2})).json()
        wrong_order = await client.get(
            "/v1/at-risk", params={"cursor": page["next_cursor"], "order": "revenue"}
        )
        garbage = await client.get("/v1/at-risk", params={"cursor": "%%%"})
    assert wrong_order.status_code == 400 and "order=risk" in wrong_order.json()["detail"]
    assert garbage.status_code == 400


async def test_churned_customers_leave_the_default_list_and_have_their_own(
    api: ClientFactory, redis: Redis
) -> None:
    await seed(
        redis,
        [
            make_snapshot("lost", 1.0, risk=100.0, stage="churned"),
            make_snapshot("wobbly", 1.0, risk=70.0, stage="decline"),
            make_snapshot("fine", 1.0, risk=10.0),
        ],
    )
    async with api() as client:
        assert await walk(client) == ["wobbly", "fine"]
        assert await walk(client, status="churned") == ["lost"]
        assert await walk(client, status="all") == ["lost", "wobbly", "fine"]
        # A customer who comes back (reactivated) returns to the default list.
        await seed(redis, [make_snapshot("lost", 2.0, risk=40.0, stage="reactivated")])
        assert await walk(client) == ["wobbly", "lost", "fine"]
        assert await walk(client, status="churned") == []
