"""The API's page cache: served while nothing changed, dropped on every projection change."""

from __future__ import annotations

import asyncio
import contextlib

from redis.asyncio import Redis

from vitals.api.page_cache import PageCache
from vitals.platform import keyspace as keys
from vitals.platform.settings import Settings

from .conftest import ClientFactory
from .support import make_snapshot, seed


def test_entries_are_kept_only_while_live_and_unchanged() -> None:
    cache = PageCache(max_bytes=10)
    cache.put("a", b"1", cache.generation)
    assert cache.get("a") is None  # not subscribed: nothing is cached
    cache.live = True
    before = cache.generation
    cache.put("a", b"1", before)
    assert cache.get("a") == b"1"
    cache.invalidate()
    assert cache.get("a") is None
    cache.put("b", b"2", before)  # read before the change, finished after it: refused
    assert cache.get("b") is None


def test_the_cache_is_bounded_by_bytes_least_recently_used_out() -> None:
    cache = PageCache(max_bytes=10)
    cache.live = True
    for key in ("a", "b", "c"):
        cache.put(key, b"xxxx", cache.generation)
    assert cache.get("a") is None  # 12 bytes > 10: the oldest went
    assert cache.get("b") == b"xxxx" and cache.get("c") == b"xxxx"
    cache.put("big", b"x" * 11, cache.generation)
    assert cache.get("big") is None


async def until(condition: object, seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def test_follow_drops_the_cache_on_a_published_change(settings: Settings) -> None:
    client = Redis.from_url(settings.redis_url)
    cache = PageCache()
    task = asyncio.create_task(cache.follow(client, keys.changes_channel()))
    try:
        await until(lambda: cache.live)
        cache.put("page", b"old", cache.generation)
        assert cache.get("page") == b"old"
        await client.publish(keys.changes_channel(), "1")
        await until(lambda: cache.get("page") is None)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()
    assert not cache.live


async def test_api_serves_the_new_page_after_the_projection_changes(
    api: ClientFactory, redis: Redis
) -> None:
    await seed(redis, [make_snapshot("a", 1.0, risk=50.0), make_snapshot("b", 1.0, risk=40.0)])
    async with api() as client:

        async def top() -> list[str]:
            response = await client.get("/v1/at-risk", params={"limit": 1})
            assert response.status_code == 200
            return [item["customer_id"] for item in response.json()["items"]]

        await until(lambda: client._transport.app.state.page_cache.live)  # type: ignore[attr-defined]
        assert await top() == ["a"] and await top() == ["a"]  # the second one from the cache
        await seed(redis, [make_snapshot("b", 2.0, risk=90.0)])  # the writer publishes
        for _ in range(500):
            if await top() == ["b"]:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the cached page outlived the change")
