"""The growth projection in Redis: exact population totals from entity snapshots.

Layout (``G`` = ``vitals:growth:``):

    G e:{entity}        hash  v = version, f = facts JSON of the last applied snapshot
    G m:{metric}        hash  "day|slot" -> total (facts.py names the metrics)
    G metrics           set   every metric with a hash (so a read needs no SCAN)
    G arrival           hash  entity -> customer arrival time (K-factor cycle time)
    G cohort            hash  entity -> acquisition cohort, for possible referrers (K-factor's
                              cohort filter; facts.referrer_cohort)
    G decisions         hash  "experiment|arm" -> JSON of the first decision (the alert record)

Guarantee: at-least-once in, exact out. ``APPLY`` replaces an entity's facts atomically (totals
move by new - old), ignores a snapshot older than the stored version, and moves nothing when the
same snapshot comes twice. Not Redis Cluster ready (metric keys are derived inside the script).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import orjson
from redis.asyncio import Redis

from vitals.platform.keyspace import GROWTH_PREFIX

from .aggregate import Aggregates, Snapshot

logger = logging.getLogger("vitals.growth")

PREFIX = GROWTH_PREFIX

APPLY = """
local prefix = ARGV[1]
local applied = 0
for i = 2, #ARGV, 5 do
  local entity, version, raw = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local arrival, cohort = ARGV[i + 3], ARGV[i + 4]
  local ekey = prefix .. 'e:' .. entity
  local stored = redis.call('HGET', ekey, 'v')
  if (not stored) or tonumber(stored) <= version then
    local new = cjson.decode(raw)
    local oldraw = redis.call('HGET', ekey, 'f')
    local old = {}
    if oldraw then old = cjson.decode(oldraw) end
    local function move(fact, delta)
      local sep = string.find(fact, '|', 1, true)
      local metric = string.sub(fact, 1, sep - 1)
      local mkey = prefix .. 'm:' .. metric
      local total = redis.call('HINCRBY', mkey, string.sub(fact, sep + 1), delta)
      if total == 0 then
        redis.call('HDEL', mkey, string.sub(fact, sep + 1))
      end
      redis.call('SADD', prefix .. 'metrics', metric)
    end
    for fact, value in pairs(old) do
      local delta = (new[fact] or 0) - value
      if delta ~= 0 then move(fact, delta) end
    end
    for fact, value in pairs(new) do
      if old[fact] == nil and value ~= 0 then move(fact, value) end
    end
    redis.call('HSET', ekey, 'v', version, 'f', raw)
    for _, card in ipairs({{'arrival', arrival}, {'cohort', cohort}}) do
      if card[2] ~= '' then
        redis.call('HSET', prefix .. card[1], entity, card[2])
      else
        redis.call('HDEL', prefix .. card[1], entity)
      end
    end
    applied = applied + 1
  end
end
return applied
"""


class GrowthProjection:
    """Writes snapshots and reads totals. ``redis`` returns bytes (decode_responses=False)."""

    def __init__(self, redis: Redis, prefix: str = PREFIX) -> None:
        self.redis = redis
        self.prefix = prefix
        self._apply = redis.register_script(APPLY)

    async def apply(self, snapshots: Iterable[Snapshot]) -> int:
        args: list[Any] = [self.prefix]
        for snap in snapshots:
            # Lua's cjson reads numbers as doubles: integers up to 2^53 stay exact.
            args += [
                snap.entity,
                snap.version,
                orjson.dumps(snap.facts).decode() if snap.facts else "{}",
                "" if snap.arrival is None else repr(snap.arrival),
                snap.cohort or "",
            ]
        if len(args) == 1:
            return 0
        return int(await self._apply(keys=[], args=args))

    async def aggregates(self, prefix: str = "") -> Aggregates:
        """Every metric's totals (those whose name starts with ``prefix``)."""
        names = sorted(_text(m) for m in await self.redis.smembers(self.prefix + "metrics"))
        names = [n for n in names if n.startswith(prefix)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(self.prefix + "m:" + name)
            cells = await pipe.execute()
        return {
            name: {_text(k): int(v) for k, v in cell.items()}
            for name, cell in zip(names, cells, strict=True)
            if cell
        }

    async def arrivals(self, entities: Iterable[str]) -> dict[str, float]:
        """Customer arrival times of those ``entities`` that have one."""
        return {e: float(v) for e, v in (await self._known("arrival", entities)).items()}

    async def cohorts(self, entities: Iterable[str]) -> dict[str, str]:
        """Acquisition cohorts of those ``entities`` kept as possible referrers."""
        return {e: _text(v) for e, v in (await self._known("cohort", entities)).items()}

    async def _known(self, field: str, entities: Iterable[str]) -> dict[str, bytes | str]:
        wanted = sorted(set(entities))
        if not wanted:
            return {}
        values = await self.redis.hmget(self.prefix + field, wanted)
        return {e: v for e, v in zip(wanted, values, strict=True) if v is not None}

    async def record_decision(self, experiment: str, arm: str, record: dict[str, Any]) -> bool:
        """Store the first decision of (experiment, arm); True when this call stored it."""
        return bool(
            await self.redis.hsetnx(
                self.prefix + "decisions", f"{experiment}|{arm}", orjson.dumps(record)
            )
        )

    async def decisions(self) -> dict[str, Any]:
        raw = await self.redis.hgetall(self.prefix + "decisions")
        return {_text(k): orjson.loads(v) for k, v in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
