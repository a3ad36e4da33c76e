"""Every Redis key of the score projection, in one place, with the reason for its shape.

Layout (``P`` = the projection prefix, default ``vitals:proj:``; ``{cid}`` = customer id):

    P snap:{cid}                      string  the snapshot JSON exactly as the scorer published it
    P cur:{cid}                       hash    what it is indexed under (as_of_ts, owner, …)
    P hist:{cid}                      zset    score history: member = compact JSON, score = as_of_ts
    P rank:{order}                    zset    every customer, score = ranking value of ``order``
    P rank:{order}:{dim}:{value}      zset    the same, one owner/segment/quadrant/band only
    P count:{dim}                     hash    customers per value of a dimension (rfm, stage, …)
    P meta                            hash    watermark, last projection time, snapshots applied
    P ready                           string  set when the projection holds every customer (below)
    P tmp:page                        zset    the paging script's scratch set (within one call)

The Lua scripts in ``writer.py`` and ``reader.py`` build the same names from the prefix; the layout
tests (tests/projection/test_writer.py) pin both sides to these functions.

Not Redis Cluster ready: the writer script derives the *old* owner's/segment's set names from stored
state, so it touches keys it could not declare up front. One primary (plus read replicas for GETs)
holds ~1M customers comfortably (see NOTES-kafka-faust.md); sharding would need hash tags per
customer and scatter-gather ranking.
"""

from __future__ import annotations

from typing import Final, Literal

# Under its own sub-prefix so `vitals rebuild-redis` can delete the projection without touching
# other Vitals data kept in the same Redis (webhook destinations, alert acknowledgements).
PREFIX: Final = "vitals:proj:"

# Ranking orders: "risk" = risk value 0–100; "revenue" = revenue at risk = risk/100 × MRR (currency
# units per month). Both are kept for every filter set so a one-filter page needs no set algebra.
Order = Literal["risk", "revenue"]
ORDERS: Final[tuple[Order, ...]] = ("risk", "revenue")

# Dimensions a ranked list can be filtered by (each gets its own ranked sets per value).
FILTER_DIMENSIONS: Final = ("owner", "segment", "quadrant", "band", "status")
# "status": "churned" for customers whose lifecycle stage is churned, else "active". The API's
# at-risk list shows active customers unless asked otherwise: churned means lost, not at risk.
STATUSES: Final = ("active", "churned")
# Dimensions whose population counts are kept (GET /v1/segments). "rfm" = RFM segment,
# "stage" = lifecycle stage, "band" = risk band, "segment" = the profile's business segment.
COUNT_DIMENSIONS: Final = ("owner", "segment", "quadrant", "band", "rfm", "stage")

# Fields of the meta hash.
META_WATERMARK: Final = "watermark_ts"  # max as_of_ts seen (Unix s): how far the stream has come
META_LAST_PROJECTION: Final = "last_projection_ts"  # wall clock (Unix s) of the last applied batch
META_APPLIED: Final = "snapshots_applied"  # snapshots that moved a customer forward (not replays)


def snapshot(cid: str, prefix: str = PREFIX) -> str:
    return f"{prefix}snap:{cid}"


def current(cid: str, prefix: str = PREFIX) -> str:
    return f"{prefix}cur:{cid}"


def history(cid: str, prefix: str = PREFIX) -> str:
    return f"{prefix}hist:{cid}"


def ranked(
    order: Order, dim: str | None = None, value: str | None = None, prefix: str = PREFIX
) -> str:
    """Ranked set of every customer (no ``dim``) or of one value of a filter dimension."""
    if dim is None:
        return f"{prefix}rank:{order}"
    return f"{prefix}rank:{order}:{dim}:{value}"


def counts(dim: str, prefix: str = PREFIX) -> str:
    return f"{prefix}count:{dim}"


def meta(prefix: str = PREFIX) -> str:
    return f"{prefix}meta"


def ready(prefix: str = PREFIX) -> str:
    """The completeness marker: wall time (Unix s) the projection was last known whole.

    Written by a projector's first batch when absent (a fresh Redis fills from the start of
    `scores`) and at the end of ``vitals rebuild-redis``; deleted by the rebuild's start. Absent
    after a FLUSHALL or a lost Redis, so the API answers 503 "rebuilding" instead of a partial
    book (404 for customers that exist, short lists) until ``vitals rebuild-redis`` has run.
    Not caught: a projector restarted after a flush writes it again on its first batch.
    """
    return f"{prefix}ready"


def page_scratch(prefix: str = PREFIX) -> str:
    return f"{prefix}tmp:page"
