from __future__ import annotations

import orjson
import pytest
from redis.asyncio import Redis

from vitals.platform.keyspace import Order
from vitals.projector import reader as reader_module
from vitals.projector.codec import DAY_S
from vitals.projector.reader import MAX_PAGE_LIMIT, InvalidCursor, ScoreReader, encode_cursor
from vitals.projector.writer import ScoreProjection

from .support import make_snapshot


async def page_ids(reader: ScoreReader, **kwargs: object) -> tuple[list[str], str | None]:
    page = await reader.at_risk(**kwargs)  # type: ignore[arg-type]
    return [orjson.loads(item)["customer_id"] for item in page.items], page.next_cursor


async def all_pages(reader: ScoreReader, limit: int, **kwargs: object) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(1000):
        got, cursor = await page_ids(reader, limit=limit, cursor=cursor, **kwargs)
        ids += got
        if cursor is None:
            return ids
    raise AssertionError("paging did not end")


@pytest.fixture
async def book(redis: Redis) -> list[tuple[str, float]]:
    """40 customers, many sharing a risk value (ties), owners a/b; returns (id, risk)."""
    items = [
        make_snapshot(
            f"c{i:02d}",
            1.0,
            risk=float(i % 5 * 10),
            mrr=float(100 + i),
            owner="a" if i % 2 else "b",
            quadrant="at_risk" if i % 3 else "champion",
            stage="churned" if i % 7 == 0 else "stable",
        )
        for i in range(40)
    ]
    await ScoreProjection(redis).apply(items)
    return [(s["customer_id"], s["risk"]["value"]) for s, _ in items]


def expected_order(rows: list[tuple[str, float]]) -> list[str]:
    # Risk descending, ties by id descending (Redis' reverse order).
    return [cid for cid, _ in sorted(rows, key=lambda r: (r[1], r[0]), reverse=True)]


@pytest.mark.parametrize("limit", [1, 3, 7, 40, MAX_PAGE_LIMIT])
async def test_pages_return_every_customer_once_in_order(
    redis: Redis, book: list[tuple[str, float]], limit: int
) -> None:
    assert await all_pages(ScoreReader(redis), limit) == expected_order(book)


async def test_unmoved_customers_are_served_once_while_others_are_rescored(
    redis: Redis, book: list[tuple[str, float]]
) -> None:
    reader, projection = ScoreReader(redis), ScoreProjection(redis)
    first, cursor = await page_ids(reader, limit=10)
    last_served = first[-1]
    # Between pages: the cursor's own customer and two unserved ones move; one new customer arrives.
    moved = {last_served, "c00", "c01"}
    await projection.apply(
        [
            make_snapshot(last_served, 2.0, risk=99.0),
            make_snapshot("c00", 2.0, risk=35.0),
            make_snapshot("c01", 2.0, risk=1.0),
            make_snapshot("new", 2.0, risk=12.0),
        ]
    )
    rest = await all_pages_from(reader, cursor, limit=6)

    served = first + rest
    unmoved = [cid for cid in expected_order(book) if cid not in moved]
    assert [cid for cid in served if cid in set(unmoved)] == unmoved


async def all_pages_from(reader: ScoreReader, cursor: str | None, limit: int) -> list[str]:
    ids: list[str] = []
    while cursor is not None:
        got, cursor = await page_ids(reader, limit=limit, cursor=cursor)
        ids += got
    return ids


async def test_filters_combine_and_order_by_revenue(
    redis: Redis, book: list[tuple[str, float]]
) -> None:
    reader = ScoreReader(redis)
    rows = {cid: risk for cid, risk in book}
    owner_a = [c for c in expected_order(book) if int(c[1:]) % 2]
    assert await all_pages(reader, 4, filters={"owner": "a", "quadrant": None}) == owner_a

    both = [c for c in owner_a if int(c[1:]) % 3]
    assert await all_pages(reader, 3, filters={"owner": "a", "quadrant": "at_risk"}) == both

    revenue = sorted(rows, key=lambda c: (rows[c] / 100 * (100 + int(c[1:])), c), reverse=True)
    revenue_b = [c for c in revenue if int(c[1:]) % 2 == 0 and rows[c] > 0]
    got = await all_pages(reader, 5, order="revenue", filters={"owner": "b"})
    assert [c for c in got if rows[c] > 0] == revenue_b
    # No revenue list per quadrant is kept: the global revenue list is walked, same answer.
    revenue_q = [c for c in revenue if int(c[1:]) % 3 == 0 and rows[c] > 0]
    got = await all_pages(reader, 5, order="revenue", filters={"quadrant": "champion"})
    assert [c for c in got if rows[c] > 0] == revenue_q
    assert await all_pages(reader, 5, filters={"band": "nope"}) == []


async def test_status_splits_the_book_and_all_merges_it(
    redis: Redis, book: list[tuple[str, float]]
) -> None:
    reader = ScoreReader(redis)
    churned = [c for c in expected_order(book) if int(c[1:]) % 7 == 0]
    active = [c for c in expected_order(book) if int(c[1:]) % 7]
    assert await all_pages(reader, 4, filters={"status": "active"}) == active
    assert await all_pages(reader, 2, filters={"status": "churned"}) == churned
    assert await all_pages(reader, 3, filters={"status": "churned", "owner": "b"}) == [
        c for c in churned if int(c[1:]) % 2 == 0
    ]
    assert await all_pages(reader, 6) == expected_order(book)


async def test_multi_filter_walk_pages_past_its_scan_budget(
    redis: Redis, book: list[tuple[str, float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A budget of 2 members per call: most pages come back short, with a cursor to go on.
    monkeypatch.setattr(reader_module, "SCAN_BUDGET", 2)
    reader = ScoreReader(redis)
    both = [c for c in expected_order(book) if int(c[1:]) % 2 and int(c[1:]) % 3]
    assert await all_pages(reader, 3, filters={"owner": "a", "quadrant": "at_risk"}) == both
    short_with_cursor = 0
    cursor = None
    while True:
        got, cursor = await page_ids(
            reader, limit=3, cursor=cursor, filters={"owner": "a", "quadrant": "at_risk"}
        )
        assert len(got) <= 3
        short_with_cursor += len(got) < 3 and cursor is not None
        if cursor is None:
            break
    if reader.layout.shards == 1:  # a cluster walks 2 members on each of 24 lists per page
        assert short_with_cursor > 0


async def test_limit_is_clamped_to_the_maximum(redis: Redis) -> None:
    await ScoreProjection(redis).apply(
        [make_snapshot(f"c{i:03d}", 1.0) for i in range(MAX_PAGE_LIMIT + 5)]
    )
    ids, cursor = await page_ids(ScoreReader(redis), limit=10_000)
    assert len(ids) == MAX_PAGE_LIMIT and cursor is not None


@pytest.mark.parametrize("cursor", ["garbage!", "e30", encode_cursor("revenue", b"1.5", b"c01")])
async def test_foreign_or_broken_cursor_is_refused(
    redis: Redis, book: list[tuple[str, float]], cursor: str
) -> None:
    order: Order = "risk"
    with pytest.raises(InvalidCursor):
        await ScoreReader(redis).at_risk(order=order, cursor=cursor)


async def test_unknown_filter_dimension_is_refused(redis: Redis) -> None:
    with pytest.raises(ValueError, match="cannot filter by"):
        await ScoreReader(redis).at_risk(filters={"plan": "pro"})


async def test_history_returns_newest_points_oldest_first(redis: Redis) -> None:
    await ScoreProjection(redis).apply(
        [make_snapshot("acme", t * DAY_S + 60.0, risk=float(t)) for t in range(1, 6)]
    )
    reader = ScoreReader(redis)
    raw = await reader.history("acme", limit=3)
    assert raw is not None
    assert [p["risk"] for p in orjson.loads(raw)] == [3.0, 4.0, 5.0]
    assert await reader.history("nobody") is None
    assert await reader.snapshot("nobody") is None


async def test_counts_and_meta(redis: Redis, book: list[tuple[str, float]]) -> None:
    reader = ScoreReader(redis)
    counts = await reader.counts()
    assert counts["customers"] == 40
    assert counts["owner"] == {"a": 20, "b": 20}
    assert counts["quadrant"] == {"at_risk": 26, "champion": 14}
    meta = await reader.meta()
    assert meta["watermark_ts"] == 1.0 and meta["snapshots_applied"] == 40
    assert meta["snapshots_invalid"] == 0
