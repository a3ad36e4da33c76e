"""Every Redis key of Vitals, in one place, with the reason for its shape.

Three prefixes, one per writer, so each can be deleted or rebuilt without touching the others:

    vitals:proj:    the score projection (projector, `vitals rebuild-redis`; read by the API)
    vitals:alerts:  destinations, alert-rule overrides, acks and snoozes (API), alert history and
                    delivery states (notifier)
    vitals:growth:  the growth projection (the growth worker, `vitals growth`; read by the API)

The score projection
--------------------

Layout (``P`` = the projection prefix, default ``vitals:proj:``; ``{t}`` = the shard's hash tag;
``{cid}`` = customer id):

    P{t}:c:{cid}                         string  the customer record (codec.py): compressed
                                                 snapshot, index header, 90 daily history points
    P{t}:r:{order}:{status}              zset    the shard's customers of that status, ranked
    P{t}:r:{order}:{status}:{dim}:{val}  zset    the same, one owner/segment/quadrant/band only
    P{t}:n:{dim}                         hash    customers per value of a dimension (rfm, stage, …)
    P{t}:meta                            hash    watermark, last projection time, snapshots applied
    Pready                               string  set when the projection holds every customer

Lists: every list the API offers in risk order — global, per owner, segment, quadrant or band,
each with a status (active or churned; "all" merges the two) — is one ranked set kept by the
projection, so a page is a seek and a range, O(log n + page), at any size and on any filter: no
set algebra per request. In revenue-at-risk order only the global and per-owner lists are kept
(``RANKED_DIMENSIONS``): a member costs ~112 bytes in Redis 7 whatever the customer, and the
segment/quadrant/band lists by revenue would add ~340 MB per million customers for lists that are
rarely asked for; those pages walk the global revenue list and check the filter on each record
(reader.py). A customer is in at most 7 sets (5 by risk, 2 by revenue).

Shards and hash tags (Redis Cluster): customers are split into ``shards`` groups by CRC32 of their
id, and every key of a group carries the group's hash tag, so one group lives in one cluster slot.
Tags per shard, not per customer or per list, because the apply script must move a customer
between its lists and rewrite its record atomically, and a script may only touch one slot: a tag
per customer would scatter each list over every slot; a tag per list would separate a customer from
its lists. So each shard is a complete projection of its customers, and a global list is the merge
of the shards' lists by (value desc, id desc) — exact, since a customer is in one shard and every
shard orders by the same key (reader.py). A single Redis uses 1 shard (no merge); a cluster uses
``CLUSTER_SHARDS`` tags whose slots are spread evenly over the 16384 slots, so ``redis-cli --cluster
create`` with 1, 2, 3, 4, 6 or 12 masters gives each master the same number of shards. The number
of shards is part of the layout: changing it needs ``vitals rebuild-redis``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Final, Literal

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

# Under its own sub-prefix so `vitals rebuild-redis` can delete the projection without touching
# other Vitals data kept in the same Redis (webhook destinations, alert acknowledgements).
PREFIX: Final = "vitals:proj:"

# Ranking orders: "risk" = risk value 0–100; "revenue" = revenue at risk = risk/100 × MRR, to the
# cent.
Order = Literal["risk", "revenue"]
ORDERS: Final[tuple[Order, ...]] = ("risk", "revenue")

# Dimensions a ranked list can be filtered by (besides status, which every list has).
LIST_DIMENSIONS: Final = ("owner", "segment", "quadrant", "band")
# The dimensions a ranked list is kept for, per order (see the module docstring: memory).
RANKED_DIMENSIONS: Final[dict[Order, tuple[str, ...]]] = {
    "risk": LIST_DIMENSIONS,
    "revenue": ("owner",),
}
FILTER_DIMENSIONS: Final = (*LIST_DIMENSIONS, "status")
# "churned" for customers whose lifecycle stage is churned, else "active". The API's at-risk list
# shows active customers unless asked otherwise: churned means lost, not at risk.
STATUSES: Final = ("active", "churned")
# Dimensions whose population counts are kept (GET /v1/segments).
COUNT_DIMENSIONS: Final = ("owner", "segment", "quadrant", "band", "rfm", "stage")

# Fields of the meta hash (one per shard; the reader merges them).
META_WATERMARK: Final = "watermark_ts"  # max as_of_ts seen (Unix s): how far the stream has come
META_LAST_PROJECTION: Final = "last_projection_ts"  # wall clock (Unix s) of the last applied batch
META_APPLIED: Final = "snapshots_applied"  # snapshots that moved a customer forward (not replays)
META_INVALID: Final = "snapshots_invalid"

# Shards on a Redis Cluster: more than masters, so slots (and load) can be moved between masters
# a shard at a time; 12 divides evenly over 1, 2, 3, 4, 6 and 12 masters. Each global page reads
# one list per shard, so more shards = more work per page.
CLUSTER_SHARDS: Final = 12


def _tags(shards: int) -> tuple[str, ...]:
    """A hash tag per shard whose slot lies in the shard's equal share of the 16384 slots."""
    if shards == 1:
        return ("{0}",)
    tags = []
    width = REDIS_CLUSTER_HASH_SLOTS / shards
    for shard in range(shards):
        k = 0
        while True:
            tag = f"s{shard}.{k}"
            if int(key_slot(tag.encode()) // width) == shard:
                tags.append("{" + tag + "}")
                break
            k += 1
    return tuple(tags)


@dataclass(frozen=True, slots=True)
class Layout:
    """Key names for ``shards`` shards under ``prefix``; see the module docstring."""

    prefix: str = PREFIX
    shards: int = 1
    tags: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.shards < 1:
            raise ValueError("shards must be at least 1")
        object.__setattr__(self, "tags", _tags(self.shards))

    @classmethod
    def for_client(cls, redis: Redis | RedisCluster, prefix: str = PREFIX) -> Layout:
        return cls(prefix, CLUSTER_SHARDS if isinstance(redis, RedisCluster) else 1)

    def shard_of(self, cid: str) -> int:
        if self.shards == 1:
            return 0
        return zlib.crc32(cid.encode()) % self.shards

    def base(self, shard: int) -> str:
        """The shard's key prefix; the Lua scripts append the names below to it."""
        return f"{self.prefix}{self.tags[shard]}:"

    def record(self, cid: str) -> str:
        return f"{self.base(self.shard_of(cid))}c:{cid}"

    def ranked(
        self,
        shard: int,
        order: Order,
        status: str,
        dim: str | None = None,
        value: str | None = None,
    ) -> str:
        name = f"{self.base(shard)}r:{order}:{status}"
        return name if dim is None else f"{name}:{dim}:{value}"

    def counts(self, shard: int, dim: str) -> str:
        return f"{self.base(shard)}n:{dim}"

    def meta(self, shard: int) -> str:
        return f"{self.base(shard)}meta"


def ready(prefix: str = PREFIX) -> str:
    """The completeness marker: wall time (Unix s) the projection was last known whole.

    One plain key (no hash tag: single-key commands work on a cluster). Written by a projector's
    first batch when absent (a fresh Redis fills from the start of `scores`) and at the end of
    ``vitals rebuild-redis``; deleted by the rebuild's start. Absent after a FLUSHALL or a lost
    Redis, so the API answers 503 "rebuilding" instead of a partial book (404 for customers that
    exist, short lists) until ``vitals rebuild-redis`` has run. Not caught: a projector restarted
    after a flush writes it again on its first batch.
    """
    return f"{prefix}ready"


def changes_channel(prefix: str = PREFIX) -> str:
    """Pub/Sub channel (not a key) the projection's writers publish on after every change: the
    API drops its cached pages on each message (api/page_cache.py)."""
    return f"{prefix}changes"


# --- alerts (vitals:alerts:*) ------------------------------------------------------------------
ALERTS_PREFIX: Final = "vitals:alerts:"
# hash: destination id -> destination JSON (secrets included; the API never returns them).
DESTINATIONS_KEY: Final = ALERTS_PREFIX + "destinations"
# string: the alert-rule overrides (PUT /v1/alert-rules), polled by the scorer.
RULES_KEY: Final = ALERTS_PREFIX + "rules"
# string per alert id: who acknowledged it and when.
ACK_KEY: Final = ALERTS_PREFIX + "ack:"
# string per "<rule>:<customer_id>": snoozed until. Rule names hold no ':'
# (vitals.core.alert_rules.RULES), so the pair is unambiguous whatever the customer id holds.
SNOOZE_KEY: Final = ALERTS_PREFIX + "snooze:"
# string per alert id: the alert body; zsets of recent alert ids, overall and per customer.
ALERT_KEY: Final = ALERTS_PREFIX + "alert:"
RECENT_KEY: Final = ALERTS_PREFIX + "recent"
CUSTOMER_RECENT_KEY: Final = ALERTS_PREFIX + "recent:customer:"
# hash per alert id: destination id -> delivery state.
DELIVERY_KEY: Final = ALERTS_PREFIX + "delivery:"

# --- growth (vitals:growth:*) ------------------------------------------------------------------
# The growth projection's keys, under this prefix (growth/projection.py lays them out).
GROWTH_PREFIX: Final = "vitals:growth:"
