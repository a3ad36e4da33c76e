"""Read the score projection: snapshots, history, ranked at-risk pages, counts and meta.

Everything returns the bytes stored by ``writer.ScoreProjection`` where it can, so the API sends
them on without parsing and re-serialising (NOTES-kafka-faust.md: ~35 % more requests per second).

Paging an at-risk list (``ScoreReader.at_risk``)
-------------------------------------------------
Order: ranking value descending (risk 0–100, or revenue at risk = risk/100 × MRR), ties by customer
id descending (Redis' reverse byte order). The cursor is an opaque token naming the position
(value, customer id) of the last item served; the next page starts strictly after that position,
found again by value and id, not by offset. So customers that do not move while a client pages are
served exactly once and in order, even when others are inserted, removed or re-scored; a customer
whose own score moves across the cursor between two pages may be served twice or skipped — it is
shown at its new place on the next refresh. One Lua script per page: seek, read ``limit + 1`` ids
and their snapshots, one round trip. Several filters at once intersect their ranked sets inside the
script (into a scratch key deleted before the script returns), so paging needs the primary, not a
read-only replica.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import orjson
from redis.asyncio import Redis

from vitals.projection import keys
from vitals.projection.keys import Order

# Largest page a client may ask for: one page is one Lua call holding Redis for its duration, and
# 200 snapshots (~120 KB) is more than a screen shows.
MAX_PAGE_LIMIT = 200
DEFAULT_PAGE_LIMIT = 50
# History points one request may return (the writer keeps at most 500 per customer).
MAX_HISTORY_LIMIT = 500

# KEYS: ranked sets; KEYS[1] gives the order, the others filter (weight 0 in the intersection).
# ARGV: 1 scratch key, 2 limit, 3 cursor value ("" = first page), 4 cursor id,
# 5 snapshot key prefix.
# Returns a flat list: id, value, snapshot JSON ("" if missing), ... for up to limit + 1 customers.
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
if #KEYS > 1 then
  src = ARGV[1]
  local args = {src, #KEYS}
  for i = 1, #KEYS do args[#args + 1] = KEYS[i] end
  args[#args + 1] = 'WEIGHTS'
  for i = 1, #KEYS do args[#args + 1] = (i == 1) and 1 or 0 end
  redis.call('ZINTERSTORE', unpack(args))
end
local limit = tonumber(ARGV[2])
local n = redis.call('ZCARD', src)
local start = 0
if ARGV[3] ~= '' then
  local s, m = ARGV[3], ARGV[4]
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
local out = {}
if start < n then
  local rows = redis.call('ZRANGE', src, start, start + limit, 'REV', 'WITHSCORES')
  for i = 1, #rows, 2 do
    out[#out + 1] = rows[i]
    out[#out + 1] = rows[i + 1]
    out[#out + 1] = redis.call('GET', ARGV[5] .. rows[i]) or ''
  end
end
if #KEYS > 1 then redis.call('DEL', src) end
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


def _hash_to_counts(raw: Mapping[bytes, bytes]) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in sorted(raw.items())}


class ScoreReader:
    """Reads what ``ScoreProjection`` wrote. ``redis`` returns bytes (no ``decode_responses``)."""

    def __init__(self, redis: Redis, *, prefix: str = keys.PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix
        self._page = redis.register_script(PAGE_LUA)

    async def snapshot(self, customer_id: str) -> bytes | None:
        """The customer's current snapshot JSON, exactly as published, or None if unknown."""
        value = await self._redis.get(keys.snapshot(customer_id, self._prefix))
        return cast(bytes | None, value)

    async def history(self, customer_id: str, limit: int = MAX_HISTORY_LIMIT) -> bytes | None:
        """The last ``limit`` history points as a JSON array (oldest first), None if unknown."""
        limit = max(1, min(limit, MAX_HISTORY_LIMIT))
        rows = cast(
            list[bytes],
            await self._redis.zrange(keys.history(customer_id, self._prefix), -limit, -1),
        )
        if not rows:
            return None
        return b"[" + b",".join(rows) + b"]"

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
        any); several filters must all hold. ``limit`` is clamped to 1..``MAX_PAGE_LIMIT``.
        Raises ``InvalidCursor`` and ``ValueError`` (unknown order or filter dimension).
        """
        if order not in keys.ORDERS:
            raise ValueError(f"order must be one of {', '.join(keys.ORDERS)}")
        limit = max(1, min(limit, MAX_PAGE_LIMIT))
        active = {d: v for d, v in (filters or {}).items() if v}
        unknown = set(active) - set(keys.FILTER_DIMENSIONS)
        if unknown:
            raise ValueError(f"cannot filter by {sorted(unknown)}; use {keys.FILTER_DIMENSIONS}")
        sets = [keys.ranked(order, d, v, self._prefix) for d, v in sorted(active.items())]
        if not sets:
            sets = [keys.ranked(order, prefix=self._prefix)]
        value, cid = decode_cursor(cursor, order) if cursor else ("", "")
        args = [keys.page_scratch(self._prefix), limit, value, cid, keys.snapshot("", self._prefix)]
        flat: list[bytes] = await self._page(keys=sets, args=args)
        rows = [(flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)]
        page, more = rows[:limit], len(rows) > limit
        next_cursor = encode_cursor(order, page[-1][1], page[-1][0]) if more else None
        return Page(items=[snap for _, _, snap in page if snap], next_cursor=next_cursor)

    async def counts(self) -> dict[str, Any]:
        """Customers per value of each ``keys.COUNT_DIMENSIONS`` entry, plus the total."""
        pipe = self._redis.pipeline(transaction=False)
        for dim in keys.COUNT_DIMENSIONS:
            pipe.hgetall(keys.counts(dim, self._prefix))
        pipe.zcard(keys.ranked("risk", prefix=self._prefix))
        *hashes, total = await pipe.execute()
        out: dict[str, Any] = {"customers": int(total)}
        for dim, raw in zip(keys.COUNT_DIMENSIONS, hashes, strict=True):
            out[dim] = _hash_to_counts(raw)
        return out

    async def meta(self) -> dict[str, float | int | None]:
        """Stream watermark and last projection time (Unix s, None before the first snapshot),
        snapshots applied and skipped as invalid."""
        raw = await self._redis.hgetall(keys.meta(self._prefix))

        def num(field: str) -> float | None:
            value = raw.get(field.encode())
            return float(value) if value is not None else None

        return {
            keys.META_WATERMARK: num(keys.META_WATERMARK),
            keys.META_LAST_PROJECTION: num(keys.META_LAST_PROJECTION),
            keys.META_APPLIED: int(raw.get(keys.META_APPLIED.encode(), 0)),
            "snapshots_invalid": int(raw.get(b"snapshots_invalid", 0)),
        }
