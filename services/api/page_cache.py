"""Projection reads cached in the API process, dropped whenever the projection changes.

A list page (GET /v1/at-risk) stays the same bytes until the projector applies a batch, and a
dashboard asks for the same few pages (the top of the default list, an owner's list) far more
often than the book changes. One customer's snapshot is not cached: it is one key read already.
The writer's script publishes on ``keys.changes_channel`` after every batch that changed something
(projector/writer.py; the rebuild's delete publishes too), and ``PageCache.follow`` drops the whole
cache on each message: no entry outlives a change by more than the Pub/Sub delivery
(sub-millisecond on one host).

* A read that started before a change and finished after it is not stored: ``put`` takes the
  generation seen before the read and refuses the entry when a change came in between.
* While the subscription is not up (start-up, Redis restarting) nothing is served from or stored
  in the cache: a missed message must not leave stale pages behind.
* Bounded by bytes (``MAX_BYTES``), least recently used first out.
* Off on a Redis Cluster (redis-py's asyncio cluster client has no Pub/Sub): every read goes to
  Redis, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Hashable
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Cached bytes per API process: a top-50 page is ~50–80 KB of JSON, so ~500 pages.
MAX_BYTES: Final = 32 * 1024 * 1024
# Wait before subscribing again after the subscription failed (Redis down or restarting).
RESUBSCRIBE_S: Final = 1.0
# How long one wait for a message lasts (then the loop checks the connection again).
POLL_S: Final = 1.0


class PageCache:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        self.generation = 0
        # True only while subscribed to the changes channel: then every change reaches us.
        self.live = False

    def get(self, key: Hashable) -> bytes | None:
        if not self.live:
            return None
        body = self._entries.get(key)
        if body is not None:
            self._entries.move_to_end(key)
        return body

    def put(self, key: Hashable, body: bytes, generation: int) -> None:
        """Store ``body`` read while the cache was at ``generation`` (unless it changed since)."""
        if not self.live or generation != self.generation or len(body) > self._max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old)
        self._entries[key] = body
        self._bytes += len(body)
        while self._bytes > self._max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped)

    def invalidate(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._bytes = 0

    async def follow(self, redis: Redis, channel: str) -> None:
        """Drop the cache on every message on ``channel``, until cancelled; resubscribes after
        errors (the cache is off meanwhile)."""
        me = asyncio.current_task()
        while True:
            pubsub = redis.pubsub()
            try:
                await pubsub.subscribe(channel)
                while True:
                    # redis-py can swallow a cancellation that lands while it connects: check.
                    if me is not None and me.cancelling():
                        raise asyncio.CancelledError
                    message = await pubsub.get_message(timeout=POLL_S)
                    if message is None:
                        continue
                    self.invalidate()
                    if message["type"] == "subscribe":
                        self.live = True
            except (RedisError, OSError) as exc:
                log.warning("page cache off: changes subscription failed (%s); retrying", exc)
            finally:
                self.live = False
                self.invalidate()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(RESUBSCRIBE_S)
