"""Silence timers on the real stack: a customer who goes quiet is re-scored and alerted without
sending anything, at the predicted crossing, exactly once — across a scorer restart."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import orjson
import pytest
import redis.asyncio as aioredis

from vitals.platform.partitioning import partition_for
from vitals.platform.settings import Settings
from vitals.projector.reader import ScoreReader

from .conftest import EventFactory
from .kafka_io import TopicReader, event_records, produce, read_all
from .services import await_for, running

pytestmark = pytest.mark.integration

DAY = 86_400.0
HOUR = 3_600.0
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z: a replay of history, scored on the stream clock
QUIET_DAYS = 10.0  # AlertConfig.gone_quiet_days
# ScorerApp._rebuild_timers' log line: partitions read, and how many of them the restore indexed.
TIMERS_LINE = re.compile(
    r"\((\d+) of \d+ partitions read, (\d+) of them from the changelog restore\)"
)


def neighbour_of(customer_id: str, partitions: int) -> str:
    """A customer on the same partition: its events move that partition's stream clock."""
    target = partition_for(customer_id, partitions)
    return next(
        f"filler-{i}" for i in range(10_000) if partition_for(f"filler-{i}", partitions) == target
    )


async def test_gone_quiet_fires_once_at_the_predicted_crossing_across_a_restart(
    settings: Settings, make_event: EventFactory, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"clock": "stream", "refit_interval_s": 0.0})
    quiet, busy = "quiet-co", neighbour_of("quiet-co", settings.partitions)
    history = [
        make_event(
            quiet, "profile", T0, properties={"owner": "dana", "name": "Quiet Co", "seats": 5}
        ),
        make_event(quiet, "subscription", T0, name="started", amount=200.0),
    ]
    history += [
        make_event(quiet, "usage", T0 + i * 6 * HOUR, user_id=f"u{i % 4}") for i in range(35 * 4)
    ]
    last_usage = T0 + (35 * 4 - 1) * 6 * HOUR
    filler = [make_event(busy, "usage", T0 + i * HOUR) for i in range(60 * 24)]
    stream = sorted(history + filler, key=lambda e: e["timestamp"])
    restart_at = last_usage + 3 * DAY  # after the timer is scheduled, before it is due
    before = [e for e in stream if e["timestamp"] <= _iso(restart_at)]
    after = [e for e in stream if e["timestamp"] > _iso(restart_at)]

    async with TopicReader(settings, settings.topic_scores) as scores:
        with running("scorer-1", ["scorer", "--loglevel", "info"], settings, tmp_path):
            await produce(settings, event_records(before))
            await await_for(
                lambda: _scored_up_to(scores, busy, restart_at - HOUR),
                timeout=240,
                what="first half scored",
            )
            snaps = [
                v for k, v in await read_all(settings, settings.topic_scores) if k == quiet.encode()
            ]
            # The first snapshot that includes the last usage event (the scorer batches records, so
            # it may be taken a little after the event, at the partition's stream clock).
            risk_at_last_event = next(
                s for s in snaps if s["stats"]["last_usage_at"] == _iso_ms(last_usage)
            )["risk"]["value"]
    # A new container: the scorer's local state is gone and must come back from the changelog.
    shutil.rmtree(Path(settings.data_dir) / "scorer", ignore_errors=True)
    async with TopicReader(settings, settings.topic_scores) as scores:
        with (
            running("scorer-2", ["scorer", "--loglevel", "info"], settings, tmp_path),
            running("projector", ["projector"], settings, tmp_path),
        ):
            await produce(settings, event_records(after))
            await await_for(
                lambda: _scored_up_to(scores, busy, T0 + 60 * DAY - 2 * HOUR),
                timeout=240,
                what="second half scored",
            )
            alerts = [v for _, v in await read_all(settings, settings.topic_alerts)]
            crossing = last_usage + QUIET_DAYS * DAY
            client = aioredis.Redis.from_url(settings.redis_url)
            try:

                async def projected_after_crossing() -> dict | None:
                    stored = await ScoreReader(client).snapshot(quiet)
                    current = orjson.loads(stored) if stored else None
                    return current if current and current["as_of_ts"] > crossing else None

                current = await await_for(
                    projected_after_crossing, timeout=30, what="Redis re-scored"
                )
            finally:
                await client.aclose()

    # The restarted worker's timers came from the records its restore read, not from a second
    # pass over the table (nothing was written between its restore and Faust's recovery).
    rebuilds = TIMERS_LINE.findall((tmp_path / "scorer-2.log").read_text(errors="replace"))
    assert rebuilds and all(read == restored for read, restored in rebuilds), rebuilds
    assert sum(int(restored) for _, restored in rebuilds) >= 1

    gone_quiet = [a for a in alerts if a["customer_id"] == quiet and a["rule"] == "gone_quiet"]
    assert len(gone_quiet) == 1, gone_quiet
    alert = gone_quiet[0]
    assert alert["predicted_at_ts"] == pytest.approx(crossing, abs=2.0)
    # The stream clock moves with the neighbour's hourly events: fired within the hour after.
    assert 0.0 <= alert["raised_at_ts"] - alert["predicted_at_ts"] <= HOUR
    assert alert["owner"] == "dana" and alert["link"].endswith("/ui/customers/quiet-co")

    # The ranked list moved although the customer sent nothing after `last_usage`.
    assert current["stats"]["last_usage_at"] == _iso_ms(last_usage)
    assert current["risk"]["value"] > risk_at_last_event


async def _scored_up_to(scores: TopicReader, customer_id: str, ts: float) -> bool:
    await scores.poll()
    latest = scores.latest.get(customer_id.encode())
    return latest is not None and latest["as_of_ts"] >= ts


def _iso(ts: float) -> str:
    from .conftest import iso

    return iso(ts)


def _iso_ms(ts: float) -> str:
    from vitals.core.snapshot import iso

    return iso(ts) or ""
