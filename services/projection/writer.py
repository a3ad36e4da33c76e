"""Project score snapshots from the `scores` topic into Redis (DESIGN.md §1, §6).

Guarantee: the scorer and the Kafka consumer deliver snapshots **at least once**, in order per
customer but possibly repeated after a restart or rebalance. ``ScoreProjection.apply`` makes that
harmless: each snapshot is applied by one Lua script that compares its ``as_of_ts`` with the stored
one and, atomically,

* ignores it when it is older (a replay never moves a customer back in time);
* re-applies it idempotently when it is the same instant (every write is a set, not an increment);
* otherwise stores the exact JSON bytes, moves the customer between the ranked sets and population
  counts of its old and new owner/segment/quadrant/band/RFM segment/lifecycle stage, appends one
  history point (replacing a point with the same ``as_of_ts``), trims the history and advances the
  stream watermark.

A batch is one pipelined round trip (``EVALSHA`` per snapshot, not a transaction: each script is
atomic on its own, and a half-applied batch is completed by the redelivery that follows a crash).

History is not rebuildable in full: `scores` is compacted, so ``vitals rebuild-redis`` restores the
latest snapshot per customer and whatever older records compaction has not yet removed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from redis.asyncio import Redis

from vitals.projection import keys

log = logging.getLogger(__name__)

# Points of history kept per customer. 500 points ≈ 60–90 KB per customer (~150 B per point): at
# 100k customers ≈ 8 GB of Redis, so lower it for very large books (constructor argument).
HISTORY_MAX_POINTS = 500
# Reason texts copied into each history point: enough to say why a line moved, small enough to keep
# a point around 150 bytes.
HISTORY_REASONS = 2

# Outcomes of the apply script.
STALE, APPLIED, REPLAYED = 0, 1, 2

# ARGV: 1 prefix, 2 customer id, 3 as_of_ts, 4 snapshot JSON, 5 risk, 6 revenue at risk,
# 7..12 owner, segment, quadrant, band, rfm, stage ("" = none), 13 history point JSON,
# 14 history max.
# Returns 0 stale (ignored), 1 applied (customer moved forward), 2 replay of the same as_of_ts.
APPLY_LUA = """
local p, cid, ts_s = ARGV[1], ARGV[2], ARGV[3]
local ts = tonumber(ts_s)
local cur = p .. 'cur:' .. cid
local dims = {'owner', 'segment', 'quadrant', 'band', 'rfm', 'stage'}
local filters = {'owner', 'segment', 'quadrant', 'band', 'status'}
local new = {owner = ARGV[7], segment = ARGV[8], quadrant = ARGV[9], band = ARGV[10],
             rfm = ARGV[11], stage = ARGV[12]}
-- status: churned customers leave the default at-risk list (they are lost, not at risk).
local function status_of(stage) if stage == 'churned' then return 'churned' end return 'active' end
new.status = status_of(new.stage)
local result = 1
local old = {}
local stored = redis.call('HGET', cur, 'ts')
if stored then
  local old_ts = tonumber(stored)
  if ts < old_ts then return 0 end
  if ts == old_ts then result = 2 end
  local vals = redis.call('HMGET', cur, unpack(dims))
  for i, d in ipairs(dims) do old[d] = vals[i] or '' end
  old.status = status_of(old.stage)
end
for _, d in ipairs(dims) do
  local o, n = old[d], new[d]
  if o ~= n then
    local ck = p .. 'count:' .. d
    if o ~= nil and o ~= '' then
      if redis.call('HINCRBY', ck, o, -1) <= 0 then redis.call('HDEL', ck, o) end
    end
    if n ~= '' then redis.call('HINCRBY', ck, n, 1) end
  end
end
local score = {risk = ARGV[5], revenue = ARGV[6]}
for _, order in ipairs({'risk', 'revenue'}) do
  local base = p .. 'rank:' .. order
  redis.call('ZADD', base, score[order], cid)
  for _, d in ipairs(filters) do
    local o, n = old[d], new[d]
    if o ~= nil and o ~= '' and o ~= n then
      redis.call('ZREM', base .. ':' .. d .. ':' .. o, cid)
    end
    if n ~= '' then redis.call('ZADD', base .. ':' .. d .. ':' .. n, score[order], cid) end
  end
end
redis.call('SET', p .. 'snap:' .. cid, ARGV[4])
redis.call('HSET', cur, 'ts', ts_s, 'owner', new.owner, 'segment', new.segment,
           'quadrant', new.quadrant, 'band', new.band, 'rfm', new.rfm, 'stage', new.stage)
local h = p .. 'hist:' .. cid
redis.call('ZREMRANGEBYSCORE', h, ts_s, ts_s)
redis.call('ZADD', h, ts_s, ARGV[13])
redis.call('ZREMRANGEBYRANK', h, 0, -(tonumber(ARGV[14]) + 1))
local m = p .. 'meta'
local wm = redis.call('HGET', m, 'watermark_ts')
if (not wm) or ts > tonumber(wm) then redis.call('HSET', m, 'watermark_ts', ts_s) end
if result == 1 then redis.call('HINCRBY', m, 'snapshots_applied', 1) end
return result
"""


class InvalidSnapshot(ValueError):
    """A snapshot missing a field the projection indexes on; the message names the field."""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def script_args(
    snapshot: Mapping[str, Any], raw: bytes, history_max: int, prefix: str
) -> list[Any]:
    """The apply script's ARGV for one snapshot (see ``APPLY_LUA``); raises ``InvalidSnapshot``."""
    try:
        cid = snapshot["customer_id"]
        ts = float(snapshot["as_of_ts"])
        risk = snapshot["risk"]
        risk_value = float(risk["value"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidSnapshot(
            f"snapshot needs customer_id, as_of_ts and risk.value ({exc!r})"
        ) from None
    if not isinstance(cid, str) or not cid:
        raise InvalidSnapshot("snapshot customer_id must be a non-empty string")
    mrr = float(snapshot.get("mrr") or 0.0)
    profile = snapshot.get("profile") or {}
    lifecycle = snapshot.get("lifecycle") or {}
    reasons = snapshot.get("reasons") or []
    point = {
        "as_of_ts": ts,
        "temperature": (snapshot.get("temperature") or {}).get("value"),
        "health": (snapshot.get("health") or {}).get("value"),
        "risk": risk_value,
        "quadrant": snapshot.get("quadrant"),
        "stage": lifecycle.get("stage"),
        "reasons": [r.get("text") for r in reasons[:HISTORY_REASONS] if isinstance(r, Mapping)],
    }
    return [
        prefix,
        cid,
        repr(ts),
        raw,
        repr(risk_value),
        repr(risk_value / 100.0 * mrr),
        _text(profile.get("owner")),
        _text(profile.get("segment")),
        _text(snapshot.get("quadrant")),
        _text(risk.get("band")),
        _text((snapshot.get("rfm") or {}).get("segment")),
        _text(lifecycle.get("stage")),
        orjson.dumps(point),
        history_max,
    ]


class ScoreProjection:
    """Writes batches of score snapshots into Redis; see the module docstring for the guarantee.

    ``redis`` must be a ``redis.asyncio.Redis`` returning bytes (no ``decode_responses``).
    ``clock`` returns wall-clock Unix seconds (recorded as the last projection time).
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = keys.PREFIX,
        history_max: int = HISTORY_MAX_POINTS,
        clock: Callable[[], float] = time.time,
        mark_ready: bool = True,
    ) -> None:
        """``mark_ready``: the first batch sets the completeness marker (``keys.ready``) when it is
        absent; False for writers that set it themselves when done (the rebuild)."""
        if history_max < 1:
            raise ValueError("history_max must be at least 1 point")
        self._redis = redis
        self._prefix = prefix
        self._history_max = history_max
        self._clock = clock
        self._apply = redis.register_script(APPLY_LUA)
        self._mark_ready = mark_ready

    async def apply(self, items: Sequence[tuple[Mapping[str, Any], bytes]]) -> int:
        """Apply ``(decoded snapshot, exact JSON bytes)`` pairs in order; returns how many moved a
        customer forward (replays of the same instant and older snapshots are not counted).

        Snapshots without customer_id / as_of_ts / risk.value are logged and skipped (a poison
        record must not stop the stream); they are counted in the meta field ``snapshots_invalid``.
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
        pipe = self._redis.pipeline(transaction=False)
        scripts = 0
        for snapshot, raw in items:
            try:
                args = script_args(snapshot, raw, self._history_max, self._prefix)
            except InvalidSnapshot as exc:
                invalid += 1
                log.warning("skipping snapshot: %s", exc)
                continue
            await self._apply(args=args, client=pipe)
            scripts += 1
        meta_key = keys.meta(self._prefix)
        pipe.hset(meta_key, keys.META_LAST_PROJECTION, repr(self._clock()))
        if invalid:
            pipe.hincrby(meta_key, "snapshots_invalid", invalid)
        if self._mark_ready:
            pipe.set(keys.ready(self._prefix), repr(self._clock()), nx=True)
        results = await pipe.execute()
        self._mark_ready = False  # once per writer: a flush while it runs must stay visible
        return sum(1 for r in results[:scripts] if r == APPLIED)
