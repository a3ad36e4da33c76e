"""Project score snapshots from the `scores` topic into Redis (docs/design.md §1, §6).

Guarantee: the scorer and the Kafka consumer deliver snapshots **at least once**, in order per
customer but possibly repeated after a restart or rebalance. ``ScoreProjection.apply`` makes that
harmless: each snapshot is applied by a Lua script that compares its ``as_of_ts`` with the stored
one and, atomically per customer,

* ignores it when it is older (a replay never moves a customer back in time);
* re-applies it idempotently when it is the same instant (every write is a set, not an increment);
* otherwise stores the record (codec.py: index header, daily history, compressed exact JSON),
  moves the customer between the ranked lists and population counts of its old and new
  owner/segment/quadrant/band/status (keyspace.py), updates the day's history point and advances the
  shard's watermark.

Throughput: a batch is grouped by shard and each shard's part is ONE script call (not one per
snapshot: the per-call overhead was most of Redis' time), and a list is only touched when the
customer's value or membership changed. The Python side costs ~10 µs per snapshot (decode,
compress from a primed compressor, build arguments), so one projector process does ~50–80k/s and
more processes (``vitals projector`` in the same consumer group) add more. A batch's shards run
concurrently (on a cluster: on their masters at once). Not a transaction: each shard's call is
atomic on its own, and a half-applied batch is completed by the redelivery that follows a crash.

History is not rebuildable in full: `scores` is compacted, so ``vitals rebuild-redis`` restores the
latest snapshot per customer and whatever older records compaction has not yet removed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from vitals.platform import keyspace as keys
from vitals.projector import codec

log = logging.getLogger(__name__)

# Snapshots per script call: one call holds its Redis (master) for its duration, ~15–25 µs per
# snapshot, so 500 ≈ 10 ms at most — a read waits at most that long behind a write batch.
SCRIPT_BATCH = 500
# Arguments per snapshot in the apply script (see ``APPLY_LUA``).
ITEM_ARGS = 13

# ARGV: 1 shard base, 2 history days, 3 wall-clock now, then ITEM_ARGS per snapshot:
#   cid, ts, risk ("" = none), revenue ("" = none), owner, segment, quadrant, band, rfm, stage,
#   day (days since epoch), history point (4 bytes), compressed snapshot.
# KEYS[1]: the shard's meta key (routes the call to the shard's cluster slot).
# Returns {applied, replayed, stale}.
APPLY_LUA = """
local base, maxdays, now = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local NF = 13
local lists = RANKED_DIMENSIONS
local counted = {'owner', 'segment', 'quadrant', 'band', 'rfm', 'stage'}
local col = {owner = 4, segment = 5, quadrant = 6, band = 7, rfm = 8, stage = 9}
local EMPTY = string.char(254, 254, 254)
local applied, replayed, stale, created, maxts, maxts_s = 0, 0, 0, 0, nil, nil

-- A record: format byte, blob length (2 bytes), blob, header fields joined by byte 31, newline,
-- history (codec.py). The header is the same in formats 1 and 2; a format-1 history is dropped.
local function parse(v)
  local hstart = 4 + string.byte(v, 2) * 256 + string.byte(v, 3)
  local nl = string.find(v, '\\n', hstart, true)
  local f = {}
  for s in string.gmatch(string.sub(v, hstart, nl - 1) .. '\\31', '([^\\31]*)\\31') do
    f[#f + 1] = s
  end
  if string.sub(v, 1, 1) ~= '2' then return f, '' end
  return f, string.sub(v, nl + 1)
end

local function status_of(stage) if stage == 'churned' then return 'churned' end return 'active' end

-- The list names a customer with fields f belongs to in one order ({} when unranked).
local function memberships(f, order, score)
  local out = {}
  if score == nil or score == '' then return out end
  local head = base .. 'r:' .. order .. ':' .. status_of(f[9])
  out[head] = true
  for _, d in ipairs(lists[order]) do
    local v = f[col[d]]
    if v ~= '' then out[head .. ':' .. d .. ':' .. v] = true end
  end
  return out
end

local function day_bytes(d) return string.char(math.floor(d / 256) % 256, d % 256) end

-- History: first day (2 bytes), k, k runs of (day offset, code), 3 bytes per day (codec.py).
local function join_hist(first, runs, values)
  local parts = {day_bytes(first), string.char(#runs)}
  for _, r in ipairs(runs) do parts[#parts + 1] = string.char(r[1], r[2]) end
  parts[#parts + 1] = values
  return table.concat(parts)
end

-- Only the day of the stored snapshot or a later one arrives here: older snapshots are stale.
local function add_point(hist, day, point)
  local vals, code = string.sub(point, 1, 3), string.byte(point, 4)
  if #hist < 3 then return join_hist(day, {{0, code}}, vals) end
  local first = string.byte(hist, 1) * 256 + string.byte(hist, 2)
  local k = string.byte(hist, 3)
  local runs = {}
  for j = 0, k - 1 do runs[j + 1] = {string.byte(hist, 4 + 2 * j), string.byte(hist, 5 + 2 * j)} end
  local values = string.sub(hist, 4 + 2 * k)
  local n = #values / 3
  local last = first + n - 1
  if day > last then
    local gap = day - last - 1
    if gap >= maxdays then return join_hist(day, {{0, code}}, vals) end
    values = values .. string.rep(EMPTY, gap) .. vals
    n = n + gap + 1
    if runs[#runs][2] ~= code then runs[#runs + 1] = {n - 1, code} end
    if n > maxdays then
      local drop = n - maxdays
      first = first + drop
      values = string.sub(values, 1 + 3 * drop)
      local kept = {}
      for _, r in ipairs(runs) do
        if r[1] <= drop then kept = {{0, r[2]}} else kept[#kept + 1] = {r[1] - drop, r[2]} end
      end
      runs = kept
    end
  elseif day == last then
    values = string.sub(values, 1, 3 * (n - 1)) .. vals
    local lr = runs[#runs]
    if lr[1] == n - 1 then
      lr[2] = code
      if #runs > 1 and runs[#runs - 1][2] == code then runs[#runs] = nil end
    elseif lr[2] ~= code then
      runs[#runs + 1] = {n - 1, code}
    end
  else
    return hist
  end
  return join_hist(first, runs, values)
end

for i = 4, #ARGV, NF do
  local cid, ts_s = ARGV[i], ARGV[i + 1]
  local ts = tonumber(ts_s)
  local key = base .. 'c:' .. cid
  local nf = {ts_s, ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7],
              ARGV[i + 8], ARGV[i + 9]}
  local old = redis.call('GET', key)
  local of, hist = nil, ''
  local outcome = 1
  if old then
    of, hist = parse(old)
    local ots = tonumber(of[1])
    if ts < ots then outcome = 0 elseif ts == ots then outcome = 2 end
  end
  if outcome == 0 then
    stale = stale + 1
  else
    for _, d in ipairs(counted) do
      local o, n = of and of[col[d]] or nil, nf[col[d]]
      if o ~= n then
        local ck = base .. 'n:' .. d
        if o ~= nil and o ~= '' then
          if redis.call('HINCRBY', ck, o, -1) <= 0 then redis.call('HDEL', ck, o) end
        end
        if n ~= '' then redis.call('HINCRBY', ck, n, 1) end
      end
    end
    for k, order in ipairs({'risk', 'revenue'}) do
      local ns = nf[k + 1]
      local before = of and memberships(of, order, of[k + 1]) or {}
      local after = memberships(nf, order, ns)
      local moved = (of == nil) or (of[k + 1] ~= ns)
      for name in pairs(before) do
        if not after[name] then redis.call('ZREM', name, cid) end
      end
      for name in pairs(after) do
        if moved or not before[name] then redis.call('ZADD', name, ns, cid) end
      end
    end
    hist = add_point(hist, tonumber(ARGV[i + 10]), ARGV[i + 11])
    local blob = ARGV[i + 12]
    local blen = string.char(math.floor(#blob / 256), #blob % 256)
    redis.call('SET', key, '2' .. blen .. blob .. table.concat(nf, '\\31') .. '\\n' .. hist)
    if maxts == nil or ts > maxts then maxts, maxts_s = ts, ts_s end
    if not old then created = created + 1 end
    if outcome == 1 then applied = applied + 1 else replayed = replayed + 1 end
  end
end
local m = KEYS[1]
if maxts then
  local wm = redis.call('HGET', m, 'watermark_ts')
  if (not wm) or maxts > tonumber(wm) then redis.call('HSET', m, 'watermark_ts', maxts_s) end
end
if applied > 0 then redis.call('HINCRBY', m, 'snapshots_applied', applied) end
if created > 0 then redis.call('HINCRBY', m, 'customers', created) end
redis.call('HSET', m, 'last_projection_ts', now)
return {applied, replayed, stale}
""".replace(
    "RANKED_DIMENSIONS",
    "{"
    + ", ".join(
        f"{order} = {{{', '.join(repr(d) for d in dims)}}}"
        for order, dims in keys.RANKED_DIMENSIONS.items()
    )
    + "}",
)


class InvalidSnapshot(ValueError):
    """A snapshot missing a field the projection indexes on; the message names the field."""


def _number(value: Any) -> str:
    return "" if value is None else repr(float(value))


def item_args(snapshot: Mapping[str, Any], raw: bytes) -> tuple[str, list[Any]]:
    """(customer id, the apply script's arguments for one snapshot); raises ``InvalidSnapshot``.

    ``risk.value`` may be null (then the customer is stored and counted but in no ranked list).
    """
    try:
        cid = snapshot["customer_id"]
        ts = float(snapshot["as_of_ts"])
        risk = snapshot["risk"] or {}
        risk_value = risk.get("value")
        risk_value = None if risk_value is None else float(risk_value)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidSnapshot(f"snapshot needs customer_id, as_of_ts and risk ({exc!r})") from None
    if not isinstance(cid, str) or not cid:
        raise InvalidSnapshot("snapshot customer_id must be a non-empty string")
    try:
        mrr = float(snapshot.get("mrr") or 0.0)
    except (TypeError, ValueError):
        mrr = 0.0
    profile = snapshot.get("profile") or {}
    lifecycle = snapshot.get("lifecycle") or {}
    rfm = snapshot.get("rfm") or {}
    # To the cent: a shorter header (records are stored in allocator size steps) and no float noise.
    revenue = None if risk_value is None else round(risk_value / 100.0 * mrr, 2)
    return cid, [
        cid,
        repr(ts),
        _number(risk_value),
        _number(revenue),
        codec.clean(profile.get("owner")),
        codec.clean(profile.get("segment")),
        codec.clean(snapshot.get("quadrant")),
        codec.clean(risk.get("band")),
        codec.clean(rfm.get("segment")),
        codec.clean(lifecycle.get("stage")),
        int(ts // codec.DAY_S),
        codec.history_point(snapshot),
        codec.compress(raw),
    ]


class ScoreProjection:
    """Writes batches of score snapshots into Redis; see the module docstring for the guarantee.

    ``redis``: a ``redis.asyncio.Redis`` or ``RedisCluster`` returning bytes (no
    ``decode_responses``). ``clock`` returns wall-clock Unix seconds (the last projection time).
    """

    def __init__(
        self,
        redis: Redis | RedisCluster,
        *,
        layout: keys.Layout | None = None,
        history_days: int = codec.HISTORY_DAYS,
        clock: Callable[[], float] = time.time,
        mark_ready: bool = True,
    ) -> None:
        """``mark_ready``: the first batch sets the completeness marker (``keys.ready``) when it is
        absent; False for writers that set it themselves when done (the rebuild)."""
        if not 1 <= history_days <= codec.MAX_HISTORY_DAYS:
            raise ValueError(f"history_days must be 1..{codec.MAX_HISTORY_DAYS}")
        self._redis = redis
        self.layout = layout or keys.Layout.for_client(redis)
        self._history_days = history_days
        self._clock = clock
        self._apply = redis.register_script(APPLY_LUA)
        self._mark_ready = mark_ready

    async def apply(self, items: Sequence[tuple[Mapping[str, Any], bytes]]) -> int:
        """Apply ``(decoded snapshot, exact JSON bytes)`` pairs in order; returns how many moved a
        customer forward (replays of the same instant and older snapshots are not counted).

        Snapshots without customer_id / as_of_ts / risk are logged and skipped (a poison record
        must not stop the stream); they are counted in the meta field ``snapshots_invalid``.
        """
        return await self._apply_batch(items, invalid=0)

    async def apply_raw(self, values: Sequence[bytes]) -> int:
        """Like ``apply`` for undecoded Kafka values (JSON bytes); values that are not a JSON
        object are skipped and counted as invalid."""
        items: list[tuple[Mapping[str, Any], bytes]] = []
        for raw in values:
            try:
                decoded = orjson.loads(raw)
            except orjson.JSONDecodeError:
                decoded = None
            if isinstance(decoded, dict):
                items.append((decoded, raw))
            else:
                log.warning(
                    "skipping a `scores` value that is not a JSON object (%d bytes)", len(raw)
                )
        return await self._apply_batch(items, invalid=len(values) - len(items))

    async def _apply_batch(
        self, items: Sequence[tuple[Mapping[str, Any], bytes]], invalid: int
    ) -> int:
        if not items and not invalid:
            return 0
        layout = self.layout
        per_shard: dict[int, list[Any]] = {}
        for snapshot, raw in items:
            try:
                cid, args = item_args(snapshot, raw)
            except InvalidSnapshot as exc:
                invalid += 1
                log.warning("skipping snapshot: %s", exc)
                continue
            per_shard.setdefault(layout.shard_of(cid), []).extend(args)
        now = repr(self._clock())
        step = SCRIPT_BATCH * ITEM_ARGS

        async def apply_shard(shard: int, args: list[Any]) -> int:
            # A shard's chunks go one after the other: sent concurrently, a later chunk (newer
            # snapshots of a customer) could run first and make the earlier one stale, losing its
            # history points (a rebuild's big batches did). Shards are independent: in parallel.
            head = [layout.base(shard), self._history_days, now]
            applied = 0
            for start in range(0, len(args), step):
                result = await self._apply(
                    keys=[layout.meta(shard)], args=head + args[start : start + step]
                )
                applied += int(result[0])
            return applied

        counts = await asyncio.gather(*(apply_shard(s, a) for s, a in per_shard.items()))
        if invalid:
            await self._redis.hincrby(layout.meta(0), keys.META_INVALID, invalid)
        if self._mark_ready:
            await self._redis.set(keys.ready(layout.prefix), repr(self._clock()), nx=True)
            self._mark_ready = False  # once per writer: a flush while it runs must stay visible
        return sum(counts)
