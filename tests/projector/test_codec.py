"""The stored record's bytes, pinned: a change of layout must be a new FORMAT (codec.py), never a
silent change that makes records already in Redis unreadable."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from vitals.projector import codec
from vitals.projector.writer import ScoreProjection

from .support import make_snapshot

DAY = codec.DAY_S


async def test_record_bytes_are_format_2(redis: Redis) -> None:
    first = make_snapshot("acme", 20_000 * DAY + 60.0, risk=40.0, mrr=250.0, temperature=70.0,
                          health=55.5, owner="dana", segment="smb", quadrant="at_risk",
                          band="medium", rfm="general_value", stage="decline")  # fmt: skip
    second = make_snapshot("acme", 20_002 * DAY + 30.0, risk=41.5, mrr=250.0, temperature=71.0,
                           health=50.0, owner="dana", segment="smb", quadrant="upsell",
                           band="medium", rfm="general_value", stage="decline")  # fmt: skip
    projection = ScoreProjection(redis)
    await projection.apply([first, second])
    raw = await redis.get(projection.layout.record("acme"))

    blob_len = int.from_bytes(raw[1:3], "big")
    blob = raw[3 : 3 + blob_len]
    assert codec.decompress(blob) == second[1]  # the exact bytes the scorer published
    assert raw == (
        b"2"
        + blob_len.to_bytes(2, "big")
        + blob
        + b"1728172830.0\x1f41.5\x1f103.75\x1fdana\x1fsmb\x1fupsell\x1fmedium\x1fgeneral_value"
        b"\x1fdecline"
        + b"\n"
        # history: first day 20000 = 0x4e20; two runs: day 0 at_risk/decline (3*16+3 = 0x33),
        # day 2 upsell/decline (1*16+3 = 0x13); then 3 bytes a day (×2 values), day 1 empty.
        + b"\x4e\x20"
        + b"\x02"
        + b"\x00\x33"
        + b"\x02\x13"
        + bytes([140, 111, 80])
        + bytes([254, 254, 254])
        + bytes([142, 100, 83])
    )
    record = codec.split(raw)
    assert record.header["revenue"] == "103.75"
    points = codec.history_points(record, 90)
    assert [(p["risk"], p["health"], p["quadrant"], p["stage"]) for p in points] == [
        (40.0, 55.5, "at_risk", "decline"),
        (41.5, 50.0, "upsell", "decline"),
    ]


def test_history_bytes_matches_what_the_script_builds() -> None:
    points = [bytes([1, 2, 3, 0x12]), codec.EMPTY_DAY + b"\x12", bytes([4, 5, 6, 0x20])]
    assert codec.history_bytes(7, points) == (
        b"\x00\x07\x02\x00\x12\x02\x20" + b"\x01\x02\x03\xfe\xfe\xfe\x04\x05\x06"
    )


def test_format_1_records_are_refused_with_the_fix() -> None:
    with pytest.raises(codec.CorruptRecord, match="rebuild-redis"):
        codec.split(b"1\x00\x00x\n")
