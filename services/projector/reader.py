"""Read the score projection: snapshots, history, ranked at-risk pages, counts and meta.

Snapshots come back as the exact JSON bytes the scorer published (decompressed from the stored
record, ~1.2 µs each), so the API sends them on without parsing and re-serialising.

Paging an at-risk list (``ScoreReader.at_risk``)
-------------------------------------------------
Order: ranking value descending (risk 0–100, or revenue at risk = risk/100 × MRR), ties by customer
id descending (Redis' reverse byte order). The cursor is an opaque token naming a position (value,
customer id); the next page starts strictly after it, found again by value and id, not by offset.
So customers that do not move while a client pages are served exactly once and in order, even when
others are inserted, removed or re-scored; a customer whose own score moves across the cursor
between two pages may be served twice or skipped — it is shown at its new place on the next refresh.

Every list the API offers by risk — all customers, or one owner, segment, quadrant or band, each
of one status — and by revenue at risk all customers or one owner, is one ranked set per shard
(keyspace.py). A page is one Lua call per shard and status:
seek to the cursor (ZSCORE + ZRANK, or a binary search among equal values), read ``limit + 1`` ids
and their records; O(log n + page). The calls' rows are merged by (value, id) in Python: exact,
since each customer is in one shard and one status. ``status=all`` merges the active and churned
lists.

Two or more of owner/segment/quadrant/band at once, or a filter whose list is not kept in that
order (segment, quadrant or band by revenue: ``keys.RANKED_DIMENSIONS``): the most selective list
kept (owner, then segment, band, quadrant; else the whole status list) is walked and the other
filters are checked on each record's header, at most ``SCAN_BUDGET`` members per call. A page can
then be short and still have a ``next_cursor`` (the position the walk reached): clients page until
``next_cursor`` is null, as always.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from vitals.platform import keyspace as keys
from vitals.platform.keyspace import Order
from vitals.projector import codec
from vitals.projector.codec import CorruptRecord

# What a read raises on a stored record this version cannot read (an older format, damaged): part
# of the reader's interface, so its callers need not know the codec.
__all__ = ["CorruptRecord", "ScoreReader"]

# Largest page a client may ask for: one page is one Lua call per shard holding Redis for its
# duration, and 200 snapshots (~300 KB of JSON) is more than a screen shows.
MAX_PAGE_LIMIT = 200
DEFAULT_PAGE_LIMIT = 50
# Most history points one request may return: the 90 days kept (codec.HISTORY_DAYS).
MAX_HISTORY_LIMIT = codec.HISTORY_DAYS
# Members one call may examine when extra filters are checked on records (multi-filter pages):
# bounds the time one page holds Redis (~1 µs per member).
SCAN_BUDGET = 2000
# The list walked for a multi-filter page: the first present of these (owners are many and small,
# quadrants few and large).
SELECTIVITY = ("owner", "segment", "band", "quadrant")
# Header columns (1-based, as the Lua parser numbers them; codec.HEADER_FIELDS).
HEADER_COLUMN = {dim: codec.HEADER_FIELDS.index(dim) + 1 for dim in keys.LIST_DIMENSIONS}

# KEYS[1]: the ranked set. ARGV: 1 rows wanted, 2 cursor value ("" = first page), 3 cursor id,
# 4 record key prefix, 5 scan budget, then (header column, value) pairs that must hold.
# Returns {flat rows: id, value, compressed snapshot ..., frontier value, frontier id}; the
# frontier is where a walk stopped on its budget ("" when the list was read to its end or the page
# filled). Only the compressed snapshot of a record is sent back (codec.py: it is at offset 4).
PAGE_LUA = """
local function bytes_lt(a, b)
  -- byte-wise a < b, the order Redis sorts equal scores in (Lua's < follows the locale)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local src = KEYS[1]
local want = tonumber(ARGV[1])
local n = redis.call('ZCARD', src)
local start = 0
if ARGV[2] ~= '' then
  local s, m = ARGV[2], ARGV[3]
  -- below = how many members sort strictly before (s, m) ascending; the next page (descending)
  -- starts at the one just below, i.e. at reverse index n - below.
  local below
  local sc = redis.call('ZSCORE', src, m)
  if sc and tonumber(sc) == tonumber(s) then
    below = redis.call('ZRANK', src, m)
  else
    local lo = redis.call('ZCOUNT', src, '-inf', '(' .. s)
    local hi = lo + redis.call('ZCOUNT', src, s, s)
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if bytes_lt(redis.call('ZRANGE', src, mid, mid)[1], m) then lo = mid + 1 else hi = mid end
    end
    below = lo
  end
  start = n - below
end
local checks = {}
for i = 6, #ARGV, 2 do checks[#checks + 1] = {tonumber(ARGV[i]), ARGV[i + 1]} end
local out = {}
local rows = 0
if #checks == 0 then
  if start < n then
    local got = redis.call('ZRANGE', src, start, start + want - 1, 'REV', 'WITHSCORES')
    for i = 1, #got, 2 do
      local rec = redis.call('GET', ARGV[4] .. got[i])
      if rec then
        out[#out + 1] = got[i]
        out[#out + 1] = got[i + 1]
        out[#out + 1] = string.sub(rec, 4, 3 + string.byte(rec, 2) * 256 + string.byte(rec, 3))
      end
    end
  end
  out[#out + 1] = ''
  out[#out + 1] = ''
  return out
end
local budget = tonumber(ARGV[5])
local scanned = 0
local last_id, last_score = nil, nil
local CHUNK = 100
while start < n and rows < want and scanned < budget do
  local got = redis.call('ZRANGE', src, start, start + CHUNK - 1, 'REV', 'WITHSCORES')
  if #got == 0 then break end
  for i = 1, #got, 2 do
    local rec = redis.call('GET', ARGV[4] .. got[i])
    scanned = scanned + 1
    last_id, last_score = got[i], got[i + 1]
    if rec then
      local bend = 3 + string.byte(rec, 2) * 256 + string.byte(rec, 3)
      local nl = string.find(rec, '\\n', bend + 1, true)
      local f = {}
      for s in string.gmatch(string.sub(rec, bend + 1, nl - 1) .. '\\31', '([^\\31]*)\\31') do
        f[#f + 1] = s
      end
      local ok = true
      for _, c in ipairs(checks) do if f[c[1]] ~= c[2] then ok = false break end end
      if ok then
        out[#out + 1] = got[i]
        out[#out + 1] = got[i + 1]
        out[#out + 1] = string.sub(rec, 4, bend)
        rows = rows + 1
      end
    end
    if rows >= want or scanned >= budget then break end
  end
  start = start + CHUNK
end
if rows < want and scanned >= budget and last_id then
  out[#out + 1] = last_score
  out[#out + 1] = last_id
else
  out[#out + 1] = ''
  out[#out + 1] = ''
end
return out
"""


class InvalidCursor(ValueError):
    """A paging cursor that this API did not issue or that belongs to another order."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of an at-risk list: snapshot JSON bytes, most at risk first."""

    items: list[bytes]
    next_cursor: str | None


def encode_cursor(order: Order, value: bytes, cid: bytes) -> str:
    token = orjson.dumps([order, value.decode(), cid.decode()])
    return base64.urlsafe_b64encode(token).rstrip(b"=").decode()


def decode_cursor(cursor: str, order: Order) -> tuple[str, str]:
    """Cursor -> (ranking value as Redis printed it, customer id); raises ``InvalidCursor``."""
    try:
        token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        got_order, value, cid = orjson.loads(token)
        float(value)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise InvalidCursor("cursor is not one this API issued; start again without it") from None
    if got_order != order:
        raise InvalidCursor(
            f"cursor belongs to order={got_order}; ask with that order or no cursor"
        )
    if not isinstance(value, str) or not isinstance(cid, str):
        raise InvalidCursor("cursor is not one this API issued; start again without it")
    return value, cid


def _as_bytes(raw: bytes | str) -> bytes:
    # The client returns bytes (no decode_responses, see ScoreReader); redis-py types it wider.
    return raw if isinstance(raw, bytes) else raw.encode()


def _position(value: bytes, cid: bytes) -> tuple[float, bytes]:
    return (float(value), cid)


class ScoreReader:
    """Reads what ``ScoreProjection`` wrote. ``redis`` returns bytes (no ``decode_responses``)."""

    def __init__(self, redis: Redis | RedisCluster, *, layout: keys.Layout | None = None) -> None:
        self._redis = redis
        self.layout = layout or keys.Layout.for_client(redis)
        self._page = redis.register_script(PAGE_LUA)

    async def record(self, customer_id: str) -> codec.Record | None:
        raw = await self._redis.get(self.layout.record(customer_id))
        return None if raw is None else codec.split(_as_bytes(raw))

    async def snapshot(self, customer_id: str) -> bytes | None:
        """The customer's current snapshot JSON, exactly as published, or None if unknown."""
        raw = await self._redis.get(self.layout.record(customer_id))
        return None if raw is None else codec.snapshot_of(_as_bytes(raw))

    async def history(self, customer_id: str, limit: int = MAX_HISTORY_LIMIT) -> bytes | None:
        """The last ``limit`` daily points as a JSON array (oldest first), None if unknown."""
        record = await self.record(customer_id)
        if record is None:
            return None
        return codec.history_json(record, max(1, min(limit, MAX_HISTORY_LIMIT)))

    async def at_risk(
        self,
        *,
        order: Order = "risk",
        limit: int = DEFAULT_PAGE_LIMIT,
        cursor: str | None = None,
        filters: Mapping[str, str | None] | None = None,
    ) -> Page:
        """One page of customers, most at risk first (paging rules: see the module docstring).

        ``filters`` maps a dimension of ``keys.FILTER_DIMENSIONS`` to the value required (None =
        any; status None = active and churned); several filters must all hold. ``limit`` is
        clamped to 1..``MAX_PAGE_LIMIT``. Raises ``InvalidCursor`` and ``ValueError`` (unknown
        order or filter dimension).
        """
        if order not in keys.ORDERS:
            raise ValueError(f"order must be one of {', '.join(keys.ORDERS)}")
        limit = max(1, min(limit, MAX_PAGE_LIMIT))
        active = {d: codec.clean(v) for d, v in (filters or {}).items() if v}
        unknown = set(active) - set(keys.FILTER_DIMENSIONS)
        if unknown:
            raise ValueError(f"cannot filter by {sorted(unknown)}; use {keys.FILTER_DIMENSIONS}")
        status = active.pop("status", None)
        statuses = (status,) if status else keys.STATUSES
        kept = keys.RANKED_DIMENSIONS[order]
        walked = next((d for d in SELECTIVITY if d in active and d in kept), None)
        checks: list[Any] = []
        for dim, value in active.items():
            if dim != walked:
                checks += [HEADER_COLUMN[dim], value]
        value, cid = decode_cursor(cursor, order) if cursor else ("", "")
        layout = self.layout
        calls = []
        for shard in range(layout.shards):
            for st in statuses:
                name = layout.ranked(shard, order, st, walked, active[walked] if walked else None)
                args = [limit + 1, value, cid, layout.base(shard) + "c:", SCAN_BUDGET, *checks]
                calls.append(self._page(keys=[name], args=args))
        results: list[list[bytes]] = (
            [await calls[0]] if len(calls) == 1 else await asyncio.gather(*calls)
        )
        return self._merge(order, limit, results)

    @staticmethod
    def _merge(order: Order, limit: int, results: list[list[bytes]]) -> Page:
        rows: list[tuple[float, bytes, bytes, bytes]] = []
        frontier: tuple[float, bytes] | None = None
        frontier_raw: tuple[bytes, bytes] | None = None
        for flat in results:
            *body, f_value, f_id = flat
            for i in range(0, len(body), 3):
                rows.append((float(body[i + 1]), body[i], body[i + 1], body[i + 2]))
            if f_value:
                pos = _position(f_value, f_id)
                if frontier is None or pos > frontier:
                    frontier, frontier_raw = pos, (f_value, f_id)
        if len(results) > 1:
            rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
        if frontier is not None:
            rows = [r for r in rows if (r[0], r[1]) >= frontier]
        page = rows[:limit]
        if len(rows) > limit:
            next_cursor: str | None = encode_cursor(order, page[-1][2], page[-1][1])
        elif frontier_raw is not None:
            next_cursor = encode_cursor(order, frontier_raw[0], frontier_raw[1])
        else:
            next_cursor = None
        return Page(
            items=[codec.decompress(blob) for _, _, _, blob in page], next_cursor=next_cursor
        )

    async def _each_shard(self, build: Any) -> list[list[Any]]:
        """Run ``build(pipe, shard)`` on every shard in one pipeline; results per shard."""
        out = []
        for shard in range(self.layout.shards):
            pipe = self._redis.pipeline(transaction=False)
            build(pipe, shard)
            out.append(pipe.execute())
        return list(await asyncio.gather(*out))

    async def counts(self) -> dict[str, Any]:
        """Customers per value of each ``keys.COUNT_DIMENSIONS`` entry, plus the total."""
        layout = self.layout

        def build(pipe: Any, shard: int) -> None:
            for dim in keys.COUNT_DIMENSIONS:
                pipe.hgetall(layout.counts(shard, dim))
            pipe.hget(layout.meta(shard), "customers")

        total = 0
        out: dict[str, Any] = {dim: {} for dim in keys.COUNT_DIMENSIONS}
        for *hashes, customers in await self._each_shard(build):
            total += int(customers or 0)
            for dim, raw in zip(keys.COUNT_DIMENSIONS, hashes, strict=True):
                for k, v in raw.items():
                    name = k.decode()
                    out[dim][name] = out[dim].get(name, 0) + int(v)
        result: dict[str, Any] = {"customers": total}
        for dim in keys.COUNT_DIMENSIONS:
            result[dim] = dict(sorted(out[dim].items()))
        return result

    async def meta(self) -> dict[str, float | int | None]:
        """Stream watermark and last projection time (Unix s, None before the first snapshot),
        snapshots applied and skipped as invalid (merged over shards)."""
        layout = self.layout
        raws = await self._each_shard(lambda pipe, shard: pipe.hgetall(layout.meta(shard)))
        marks: dict[str, float | None] = {
            keys.META_WATERMARK: None,
            keys.META_LAST_PROJECTION: None,
        }
        applied = invalid = 0
        for (raw,) in raws:
            for field in marks:
                value = raw.get(field.encode())
                if value is not None:
                    current = marks[field]
                    marks[field] = max(float(value), current if current is not None else 0.0)
            applied += int(raw.get(keys.META_APPLIED.encode(), 0))
            invalid += int(raw.get(keys.META_INVALID.encode(), 0))
        return {**marks, keys.META_APPLIED: applied, keys.META_INVALID: invalid}
