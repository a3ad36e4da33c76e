from __future__ import annotations

import random
from collections import Counter
from typing import Any

import orjson
from redis.asyncio import Redis

from vitals.projection import keys
from vitals.projection.writer import ScoreProjection

from .support import make_snapshot


async def ranked(redis: Redis, key: str) -> list[tuple[str, float]]:
    return [(m.decode(), s) for m, s in await redis.zrange(key, 0, -1, withscores=True)]


async def layout(redis: Redis) -> dict[str, Any]:
    """Every projection key and its content, except the wall-clock projection time."""
    out: dict[str, Any] = {}
    async for raw_key in redis.scan_iter(match=f"{keys.PREFIX}*"):
        key = raw_key.decode()
        kind = (await redis.type(key)).decode()
        if kind == "string":
            out[key] = await redis.get(key)
        elif kind == "hash":
            value = await redis.hgetall(key)
            value.pop(keys.META_LAST_PROJECTION.encode(), None)
            out[key] = value
        else:
            out[key] = await redis.zrange(key, 0, -1, withscores=True)
    return out


async def test_apply_stores_exact_bytes_ranked_sets_and_counts(redis: Redis) -> None:
    snap, raw = make_snapshot(
        "acme",
        1000.0,
        risk=40.0,
        mrr=250.0,
        owner="dana",
        segment="smb",
        quadrant="at_risk",
        band="medium",
        rfm="general_value",
        stage="decline",
    )
    assert await ScoreProjection(redis).apply([(snap, raw)]) == 1

    assert await redis.get(keys.snapshot("acme")) == raw
    for order, score in (("risk", 40.0), ("revenue", 100.0)):
        assert await ranked(redis, keys.ranked(order)) == [("acme", score)]
        for dim, value in (
            ("owner", "dana"),
            ("segment", "smb"),
            ("quadrant", "at_risk"),
            ("band", "medium"),
        ):
            assert await ranked(redis, keys.ranked(order, dim, value)) == [("acme", score)]
    for dim, value in (
        ("owner", "dana"),
        ("segment", "smb"),
        ("quadrant", "at_risk"),
        ("band", "medium"),
        ("rfm", "general_value"),
        ("stage", "decline"),
    ):
        assert await redis.hgetall(keys.counts(dim)) == {value.encode(): b"1"}
    meta = await redis.hgetall(keys.meta())
    assert meta[keys.META_WATERMARK.encode()] == b"1000.0"
    assert meta[keys.META_APPLIED.encode()] == b"1"
    assert float(meta[keys.META_LAST_PROJECTION.encode()]) > 1.7e9


async def test_changed_owner_segment_quadrant_band_leave_their_old_sets(redis: Redis) -> None:
    projection = ScoreProjection(redis)
    await projection.apply(
        [
            make_snapshot(
                "acme",
                1.0,
                owner="dana",
                segment="smb",
                quadrant="champion",
                band="low",
                stage="growth",
            )
        ]
    )
    await projection.apply(
        [
            make_snapshot(
                "beta",
                1.0,
                owner="dana",
                segment="smb",
                quadrant="champion",
                band="low",
                stage="growth",
            )
        ]
    )
    await projection.apply(
        [
            make_snapshot(
                "acme",
                2.0,
                owner="lee",
                segment="enterprise",
                quadrant="at_risk",
                band="high",
                stage="decline",
            )
        ]
    )

    for order in keys.ORDERS:
        for dim, old, new in (
            ("owner", "dana", "lee"),
            ("segment", "smb", "enterprise"),
            ("quadrant", "champion", "at_risk"),
            ("band", "low", "high"),
        ):
            assert [m for m, _ in await ranked(redis, keys.ranked(order, dim, old))] == ["beta"]
            assert [m for m, _ in await ranked(redis, keys.ranked(order, dim, new))] == ["acme"]
    assert await redis.hgetall(keys.counts("owner")) == {b"dana": b"1", b"lee": b"1"}
    assert await redis.hgetall(keys.counts("stage")) == {b"growth": b"1", b"decline": b"1"}


async def test_last_customer_leaving_a_value_removes_its_set_and_count(redis: Redis) -> None:
    projection = ScoreProjection(redis)
    await projection.apply([make_snapshot("acme", 1.0, owner="dana")])
    await projection.apply([make_snapshot("acme", 2.0, owner=None)])

    assert not await redis.exists(keys.ranked("risk", "owner", "dana"))
    assert await redis.hgetall(keys.counts("owner")) == {}
    assert await redis.hget(keys.current("acme"), "owner") == b""


async def test_history_is_time_ordered_and_keeps_the_newest_points(redis: Redis) -> None:
    projection = ScoreProjection(redis, history_max=5)
    await projection.apply([make_snapshot("acme", float(t), risk=float(t)) for t in range(1, 9)])

    points = [orjson.loads(p) for p in await redis.zrange(keys.history("acme"), 0, -1)]
    assert [p["as_of_ts"] for p in points] == [4.0, 5.0, 6.0, 7.0, 8.0]
    assert points[-1]["risk"] == 8.0
    assert points[-1]["reasons"] == [r["text"] for r in make_snapshot("x", 0)[0]["reasons"][:2]]
    assert set(points[-1]) == {
        "as_of_ts",
        "temperature",
        "health",
        "risk",
        "quadrant",
        "stage",
        "reasons",
    }


async def test_replaying_a_batch_changes_nothing(redis: Redis) -> None:
    projection = ScoreProjection(redis)
    batch = [
        make_snapshot(f"c{i}", float(t), risk=float(i * t % 97), owner=f"o{i % 3}")
        for t in (1, 2, 3)
        for i in range(10)
    ]
    assert await projection.apply(batch) == 30
    before = await layout(redis)

    assert await projection.apply(batch) == 0
    assert await projection.apply(batch[5:12]) == 0
    assert await layout(redis) == before


async def test_older_snapshot_is_ignored_entirely(redis: Redis) -> None:
    projection = ScoreProjection(redis)
    newer = make_snapshot("acme", 200.0, risk=10.0, owner="dana")
    await projection.apply([newer])
    before = await layout(redis)

    assert await projection.apply([make_snapshot("acme", 100.0, risk=90.0, owner="lee")]) == 0
    assert await layout(redis) == before
    assert await redis.get(keys.snapshot("acme")) == newer[1]


async def test_same_instant_rescored_replaces_its_history_point(redis: Redis) -> None:
    projection = ScoreProjection(redis)
    await projection.apply([make_snapshot("acme", 5.0, risk=10.0)])
    await projection.apply([make_snapshot("acme", 5.0, risk=20.0)])

    points = [orjson.loads(p) for p in await redis.zrange(keys.history("acme"), 0, -1)]
    assert [(p["as_of_ts"], p["risk"]) for p in points] == [(5.0, 20.0)]
    assert await ranked(redis, keys.ranked("risk")) == [("acme", 20.0)]


async def test_counts_and_sets_match_latest_snapshots_under_shuffled_redelivery(
    redis: Redis,
) -> None:
    rng = random.Random(20261123)
    owners, segments = ["dana", "lee", "omar", None], ["smb", "enterprise"]
    quadrants, bands = ["champion", "upsell", "adoption_risk", "at_risk"], ["low", "high"]
    stream = [
        make_snapshot(
            f"c{c}",
            float(t),
            risk=float(rng.randint(0, 100)),
            mrr=float(rng.randint(1, 9)),
            owner=rng.choice(owners),
            segment=rng.choice(segments),
            quadrant=rng.choice(quadrants),
            band=rng.choice(bands),
            rfm=rng.choice(["a", "b", "c"]),
            stage=rng.choice(["growth", "decline"]),
        )
        for t in range(1, 13)
        for c in range(25)
    ]
    # At-least-once delivery: batches replayed, some old snapshots arriving after newer ones.
    deliveries = stream + rng.sample(stream, 120) + stream[:100]
    projection = ScoreProjection(redis)
    for start in range(0, len(deliveries), 37):
        await projection.apply(deliveries[start : start + 37])

    latest = {snap["customer_id"]: snap for snap, _ in stream if snap["as_of_ts"] == 12.0}
    expected = {
        "owner": Counter(s["profile"]["owner"] for s in latest.values() if s["profile"]["owner"]),
        "segment": Counter(s["profile"]["segment"] for s in latest.values()),
        "quadrant": Counter(s["quadrant"] for s in latest.values()),
        "band": Counter(s["risk"]["band"] for s in latest.values()),
        "rfm": Counter(s["rfm"]["segment"] for s in latest.values()),
        "stage": Counter(s["lifecycle"]["stage"] for s in latest.values()),
    }
    for dim, counter in expected.items():
        stored = {k.decode(): int(v) for k, v in (await redis.hgetall(keys.counts(dim))).items()}
        assert stored == dict(counter), dim
    for value in quadrants:
        members = {m for m, _ in await ranked(redis, keys.ranked("revenue", "quadrant", value))}
        assert members == {c for c, s in latest.items() if s["quadrant"] == value}
    revenue = dict(await ranked(redis, keys.ranked("revenue")))
    assert revenue == {c: s["risk"]["value"] / 100 * s["mrr"] for c, s in latest.items()}
    assert int(await redis.hget(keys.meta(), keys.META_APPLIED)) == len(stream)


async def test_invalid_snapshots_are_skipped_and_counted(redis: Redis) -> None:
    projection = ScoreProjection(redis)
    good = make_snapshot("acme", 1.0)
    applied = await projection.apply([({"customer_id": "x"}, b"{}"), good, ({"risk": 1}, b"{}")])
    assert applied == 1
    assert await projection.apply_raw([b"not json", good[1]]) == 0
    assert await redis.hget(keys.meta(), "snapshots_invalid") == b"3"
    assert await redis.zcard(keys.ranked("risk")) == 1
