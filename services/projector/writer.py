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

Throughput: a batch is grouped by shard and each shard's part is ONE script call per
``SCRIPT_BATCH`` snapshots, applied as a batch (``APPLY_LUA``): one MGET and one MSET of the
records, one variadic ZADD / ZREM per ranked list and one HINCRBY per changed count for the whole
call, nothing for a customer whose value and lists did not change; and one argument per snapshot
(redis-py packs arguments in Python). A batch's shards run concurrently (on a cluster: on their
masters at once); more processes (``vitals projector`` in the same consumer group) add more. Not a
transaction: each shard's call is atomic on its own, and a half-applied batch is completed by the
redelivery that follows a crash. Measured figures: docs/operations.md.

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
from redis.typing import EncodableT

from vitals.platform import keyspace as keys
from vitals.projector import codec

log = logging.getLogger(__name__)

# Snapshots per script call: one call holds its Redis (master) for its duration (~10–30 µs per
# snapshot on a busy 2-core machine), so 500 ≈ 5–15 ms — a read waits at most that long behind a
# write batch. Larger calls share more of each list's ZADD among more customers.
SCRIPT_BATCH = 500
# Most arguments one Lua call passes to a command at once (Lua's unpack has a C-stack limit).
LUA_UNPACK = 1000

# ARGV: 1 shard base, 2 history days, 3 wall-clock now, 4 the changes channel (published on when
# the call changed anything: keys.changes_channel), then one argument per snapshot
# (``item_arg``): the header fields (ts, risk, revenue, owner, segment, quadrant, band, rfm, stage;
# "" = none) and the day (days since epoch) joined by byte 31, a newline, the history point
# (4 bytes), the compressed snapshot's length (2 bytes) and bytes, the customer id (last: any
# bytes). One argument a snapshot, not one a field: redis-py packs each argument in Python, and
# 13 a snapshot were half the projector's own CPU.
# KEYS[1]: the shard's meta key (routes the call to the shard's cluster slot).
# Returns {applied, replayed, stale}.
#
# The whole call is applied as one batch: every record it touches is read with one MGET and
# written with one MSET; snapshots are applied in order to those records in Lua tables; then each
# customer's lists are diffed once (its record before the call against after it) and the moves
# are sent as one variadic ZADD / ZREM per list and one HINCRBY per changed count, so a list
# touched by many customers of the batch costs one command, and a customer whose value and
# memberships did not change costs none.
APPLY_LUA = """
local base, maxdays, now, channel = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local lists = RANKED_DIMENSIONS
local counted = {'owner', 'segment', 'quadrant', 'band', 'rfm', 'stage'}
local col = {owner = 4, segment = 5, quadrant = 6, band = 7, rfm = 8, stage = 9}
local EMPTY = string.char(254, 254, 254)
local CHUNK = LUA_UNPACK
local applied, replayed, stale, created, maxts, maxts_s = 0, 0, 0, 0, nil, nil

local function fields(text)
  local f = {}
  for s in string.gmatch(text .. '\\31', '([^\\31]*)\\31') do f[#f + 1] = s end
  return f
end

-- A record: format byte, blob length (2 bytes), blob, header fields joined by byte 31, newline,
-- history (codec.py). The header is the same in formats 1 and 2; a format-1 history is dropped.
local function parse(v)
  local hstart = 4 + string.byte(v, 2) * 256 + string.byte(v, 3)
  local nl = string.find(v, '\\n', hstart, true)
  local f = fields(string.sub(v, hstart, nl - 1))
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


-- Run a command over many arguments, LUA_UNPACK at a time.
local function chunked(cmd, key, args)
  for i = 1, #args, CHUNK do
    redis.call(cmd, key, unpack(args, i, math.min(i + CHUNK - 1, #args)))
  end
end

-- 1. Parse the items; read every record they touch with one MGET.
local items, order_of, state = {}, {}, {}
for i = 5, #ARGV do
  local a = ARGV[i]
  local nl = string.find(a, '\\n', 1, true)
  local f = fields(string.sub(a, 1, nl - 1))
  local blen = string.byte(a, nl + 5) * 256 + string.byte(a, nl + 6)
  local cid = string.sub(a, nl + 7 + blen)
  local day = tonumber(f[10])
  f[10] = nil
  local point, blob = string.sub(a, nl + 1, nl + 4), string.sub(a, nl + 7, nl + 6 + blen)
  items[#items + 1] = {cid, f, day, point, blob}
  if not state[cid] then
    state[cid] = true
    order_of[#order_of + 1] = cid
  end
end
for s = 1, #order_of, CHUNK do
  local names = {}
  for j = s, math.min(s + CHUNK - 1, #order_of) do
    names[#names + 1] = base .. 'c:' .. order_of[j]
  end
  local got = redis.call('MGET', unpack(names))
  for j = 1, #names do
    local cid, v = order_of[s + j - 1], got[j]
    if v then
      local f, h = parse(v)
      state[cid] = {orig = f, f = f, hist = h}
    else
      state[cid] = {orig = false, f = false, hist = ''}
    end
  end
end

-- 2. Apply the snapshots in order to the records in memory.
for _, it in ipairs(items) do
  local cid, nf, day, point, blob = it[1], it[2], it[3], it[4], it[5]
  local st = state[cid]
  local ts = tonumber(nf[1])
  local outcome = 1
  if st.f then
    local ots = tonumber(st.f[1])
    if ts < ots then outcome = 0 elseif ts == ots then outcome = 2 end
  end
  if outcome == 0 then
    stale = stale + 1
  else
    st.f, st.blob, st.hist = nf, blob, add_point(st.hist, day, point)
    if maxts == nil or ts > maxts then maxts, maxts_s = ts, nf[1] end
    if outcome == 1 then applied = applied + 1 else replayed = replayed + 1 end
  end
end

-- 3. Diff each changed customer's record before and after; batch the writes per key.
local records, zadd, zrem, delta = {}, {}, {}, {}
local function list_of(t, name)
  local l = t[name]
  if not l then l = {} t[name] = l end
  return l
end
for _, cid in ipairs(order_of) do
  local st = state[cid]
  if st.blob then
    local of, nf = st.orig, st.f
    if not of then created = created + 1 end
    for _, d in ipairs(counted) do
      local o, n = of and of[col[d]] or '', nf[col[d]]
      if o ~= n then
        local ck = base .. 'n:' .. d
        if not delta[ck] then delta[ck] = {} end
        if o ~= '' then delta[ck][o] = (delta[ck][o] or 0) - 1 end
        if n ~= '' then delta[ck][n] = (delta[ck][n] or 0) + 1 end
      end
    end
    for k, order in ipairs({'risk', 'revenue'}) do
      local ns = nf[k + 1]
      local before = of and memberships(of, order, of[k + 1]) or {}
      local after = memberships(nf, order, ns)
      local moved = (not of) or (of[k + 1] ~= ns)
      for name in pairs(before) do
        if not after[name] then
          local l = list_of(zrem, name)
          l[#l + 1] = cid
        end
      end
      for name in pairs(after) do
        if moved or not before[name] then
          local l = list_of(zadd, name)
          l[#l + 1] = ns
          l[#l + 1] = cid
        end
      end
    end
    local blen = string.char(math.floor(#st.blob / 256), #st.blob % 256)
    records[#records + 1] = base .. 'c:' .. cid
    records[#records + 1] = '2' .. blen .. st.blob .. table.concat(nf, '\\31') .. '\\n' .. st.hist
  end
end
for name, members in pairs(zrem) do chunked('ZREM', name, members) end
for name, pairs_ in pairs(zadd) do chunked('ZADD', name, pairs_) end
for ck, values in pairs(delta) do
  for v, n in pairs(values) do
    if n ~= 0 and redis.call('HINCRBY', ck, v, n) <= 0 then redis.call('HDEL', ck, v) end
  end
end
for i = 1, #records, CHUNK do
  redis.call('MSET', unpack(records, i, math.min(i + CHUNK - 1, #records)))
end

local m = KEYS[1]
if maxts then
  local wm = redis.call('HGET', m, 'watermark_ts')
  if (not wm) or maxts > tonumber(wm) then redis.call('HSET', m, 'watermark_ts', maxts_s) end
end
if applied > 0 then redis.call('HINCRBY', m, 'snapshots_applied', applied) end
if created > 0 then redis.call('HINCRBY', m, 'customers', created) end
redis.call('HSET', m, 'last_projection_ts', now)
if applied + replayed > 0 then redis.call('PUBLISH', channel, now) end
return {applied, replayed, stale}
""".replace("LUA_UNPACK", str(LUA_UNPACK)).replace(
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


def item_arg(snapshot: Mapping[str, Any], raw: bytes) -> tuple[str, bytes]:
    """(customer id, the apply script's argument for one snapshot: see ``APPLY_LUA``); raises
    ``InvalidSnapshot``.

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
    blob = codec.compress(raw)
    text = codec.SEP.join(
        (
            repr(ts),
            _number(risk_value),
            _number(revenue),
            codec.clean(profile.get("owner")),
            codec.clean(profile.get("segment")),
            codec.clean(snapshot.get("quadrant")),
            codec.clean(risk.get("band")),
            codec.clean(rfm.get("segment")),
            codec.clean(lifecycle.get("stage")),
            str(int(ts // codec.DAY_S)),
        )
    )
    return cid, b"".join(
        (
            text.encode(),
            b"\n",
            codec.history_point(snapshot),
            len(blob).to_bytes(2, "big"),
            blob,
            cid.encode(),
        )
    )


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
        per_shard: dict[int, list[EncodableT]] = {}
        for snapshot, raw in items:
            try:
                cid, arg = item_arg(snapshot, raw)
            except InvalidSnapshot as exc:
                invalid += 1
                log.warning("skipping snapshot: %s", exc)
                continue
            per_shard.setdefault(layout.shard_of(cid), []).append(arg)
        now = repr(self._clock())
        step = SCRIPT_BATCH

        async def apply_shard(shard: int, args: list[EncodableT]) -> int:
            # A shard's chunks go one after the other: sent concurrently, a later chunk (newer
            # snapshots of a customer) could run first and make the earlier one stale, losing its
            # history points (a rebuild's big batches did). Shards are independent: in parallel.
            head: list[EncodableT] = [
                layout.base(shard),
                self._history_days,
                now,
                keys.changes_channel(layout.prefix),
            ]
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
