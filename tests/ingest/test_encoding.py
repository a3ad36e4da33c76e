"""gzip and deflate bodies: decoded, limited after decompression, bombs refused within bounded
memory."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import orjson
import pytest

from vitals.ingest.app import create_app
from vitals.ingest.limits import MAX_BODY_BYTES, MAX_DECODED_BYTES
from vitals.platform.settings import Settings

from .support import MemorySink, event, running

BATCH = orjson.dumps({"batch": [event(1), event(2, "globex")]})


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(BATCH)),
        ("GZIP", gzip.compress(BATCH)),
        ("x-gzip", gzip.compress(BATCH)),
        ("deflate", zlib.compress(BATCH)),
        ("deflate", raw_deflate(BATCH)),  # what some clients send as "deflate"
        ("identity", BATCH),
    ],
)
async def test_compressed_bodies_are_decoded(encoding: str, body: bytes) -> None:
    sink = MemorySink()
    async with running(create_app(Settings(), sink)) as client:
        response = await client.post(
            "/v1/batch", content=body, headers={"content-encoding": encoding}
        )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 2
    assert [orjson.loads(v)["event_id"] for _, v in sink.records] == ["evt-1", "evt-2"]


def padded(size: int) -> bytes:
    return BATCH[:-1] + b" " * (size - len(BATCH)) + b"}"


async def test_decoded_size_limit_applies_after_decompression() -> None:
    sink = MemorySink()
    async with running(create_app(Settings(), sink)) as client:
        at_limit = await client.post(
            "/v1/batch",
            content=gzip.compress(padded(MAX_DECODED_BYTES)),
            headers={"content-encoding": "gzip"},
        )
        over = await client.post(
            "/v1/batch",
            content=gzip.compress(padded(MAX_DECODED_BYTES + 1)),
            headers={"content-encoding": "gzip"},
        )
    assert at_limit.status_code == 200
    assert over.status_code == 413
    assert "decompressed" in over.json()["detail"]
    assert len(sink.batches) == 1


async def test_decompression_bomb_is_413_without_inflating_it() -> None:
    # 256 MiB of zeros packs into ~256 KiB of gzip; streamed decoding stops one step past the limit.
    inflated = 256 * MAX_DECODED_BYTES
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(MAX_DECODED_BYTES)
    bomb = b"".join(packer.compress(block) for _ in range(inflated // len(block)))
    bomb += packer.flush()
    assert len(bomb) < MAX_BODY_BYTES
    sink = MemorySink()
    async with running(create_app(Settings(), sink)) as client:
        tracemalloc.start()
        try:
            response = await client.post(
                "/v1/batch", content=bomb, headers={"content-encoding": "gzip"}
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.status_code == 413
    # The request, its body and one bounded decoded buffer: a few MiB, never the 256 MiB inflated.
    assert peak < 8 * MAX_DECODED_BYTES, f"peak {peak / 2**20:.1f} MiB"
    assert sink.batches == []


@pytest.mark.parametrize(
    ("encoding", "body", "status", "detail"),
    [
        ("gzip", b"not gzip at all", 400, "corrupt"),
        ("gzip", gzip.compress(BATCH)[:-12], 400, "ends early"),
        ("br", BATCH, 415, "not supported"),
    ],
)
async def test_bad_or_unknown_encodings_are_problems(
    encoding: str, body: bytes, status: int, detail: str
) -> None:
    async with running(create_app(Settings(), MemorySink())) as client:
        response = await client.post(
            "/v1/batch", content=body, headers={"content-encoding": encoding}
        )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]
