"""Wall clock: a silent customer's due timer fires on a tick the scorer sends itself through its
internal ticks topic, and `events` holds only what producers wrote (issue 9: ticks are not
business events)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from vitals.platform.settings import Settings
from vitals.platform.topics import ticks_topic
from vitals.scorer.records import TICK_FIELD

from .conftest import EventFactory
from .kafka_io import TopicReader, event_records, produce, read_all
from .services import await_for, running

pytestmark = pytest.mark.integration

DAY = 86_400.0
HOUR = 3_600.0
# processor.BACKFILL_RECHECK_S: events this old are a backfill; the customer is re-checked by a
# timer this long after it was scored.
RECHECK_S = 30.0


async def test_a_due_timer_fires_on_a_tick_and_events_holds_no_tick(
    settings: Settings, make_event: EventFactory, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"refit_interval_s": 0.0})
    assert settings.clock == "wall"
    last = time.time() - 12 * DAY  # silent since: well past gone_quiet_days
    start = last - 30 * DAY
    history = [
        make_event("quiet-co", "profile", start, properties={"owner": "dana", "seats": 5}),
        make_event("quiet-co", "subscription", start, name="started", amount=200.0),
    ]
    history += [
        make_event("quiet-co", "usage", start + i * 6 * HOUR, user_id=f"u{i % 3}")
        for i in range(int((last - start) / (6 * HOUR)) + 1)
    ]

    async with TopicReader(settings, settings.topic_scores) as scores:
        with running("scorer", ["scorer", "--loglevel", "info"], settings, tmp_path):
            await produce(settings, event_records(history))

            async def scored() -> dict[str, Any] | None:
                await scores.poll()
                latest = scores.latest.get(b"quiet-co")
                done = latest and latest["stats"]["events"] == len(history)
                return latest if done else None

            first = await await_for(scored, timeout=120, what="the history scored")

            # Nothing more is produced: only a tick on the customer's partition can fire its
            # re-check timer and re-score it.
            async def rescored() -> dict[str, Any] | None:
                await scores.poll()
                latest = scores.latest[b"quiet-co"]
                return latest if latest["as_of_ts"] >= first["as_of_ts"] + RECHECK_S - 1 else None

            await await_for(rescored, timeout=120, what="a re-score without events")

    events = [value for _, value in await read_all(settings, settings.topic_events)]
    assert sorted(e["event_id"] for e in events) == sorted(e["event_id"] for e in history)
    assert not [e for e in events if TICK_FIELD in e]
    ticks = [value for _, value in await read_all(settings, ticks_topic(settings))]
    assert ticks and all(set(t) == {TICK_FIELD} for t in ticks)
