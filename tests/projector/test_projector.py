from __future__ import annotations

import asyncio

import orjson
from e2e.services import await_for
from redis.asyncio import Redis

from vitals.platform.settings import Settings
from vitals.projector import projector
from vitals.projector.reader import ScoreReader

from .support import make_snapshot
from .test_cli import produce_scores

WAIT_S = 60.0


async def test_projector_projects_scores_commits_and_exports_its_lag(
    settings: Settings, redis: Redis
) -> None:
    await produce_scores(settings, [make_snapshot(f"c{i}", 1.0, risk=float(i)) for i in range(50)])
    reader = ScoreReader(redis)
    stop = asyncio.Event()
    task = asyncio.create_task(projector.run(settings, redis, stop))

    async def all_projected() -> bool:
        return (await reader.counts())["customers"] == 50

    await await_for(all_projected, timeout=WAIT_S, what="50 customers projected")
    top = orjson.loads((await reader.at_risk(limit=1)).items[0])
    assert top["customer_id"] == "c49"

    async def caught_up() -> bool:
        lags = projector.LAG_RECORDS.collect()[0].samples
        return bool(lags) and all(s.value == 0 for s in lags)

    await await_for(caught_up, timeout=WAIT_S, what="lag 0 on every partition")
    stop.set()
    first_run = await asyncio.wait_for(task, WAIT_S)
    assert first_run == 50

    # A second projector of the same group resumes after the committed offsets.
    await produce_scores(settings, [make_snapshot("c0", 2.0, risk=99.0)])
    stop = asyncio.Event()
    task = asyncio.create_task(projector.run(settings, redis, stop))

    async def rescored() -> bool:
        snap = await reader.snapshot("c0")
        return snap is not None and orjson.loads(snap)["risk"]["value"] == 99.0

    await await_for(rescored, timeout=WAIT_S, what="c0 re-scored")
    stop.set()
    assert await asyncio.wait_for(task, WAIT_S) == 1
