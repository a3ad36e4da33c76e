from __future__ import annotations

import random
from collections import Counter
from typing import Any

from redis.asyncio import Redis

from vitals.platform import keyspace as keys
from vitals.projector import codec
from vitals.projector.writer import ScoreProjection

from .support import make_snapshot


async def ranked(
    redis: Redis,
    layout: keys.Layout,
    order: str,
    status: str,
    dim: str | None = None,
    value: str | None = None,
) -> list[tuple[str, float]]:
    """A list's members over every shard, sorted by id."""
    out: list[tuple[str, float]] = []
    for shard in range(layout.shards):
        name = layout.ranked(shard, order, status, dim, value)  # type: ignore[arg-type]
        out += [(m.decode(), s) for m, s in await redis.zrange(name, 0, -1, withscores=True)]
    return sorted(out)


async def counts(redis: Redis, layout: keys.Layout, dim: str) -> dict[str, int]:
    total: Counter[str] = Counter()
    for shard in range(layout.shards):
        for k, v in (await redis.hgetall(layout.counts(shard, dim))).items():
            total[k.decode()] += int(v)
    return dict(total)


async def dump(redis: Redis) -> dict[str, Any]:
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


async def test_apply_stores_a_compact_record_ranked_lists_and_counts(redis: Redis) -> None:
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
    projection = ScoreProjection(redis)
    layout = projection.layout
    assert await projection.apply([(snap, raw)]) == 1

    stored = await redis.get(layout.record("acme"))
    assert codec.snapshot_of(stored) == raw
    assert len(stored) < len(raw) / 2
    for order, score in (("risk", 40.0), ("revenue", 100.0)):
        assert await ranked(redis, layout, order, "active") == [("acme", score)]
        assert await ranked(redis, layout, order, "churned") == []
        for dim, value in (
            ("owner", "dana"),
            ("segment", "smb"),
            ("quadrant", "at_risk"),
            ("band", "medium"),
        ):
            # Revenue order keeps global and per-owner lists only (keyspace.RANKED_DIMENSIONS).
            expected = [("acme", score)] if dim in keys.RANKED_DIMENSIONS[order] else []
            assert await ranked(redis, layout, order, "active", dim, value) == expected
    for dim, value in (
        ("owner", "dana"),
        ("segment", "smb"),
        ("quadrant", "at_risk"),
        ("band", "medium"),
        ("rfm", "general_value"),
        ("stage", "decline"),
    ):
        assert await counts(redis, layout, dim) == {value: 1}
    meta = await redis.hgetall(layout.meta(layout.shard_of("acme")))
    assert meta[keys.META_WATERMARK.encode()] == b"1000.0"
    assert meta[keys.META_APPLIED.encode()] == b"1"
    assert float(meta[keys.META_LAST_PROJECTION.encode()]) > 1.7e9


async def test_changed_dimensions_and_status_move_the_customer_between_lists(
    redis: Redis,
) -> None:
    projection = ScoreProjection(redis)
    layout = projection.layout
    old = dict(owner="dana", segment="smb", quadrant="champion", band="low", stage="growth")
    await projection.apply([make_snapshot("acme", 1.0, **old), make_snapshot("beta", 1.0, **old)])
    await projection.apply(
        [
            make_snapshot(
                "acme",
                2.0,
                owner="lee",
                segment="enterprise",
                quadrant="at_risk",
                band="high",
                stage="churned",
            )
        ]
    )
    for order in keys.ORDERS:
        for dim, before, after in (
            ("owner", "dana", "lee"),
            ("segment", "smb", "enterprise"),
            ("quadrant", "champion", "at_risk"),
            ("band", "low", "high"),
        ):
            if dim not in keys.RANKED_DIMENSIONS[order]:
                continue
            assert [m for m, _ in await ranked(redis, layout, order, "active", dim, before)] == [
                "beta"
            ]
            assert await ranked(redis, layout, order, "active", dim, after) == []
            assert [m for m, _ in await ranked(redis, layout, order, "churned", dim, after)] == [
                "acme"
            ]
        assert [m for m, _ in await ranked(redis, layout, order, "active")] == ["beta"]
        assert [m for m, _ in await ranked(redis, layout, order, "churned")] == ["acme"]
    assert await counts(redis, layout, "owner") == {"dana": 1, "lee": 1}
    assert await counts(redis, layout, "stage") == {"growth": 1, "churned": 1}


async def test_last_customer_leaving_a_value_removes_its_list_and_count(redis: Redis) -> None:
    projection = ScoreProjection(redis)
    layout = projection.layout
    await projection.apply([make_snapshot("acme", 1.0, owner="dana")])
    await projection.apply([make_snapshot("acme", 2.0, owner=None)])

    shard = layout.shard_of("acme")
    assert not await redis.exists(layout.ranked(shard, "risk", "active", "owner", "dana"))
    assert await counts(redis, layout, "owner") == {}
    assert codec.split(await redis.get(layout.record("acme"))).header["owner"] == ""


async def test_unknown_risk_is_stored_and_counted_but_not_ranked(redis: Redis) -> None:
    projection = ScoreProjection(redis)
    snap, _ = make_snapshot("acme", 1.0)
    snap["risk"]["value"] = None
    snap["temperature"] = None
    raw = b'{"x": 1}'
    assert await projection.apply([(snap, raw)]) == 1
    assert await ranked(redis, projection.layout, "risk", "active") == []
    assert await counts(redis, projection.layout, "owner") == {"dana": 1}


async def test_history_keeps_one_point_per_day_for_the_last_90_days(redis: Redis) -> None:
    projection = ScoreProjection(redis)
    day = float(codec.DAY_S)
    # Two snapshots a day for 100 days, a gap of three days before the last one.
    stream = [
        make_snapshot("acme", d * day + h * 3600.0, risk=float(d % 100), temperature=float(h))
        for d in range(100)
        for h in (1, 2)
        if not 96 <= d <= 98
    ]
    for start in range(0, len(stream), 17):
        await projection.apply(stream[start : start + 17])
    record = codec.split(await redis.get(projection.layout.record("acme")))
    points = codec.history_points(record, 1000)
    # first day, one code run (quadrant and stage never change here), 3 bytes a day
    assert len(record.history) == 2 + 1 + 2 + 3 * codec.HISTORY_DAYS
    assert points[0]["as_of_ts"] == 11 * day - 1  # day 10 (days 0-9 dropped), dated at its end
    assert [p["risk"] for p in points][-3:] == [94.0, 95.0, 99.0]  # days 96-98 had no snapshot
    assert points[-1]["as_of_ts"] == 99 * day + 7200.0  # the newest point: the snapshot's time
    assert {p["temperature"] for p in points} == {2.0}  # a day's point is its last snapshot
    assert points[-1]["quadrant"] == "champion" and points[-1]["stage"] == "stable"


async def test_history_keeps_each_days_quadrant_and_stage_across_the_window(redis: Redis) -> None:
    # Codes are stored as runs: changes, same-day replacements and days leaving the window must
    # all leave every kept day with its own last snapshot's quadrant and stage.
    projection = ScoreProjection(redis)
    day = float(codec.DAY_S)
    rng = random.Random(7)
    quadrants, stages = codec.QUADRANTS, ("growth", "stable", "decline", "churned")
    stream = []
    for d in range(130):
        if rng.random() < 0.1:
            continue  # a day without snapshots
        for h in range(rng.choice((1, 1, 2, 3))):
            change = rng.random() < 0.3
            stream.append(
                make_snapshot(
                    "acme",
                    d * day + h * 3600.0,
                    risk=float(d % 100),
                    quadrant=rng.choice(quadrants) if change else quadrants[d // 40],
                    stage=rng.choice(stages) if change else stages[d // 50],
                )
            )
    by_day: dict[int, tuple[float, str, str]] = {}
    for snap, _ in stream:
        d = int(snap["as_of_ts"] // day)
        by_day[d] = (snap["risk"]["value"], snap["quadrant"], snap["lifecycle"]["stage"])
    last = max(by_day)
    expected = [by_day[d] for d in sorted(by_day) if d > last - codec.HISTORY_DAYS]
    for start in range(0, len(stream), 13):
        await projection.apply(stream[start : start + 13])
        record = codec.split(await redis.get(projection.layout.record("acme")))
    points = codec.history_points(record, 1000)
    assert [(p["risk"], p["quadrant"], p["stage"]) for p in points] == expected


async def test_a_batch_larger_than_one_script_call_keeps_every_day_in_order(redis: Redis) -> None:
    # A rebuild applies thousands of snapshots at once: a shard's script calls must run in order,
    # or a later call (newer days) makes an earlier one stale and its days vanish from history.
    projection = ScoreProjection(redis)
    day = float(codec.DAY_S)
    stream = [
        make_snapshot("acme", d * day + m * 60.0, risk=float(d))
        for d in range(60)
        for m in range(30)
    ]
    assert len(stream) > 2 * 500  # more than two script calls' worth (SCRIPT_BATCH)
    await projection.apply(stream)
    record = codec.split(await redis.get(projection.layout.record("acme")))
    assert [p["risk"] for p in codec.history_points(record, 1000)] == [float(d) for d in range(60)]


async def test_replaying_a_batch_changes_nothing(redis: Redis) -> None:
    projection = ScoreProjection(redis)
    batch = [
        make_snapshot(f"c{i}", float(t), risk=float(i * t % 97), owner=f"o{i % 3}")
        for t in (1, 2, 3)
        for i in range(10)
    ]
    assert await projection.apply(batch) == 30
    before = await dump(redis)

    assert await projection.apply(batch) == 0
    assert await projection.apply(batch[5:12]) == 0
    assert await dump(redis) == before


async def test_older_snapshot_is_ignored_entirely(redis: Redis) -> None:
    projection = ScoreProjection(redis)
    newer = make_snapshot("acme", 200.0, risk=10.0, owner="dana")
    await projection.apply([newer])
    before = await dump(redis)

    assert await projection.apply([make_snapshot("acme", 100.0, risk=90.0, owner="lee")]) == 0
    assert await dump(redis) == before
    assert codec.snapshot_of(await redis.get(projection.layout.record("acme"))) == newer[1]


async def test_same_instant_rescored_replaces_its_point_and_rank(redis: Redis) -> None:
    projection = ScoreProjection(redis)
    await projection.apply([make_snapshot("acme", 5.0, risk=10.0)])
    await projection.apply([make_snapshot("acme", 5.0, risk=20.0)])

    record = codec.split(await redis.get(projection.layout.record("acme")))
    assert [(p["as_of_ts"], p["risk"]) for p in codec.history_points(record, 90)] == [(5.0, 20.0)]
    assert await ranked(redis, projection.layout, "risk", "active") == [("acme", 20.0)]


async def test_lists_and_counts_match_latest_snapshots_under_shuffled_redelivery(
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
            stage=rng.choice(["growth", "decline", "churned"]),
        )
        for t in range(1, 13)
        for c in range(25)
    ]
    # At-least-once delivery: batches replayed, some old snapshots arriving after newer ones.
    deliveries = stream + rng.sample(stream, 120) + stream[:100]
    projection = ScoreProjection(redis)
    layout = projection.layout
    for start in range(0, len(deliveries), 37):
        await projection.apply(deliveries[start : start + 37])

    latest = {snap["customer_id"]: snap for snap, _ in stream if snap["as_of_ts"] == 12.0}

    def status(s: dict[str, Any]) -> str:
        return "churned" if s["lifecycle"]["stage"] == "churned" else "active"

    expected = {
        "owner": Counter(s["profile"]["owner"] for s in latest.values() if s["profile"]["owner"]),
        "segment": Counter(s["profile"]["segment"] for s in latest.values()),
        "quadrant": Counter(s["quadrant"] for s in latest.values()),
        "band": Counter(s["risk"]["band"] for s in latest.values()),
        "rfm": Counter(s["rfm"]["segment"] for s in latest.values()),
        "stage": Counter(s["lifecycle"]["stage"] for s in latest.values()),
    }
    for dim, counter in expected.items():
        assert await counts(redis, layout, dim) == dict(counter), dim
    for st in keys.STATUSES:
        for value in quadrants:
            members = {m for m, _ in await ranked(redis, layout, "risk", st, "quadrant", value)}
            assert members == {
                c for c, s in latest.items() if s["quadrant"] == value and status(s) == st
            }
        for value in owners[:-1]:
            members = {m for m, _ in await ranked(redis, layout, "revenue", st, "owner", value)}
            assert members == {
                c for c, s in latest.items() if s["profile"]["owner"] == value and status(s) == st
            }
        revenue = dict(await ranked(redis, layout, "revenue", st))
        assert revenue == {
            c: round(s["risk"]["value"] / 100 * s["mrr"], 2)
            for c, s in latest.items()
            if status(s) == st
        }
    applied = 0
    for shard in range(layout.shards):
        applied += int(await redis.hget(layout.meta(shard), keys.META_APPLIED) or 0)
    assert applied == len(stream)


async def test_invalid_snapshots_are_skipped_and_counted(redis: Redis) -> None:
    projection = ScoreProjection(redis)
    good = make_snapshot("acme", 1.0)
    applied = await projection.apply([({"customer_id": "x"}, b"{}"), good, ({"risk": 1}, b"{}")])
    assert applied == 1
    assert await projection.apply_raw([b"not json", good[1]]) == 0
    assert await redis.hget(projection.layout.meta(0), keys.META_INVALID) == b"3"
    assert len(await ranked(redis, projection.layout, "risk", "active")) == 1


def test_cluster_shard_tags_spread_evenly_over_three_masters() -> None:
    layout = keys.Layout(shards=keys.CLUSTER_SHARDS)
    from redis.crc import key_slot

    masters = Counter(key_slot(layout.meta(s).encode()) * 3 // 16384 for s in range(12))
    assert masters == {0: 4, 1: 4, 2: 4}
    shards = Counter(layout.shard_of(f"c{i}") for i in range(12000))
    assert min(shards.values()) > 800


async def test_any_customer_id_bytes_survive_the_packed_argument(redis: Redis) -> None:
    # A snapshot travels to the script as one argument with the id last: separators and newlines
    # in an id must not shift the fields.
    projection = ScoreProjection(redis)
    layout = projection.layout
    cid = "a\nb\x1fc é"
    snap, raw = make_snapshot(cid, 5.0, risk=12.5, owner="dana")
    assert await projection.apply([(snap, raw)]) == 1
    assert codec.snapshot_of(await redis.get(layout.record(cid))) == raw
    assert await ranked(redis, layout, "risk", "active", "owner", "dana") == [(cid, 12.5)]
