"""How one customer is stored in Redis: a compact record of index header, daily history and snapshot.

One string per customer (``Layout.record``), so a customer costs one top-level key:

    b"1" blob-length(2 bytes, big endian) compressed-snapshot header "\\n" history

* The compressed snapshot comes first, at a fixed offset, so a read (and the paging script) cuts
  it out without parsing anything else.

* ``header``: the fields the projection indexes on, joined by ``\\x1f`` (``HEADER_FIELDS``):
  as_of_ts, risk, revenue at risk, owner, segment, quadrant, band, RFM segment, lifecycle stage.
  The apply script (writer.py) reads it to move the customer between lists; the paging script
  reads it to check extra filters. Dimension values never contain ``\\x1f`` or ``\\n`` (``clean``
  replaces them with a space).
* ``history``: one point per UTC day, oldest first, at most ``HISTORY_DAYS`` days: 2 bytes (big
  endian) = the first day (days since 1970-01-01), then 4 bytes per day: temperature, health, risk
  (each round(value × 2), i.e. half-point steps 0..200; 255 = null) and a code byte (quadrant × 16
  + lifecycle stage; 15 = none). A day without a snapshot is ``EMPTY_DAY``. The day's point is its
  last snapshot: a later snapshot on the same day replaces it.
* ``compressed snapshot``: the snapshot's JSON bytes, raw deflate with a preset dictionary
  (``SNAPSHOT_DICT``: a typical snapshot, so key names and common values cost almost nothing).
  Decompression gives back the exact bytes the scorer published.

Why this shape: per million customers the snapshot JSON alone is ~1.5 GB; deflate with the
dictionary brings it to ~150–250 B, and 90 daily points are 362 B (500 JSON points were ~75 KB).
Compressing from a primed compressor's ``copy()`` costs ~5 µs, decompressing ~1.2 µs (measured;
a fresh ``compressobj`` with a dictionary costs ~100 µs, which would cap the projection at 10k/s).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

FORMAT: Final = b"1"
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
POINT_BYTES: Final = 4
NULL_VALUE: Final = 255
EMPTY_DAY: Final = bytes([254, 254, 254, 254])
NO_CODE: Final = 15
# Code tables of the history's code byte. Append only: stored history refers to the positions.
QUADRANTS: Final = ("champion", "upsell", "adoption_risk", "at_risk")
STAGES: Final = ("onboarding", "growth", "stable", "decline", "churned", "reactivated")

# Deflate settings: a 4 KB window holds the whole dictionary and a whole snapshot; memLevel 4 and
# level 1 keep the compressor's state small, so copying the primed one is cheap (see docstring).
_WBITS: Final = -12
_MEM_LEVEL: Final = 4
_LEVEL: Final = 1
# The preset dictionary. NEVER edit: stored records are decompressed with it. A new dictionary needs
# a new FORMAT byte and a decoder for the old one.
SNAPSHOT_DICT: Final = (
    b'{"schema":"vitals.score/1","customer_id":"acme","as_of":"2026-11-23T18:00:00Z",'
    b'"as_of_ts":1795370400.0,"clock":"wall","config_version":"2026.11.1","params_version":"prior",'
    b'"profile":{"name":"Acme Corp","owner":"dana","segment":"enterprise","plan":"pro","seats":40,'
    b'"renewal_date":"2027-02-01"},"mrr":499.0,"currency":"USD","temperature":{"value":72.4,'
    b'"band":"hot","model":"sbg","components":{"p_renew_base":0.91,"payment_failures":-0.05,'
    b'"cancellation_requested":0.0,"support":-0.02,"feedback":0.01}},"health":{"value":55.0,'
    b'"band":"fair","components":{"level":0.61,"breadth":0.52,"trend":0.81,"seats_active":0.4}},'
    b'"risk":{"value":31.0,"band":"medium","components":{"from_temperature":0.2,'
    b'"from_health":0.08,"from_trend":0.03}},"quadrant":"champion","rfm":{"r":4,"f":3,"m":5,'
    b'"segment":"important_value","recency_days":12.0,"frequency":5,"monetary":1200.0},'
    b'"repurchase":{"ratio":0.8,"status":"ok","days_since_last":12.0,"mean_interval_days":15.0},'
    b'"clv":{"value":3400.0,"currency":"USD","components":{"expected_purchases":4.2,'
    b'"expected_spend":810.0,"discount_rate_annual":0.1}},"lifecycle":{"stage":"stable",'
    b'"since":"2026-10-01T00:00:00Z"},"reasons":[{"code":"usage_drop","score":"health",'
    b'"text":"usage down 62% vs its 28-day rate","impact":-12.5},{"code":"payment_failed",'
    b'"score":"temperature","text":"payment failed 3 days ago","impact":-6.0}],'
    b'"stats":{"events":120,"usage_events":100,"purchases":5,"duplicates":0,"late_events":0,'
    b'"first_event_at":"2026-01-10T09:00:00Z","last_event_at":"2026-11-23T17:59:00Z",'
    b'"last_usage_at":"2026-11-23T17:59:00Z"},"next_check_ts":1795456800.0}'
)
_PRIMED_COMPRESSOR = zlib.compressobj(
    _LEVEL, zlib.DEFLATED, _WBITS, _MEM_LEVEL, zlib.Z_DEFAULT_STRATEGY, SNAPSHOT_DICT
)


class CorruptRecord(ValueError):
    """A stored record this code cannot read (another format, damaged): rebuild-redis fixes it."""


def compress(snapshot_json: bytes) -> bytes:
    c = _PRIMED_COMPRESSOR.copy()
    return c.compress(snapshot_json) + c.flush()


def decompress(blob: bytes) -> bytes:
    return zlib.decompressobj(_WBITS, SNAPSHOT_DICT).decompress(blob)


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


def _code(table: tuple[str, ...], value: Any) -> int:
    try:
        return table.index(value)
    except ValueError:
        return NO_CODE


def history_point(snapshot: Mapping[str, Any]) -> bytes:
    """The 4-byte history point of one snapshot (values possibly null)."""

    def value(field: str) -> Any:
        block = snapshot.get(field)
        return block.get("value") if isinstance(block, Mapping) else None

    lifecycle = snapshot.get("lifecycle")
    stage = lifecycle.get("stage") if isinstance(lifecycle, Mapping) else None
    code = _code(QUADRANTS, snapshot.get("quadrant")) * 16 + _code(STAGES, stage)
    return bytes(
        (_byte(value("temperature")), _byte(value("health")), _byte(value("risk")), code & 0xFF)
    )


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


def history_points(record: Record, limit: int) -> list[dict[str, Any]]:
    """The last ``limit`` daily points, oldest first. ``as_of_ts`` of the newest point is the
    snapshot's; an older day's point is dated at the end of its day (its exact time is not kept).
    ``reasons`` is empty: the current reasons are in the snapshot."""
    hist = record.history
    if len(hist) < 2:
        return []
    first_day = int.from_bytes(hist[:2], "big")
    days = (len(hist) - 2) // POINT_BYTES
    out: list[dict[str, Any]] = []
    for i in range(days):
        chunk = hist[2 + i * POINT_BYTES : 2 + (i + 1) * POINT_BYTES]
        if chunk == EMPTY_DAY:
            continue
        temperature, health, risk, code = chunk
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
