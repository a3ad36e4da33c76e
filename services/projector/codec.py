"""How one customer is stored in Redis: one compact record (snapshot, index header, daily history).

One string per customer (``Layout.record``), so a customer costs one top-level key:

    b"2" blob-length(2 bytes, big endian) compressed-snapshot header "\\n" history

* The compressed snapshot comes first, at a fixed offset, so a read (and the paging script) cuts
  it out without parsing anything else.

* ``header``: the fields the projection indexes on, joined by ``\\x1f`` (``HEADER_FIELDS``):
  as_of_ts, risk, revenue at risk, owner, segment, quadrant, band, RFM segment, lifecycle stage.
  The apply script (writer.py) reads it to move the customer between lists; the paging script
  reads it to check extra filters. Dimension values never contain ``\\x1f`` or ``\\n`` (``clean``
  replaces them with a space).
* ``history``: one point per UTC day, oldest first, at most ``HISTORY_DAYS`` days:

      first day (2 bytes, big endian: days since 1970-01-01)
      run count k (1 byte), then k runs of (day offset, code) (1 byte each)
      3 bytes per day: temperature, health, risk (each round(value × 2), i.e. half-point steps
      0..200; 255 = null); a day without a snapshot is ``EMPTY_DAY``

  The code (quadrant × 16 + lifecycle stage; 15 = none) changes rarely, so it is kept as runs:
  a day's code is that of the last run starting at or before it (a run at offset 0 always
  exists). The day's point is its last snapshot: a later snapshot on the same day replaces it.
* ``compressed snapshot``: the snapshot's JSON bytes, zstd with a dictionary
  (``snapshot.zdict``, 4 KB, trained once on 2,000 varied snapshots built from the published
  example), so key names and common values cost almost nothing. Decompression gives back the exact
  bytes the scorer published.

Why this shape: per million customers the snapshot JSON alone is ~1.6 GB; zstd with the dictionary
brings a snapshot to ~80–160 B (synthetic snapshots like the training set: ~85 B; the example with
other values: ~150 B), and 90 daily points are ~275 B (500 JSON points were ~75 KB; 4 bytes a day
with the code in each point, format 1, were 362 B). Record sizes matter in steps: Redis' allocator
rounds a ~450 B string to 448 or 512 B, a ~540 B one (format 1) to 640 B. Measured on a
loaded 2-core machine: compress 2.1 µs, decompress 0.84 µs per snapshot; deflate with the example
as a preset dictionary gave 154 B at 11.7 µs / 2.65 µs — decompression is most of what a list page
costs beyond a plain MGET of JSON, so the faster codec matters for reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
import zstandard

# Format 2: history values 3 bytes a day with the codes as runs (format 1: 4 bytes a day).
FORMAT: Final = b"2"
SEP: Final = "\x1f"
HEADER_FIELDS: Final = (
    "ts",
    "risk",
    "revenue",
    "owner",
    "segment",
    "quadrant",
    "band",
    "rfm",
    "stage",
)
# Days of history kept per customer (the product promises a 90-day chart).
HISTORY_DAYS: Final = 90
DAY_S: Final = 86_400
# Bytes per day in the stored history (a point as built by ``history_point`` has one more: its
# code, which the store keeps as runs).
POINT_BYTES: Final = 3
NULL_VALUE: Final = 255
EMPTY_DAY: Final = bytes([254, 254, 254])
# Days of history a record can hold: run offsets are one byte.
MAX_HISTORY_DAYS: Final = 255
NO_CODE: Final = 15
# Code tables of the history's code byte. Append only: stored history refers to the positions.
QUADRANTS: Final = ("champion", "upsell", "adoption_risk", "at_risk")
STAGES: Final = ("onboarding", "growth", "stable", "decline", "churned", "reactivated")

# The dictionary. NEVER replace the file in place: stored records are decompressed with it. A new
# dictionary needs a new FORMAT byte and a decoder for the old one (or a rebuild-redis).
SNAPSHOT_DICT: Final = (Path(__file__).parent / "snapshot.zdict").read_bytes()
_DICT = zstandard.ZstdCompressionDict(SNAPSHOT_DICT)
# Level 3 (zstd's default): at this size higher levels gain a few bytes for much more CPU.
_LEVEL: Final = 3
# Frames without checksum and dictionary id (5 bytes each; Redis is not a lossy channel, and the
# FORMAT byte names the dictionary), with the content size (lets decompress allocate once).
_COMPRESSOR = zstandard.ZstdCompressor(
    level=_LEVEL, dict_data=_DICT, write_checksum=False, write_dict_id=False
)
_DECOMPRESSOR = zstandard.ZstdDecompressor(dict_data=_DICT)


class CorruptRecord(ValueError):
    """A stored record this code cannot read (another format, damaged): rebuild-redis fixes it."""


def compress(snapshot_json: bytes) -> bytes:
    return _COMPRESSOR.compress(snapshot_json)


def decompress(blob: bytes) -> bytes:
    return _DECOMPRESSOR.decompress(blob)


def clean(value: Any) -> str:
    """A dimension value as stored in the header and in list names ("" = none)."""
    if value is None:
        return ""
    return str(value).replace(SEP, " ").replace("\n", " ")


def _byte(value: Any) -> int:
    if value is None:
        return NULL_VALUE
    try:
        return max(0, min(200, round(float(value) * 2)))
    except (TypeError, ValueError):
        return NULL_VALUE


_QUADRANT_CODE: Final = {q: i for i, q in enumerate(QUADRANTS)}
_STAGE_CODE: Final = {s: i for i, s in enumerate(STAGES)}


def history_point(snapshot: Mapping[str, Any]) -> bytes:
    """One snapshot's history point as the apply script takes it: temperature, health, risk
    (possibly null) and the code byte (4 bytes). Decoded snapshots are dicts (orjson): the
    checks are for dicts, not the slower ``Mapping`` ABC (this runs once per snapshot)."""
    values = []
    for field in ("temperature", "health", "risk"):
        block = snapshot.get(field)
        values.append(_byte(block.get("value")) if isinstance(block, dict) else NULL_VALUE)
    lifecycle = snapshot.get("lifecycle")
    stage = lifecycle.get("stage") if isinstance(lifecycle, dict) else None
    quadrant = snapshot.get("quadrant")
    code = (_QUADRANT_CODE.get(quadrant, NO_CODE) if isinstance(quadrant, str) else NO_CODE) * 16
    code += _STAGE_CODE.get(stage, NO_CODE) if isinstance(stage, str) else NO_CODE
    values.append(code & 0xFF)
    return bytes(values)


@dataclass(frozen=True, slots=True)
class Record:
    """A stored record, split (the snapshot still compressed)."""

    header: dict[str, str]
    history: bytes
    snapshot_blob: bytes

    @property
    def as_of_ts(self) -> float:
        return float(self.header["ts"])

    def snapshot(self) -> bytes:
        return decompress(self.snapshot_blob)


def encode(header: Mapping[str, str], history: bytes, snapshot_blob: bytes) -> bytes:
    """A record's bytes (the apply script builds the same in Lua)."""
    line = SEP.join(header[f] for f in HEADER_FIELDS).encode()
    return FORMAT + len(snapshot_blob).to_bytes(2, "big") + snapshot_blob + line + b"\n" + history


def split(raw: bytes) -> Record:
    """Split a stored record; raises ``CorruptRecord``."""
    if raw[:1] != FORMAT:
        raise CorruptRecord(f"record format {raw[:1]!r} is not {FORMAT!r}; run rebuild-redis")
    end = 3 + int.from_bytes(raw[1:3], "big")
    newline = raw.find(b"\n", end)
    fields = raw[end:newline].decode().split(SEP)
    if newline < 0 or len(fields) != len(HEADER_FIELDS):
        raise CorruptRecord("record header is damaged; run rebuild-redis")
    return Record(dict(zip(HEADER_FIELDS, fields, strict=True)), raw[newline + 1 :], raw[3:end])


def snapshot_of(raw: bytes) -> bytes:
    """The exact snapshot JSON of a stored record (the fast path of every read)."""
    if raw[:1] != FORMAT:
        raise CorruptRecord(f"record format {raw[:1]!r} is not {FORMAT!r}; run rebuild-redis")
    return decompress(raw[3 : 3 + int.from_bytes(raw[1:3], "big")])


def _value(b: int) -> float | None:
    return None if b == NULL_VALUE else b / 2


def history_bytes(first_day: int, points: Sequence[bytes]) -> bytes:
    """The stored history for 4-byte ``points`` (``history_point``; ``None``-free), one per day
    from ``first_day`` — what the apply script builds day by day (benchmarks fill with it)."""
    runs: list[tuple[int, int]] = []
    for offset, point in enumerate(points):
        if not runs or runs[-1][1] != point[3]:
            runs.append((offset, point[3]))
    return (
        first_day.to_bytes(2, "big")
        + bytes([len(runs)])
        + b"".join(bytes(run) for run in runs)
        + b"".join(point[:POINT_BYTES] for point in points)
    )


def history_points(record: Record, limit: int) -> list[dict[str, Any]]:
    """The last ``limit`` daily points, oldest first. ``as_of_ts`` of the newest point is the
    snapshot's; an older day's point is dated at the end of its day (its exact time is not kept).
    ``reasons`` is empty: the current reasons are in the snapshot."""
    hist = record.history
    if len(hist) < 3:
        return []
    first_day = int.from_bytes(hist[:2], "big")
    k = hist[2]
    codes: dict[int, int] = {hist[3 + 2 * j]: hist[4 + 2 * j] for j in range(k)}
    values = hist[3 + 2 * k :]
    days = len(values) // POINT_BYTES
    out: list[dict[str, Any]] = []
    code = NO_CODE
    for i in range(days):
        code = codes.get(i, code)
        chunk = values[i * POINT_BYTES : (i + 1) * POINT_BYTES]
        if chunk == EMPTY_DAY:
            continue
        temperature, health, risk = chunk
        quadrant, stage = code >> 4, code & 0x0F
        last = i == days - 1
        out.append(
            {
                "as_of_ts": record.as_of_ts if last else (first_day + i + 1) * DAY_S - 1.0,
                "temperature": _value(temperature),
                "health": _value(health),
                "risk": _value(risk),
                "quadrant": QUADRANTS[quadrant] if quadrant < len(QUADRANTS) else None,
                "stage": STAGES[stage] if stage < len(STAGES) else None,
                "reasons": [],
            }
        )
    return out[-limit:]


def history_json(record: Record, limit: int) -> bytes:
    return orjson.dumps(history_points(record, limit))
