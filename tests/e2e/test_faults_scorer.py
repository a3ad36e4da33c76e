"""Faults in the scorer, on the real broker: a worker killed with SIGKILL mid-stream (restarted,
or taken over by a second worker) and poison records. Each run must end exactly where the offline
engine ends for the same events: nothing lost, nothing counted twice, no partition stalled."""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from vitals.platform.partitioning import partition_for
from vitals.platform.settings import Settings
from vitals.tools.sim.generator import simulate

from .conftest import EventFactory
from .kafka_io import TopicReader, event_records, produce_pipelined, read_all, topic_size
from .offline import assert_equal_to_offline, await_all_scored, offline_engine
from .services import await_for, kill9, running

pytestmark = pytest.mark.integration

# Joining the group, recovering the table and scoring ~4.6k events takes 10-40 s on 2 busy cores;
# a takeover adds the dead member's session timeout (15 s, scorer/app.py) and a rebalance.
SCORED_TIMEOUT_S = 180.0


def stream_settings(settings: Settings, **update: Any) -> Settings:
    # The stream clock makes snapshots a function of the events alone, comparable offline.
    return settings.model_copy(update={"clock": "stream", "refit_interval_s": 0.0, **update})


def simulated_events() -> list[dict[str, Any]]:
    return list(simulate(20, datetime(2026, 1, 1, tzinfo=UTC), 50, seed=11, kind="mixed").events)


def thirds(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    n = len(events) // 3
    return [events[:n], events[n : 2 * n], events[2 * n :]]


@pytest.mark.parametrize("datadir", ["kept", "deleted"])
async def test_scorer_killed_mid_stream_and_restarted_equals_the_offline_engine(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], datadir: str
) -> None:
    """Restarted on its RocksDB, or on a new container (datadir deleted): then Faust's recovery
    rebuilds the table from the changelog records the scorer produced per batch alone."""
    settings = stream_settings(settings)
    events = simulated_events()
    engine = offline_engine(events)
    first, second, third = thirds(events)

    with running("scorer-1", ["scorer", "--loglevel", "warn"], settings, tmp_path) as scorer:
        await produce_pipelined(settings, event_records(first))
        before = await await_for(
            lambda: topic_size(settings, settings.topic_scores),
            timeout=SCORED_TIMEOUT_S,
            what="the first snapshots",
        )
        await produce_pipelined(settings, event_records(second))

        async def grew() -> int:
            size = await topic_size(settings, settings.topic_scores)
            return size if size > before else 0

        # Killed as soon as the second third is being scored: offsets, table writes and
        # snapshots of the batch in flight are half-done.
        at_kill = await await_for(grew, timeout=SCORED_TIMEOUT_S, interval=0.02, what="progress")
        kill9(scorer)
        assert scorer.returncode == -9
    if datadir == "deleted":
        shutil.rmtree(Path(settings.data_dir) / "scorer")

    async with TopicReader(settings, settings.topic_scores) as scores:
        with running("scorer-2", ["scorer", "--loglevel", "warn"], settings, tmp_path):
            await produce_pipelined(settings, event_records(third))
            latest = await await_all_scored(
                scores, engine, SCORED_TIMEOUT_S, "every customer scored after the restart"
            )
    assert_equal_to_offline(latest, engine)
    with capsys.disabled():
        print(
            f"\n[faults] scorer SIGKILLed with {at_kill} snapshots out ({before} before), "
            f"datadir {datadir}"
        )


async def _group_members(settings: Settings) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([settings.scorer_app_id])
        groups = response.groups if hasattr(response, "groups") else response
        for group in groups:
            # (error_code, group_id, state, protocol_type, protocol, members[, authorized ops])
            if group[1] == settings.scorer_app_id and group[2] == "Stable":
                return len(group[5])
        return 0
    finally:
        await admin.close()


async def test_two_workers_one_killed_the_other_takes_over_exactly(
    settings: Settings, tmp_path: Path
) -> None:
    settings = stream_settings(settings)
    # Each worker keeps its own RocksDB: the survivor must rebuild the dead one's customers from
    # the changelog, as on another host.
    worker_a = settings.model_copy(update={"data_dir": tmp_path / "worker-a"})
    worker_b = settings.model_copy(update={"data_dir": tmp_path / "worker-b"})
    events = simulated_events()
    engine = offline_engine(events)
    half = len(events) // 2

    async with TopicReader(settings, settings.topic_scores) as scores:
        with (
            running("scorer-a", ["scorer", "--loglevel", "warn"], worker_a, tmp_path) as a,
            running("scorer-b", ["scorer", "--loglevel", "warn"], worker_b, tmp_path),
        ):

            async def both_joined() -> bool:
                return await _group_members(settings) == 2

            await await_for(both_joined, timeout=SCORED_TIMEOUT_S, interval=0.5, what="two members")
            await produce_pipelined(settings, event_records(events[:half]))
            engine_half = offline_engine(events[:half])
            await await_all_scored(
                scores, engine_half, SCORED_TIMEOUT_S, "the first half scored by both workers"
            )
            kill9(a)
            await produce_pipelined(settings, event_records(events[half:]))
            latest = await await_all_scored(
                scores, engine, SCORED_TIMEOUT_S, "every customer scored by the survivor"
            )
            assert await _group_members(settings) == 1
    assert_equal_to_offline(latest, engine)


async def test_poison_records_go_to_dead_letters_and_never_stall_their_partition(
    settings: Settings, make_event: EventFactory, tmp_path: Path
) -> None:
    settings = stream_settings(settings)
    t0 = time.time() - 30 * 86_400
    victim = "poison-co"
    partition = partition_for(victim, settings.partitions)
    elsewhere = next(
        f"other-{i}"
        for i in range(1000)
        if partition_for(f"other-{i}", settings.partitions) != partition
    )
    before = [
        make_event(victim, "profile", t0, properties={"owner": "dana", "name": "Poison Co"}),
        make_event(victim, "subscription", t0, name="started", amount=120.0),
        make_event(victim, "usage", t0 + 3600, user_id="u1"),
    ]
    after = [make_event(victim, "usage", t0 + d * 86_400, user_id=f"u{d % 3}") for d in (1, 2, 3)]
    key = victim.encode()
    huge_text = "x" * 1_000_000  # the broker takes it (1 MiB limit); the dead letter must not grow
    poison: list[tuple[bytes | None, bytes | None]] = [
        (key, b"\x00\xffnot json at all"),
        (key, b'{"event_id": "cut-short", "customer_id": "poison-co", "type": "us'),
        (key, b"[1, 2, 3]"),
        (key, orjson.dumps({"event_id": 7, "customer_id": ["x"], "type": "usage", "timestamp": 1})),
        (key, orjson.dumps({**before[1], "event_id": "bad-amount", "amount": "lots"})),
        (key, orjson.dumps({**before[2], "event_id": "bad-type", "type": "telepathy"})),
        (key, orjson.dumps({**before[2], "event_id": "huge", "name": huge_text})),
        (key, orjson.dumps({"events": [{"customer_id": victim}] * 10_001})),
        (key, None),  # a tombstone: no value at all
        # A customer keyed onto the wrong partition: its state would live on two partitions.
        (key, orjson.dumps(make_event(elsewhere, "usage", t0 + 7200))),
    ]
    assert all(len(v or b"") < 1_048_576 for _, v in poison)
    good = before + after
    engine = offline_engine(good)

    async with TopicReader(settings, settings.topic_scores) as scores:
        with running("scorer", ["scorer", "--loglevel", "warn"], settings, tmp_path):
            await produce_pipelined(settings, event_records(before) + poison + event_records(after))
            latest = await await_all_scored(
                scores, engine, SCORED_TIMEOUT_S, "the good records after the poison scored"
            )

            async def all_dead() -> list[dict[str, Any]] | None:
                letters = [v for _, v in await read_all(settings, settings.topic_events_dead)]
                return letters if len(letters) >= len(poison) else None

            letters = await await_for(
                all_dead, timeout=30, what="one dead letter per poison record"
            )
            await asyncio.sleep(1.0)  # nothing more may follow
            letters = [v for _, v in await read_all(settings, settings.topic_events_dead)]

    assert_equal_to_offline(latest, engine)
    assert len(letters) == len(poison), [letter["reason"] for letter in letters]
    assert {letter["source"]["partition"] for letter in letters} == {partition}
    offsets = sorted(letter["source"]["offset"] for letter in letters)
    assert offsets == list(range(len(before), len(before) + len(poison)))
    reasons = [letter["reason"] for letter in sorted(letters, key=lambda x: x["source"]["offset"])]
    assert reasons[0].startswith("not JSON") and reasons[1].startswith("not JSON")
    assert "partition" in reasons[-1] and "empty" in reasons[-2]
    # A dead letter stays small whatever came in: events.dead must take it.
    dead_sizes = [len(orjson.dumps(letter)) for letter in letters]
    assert max(dead_sizes) < 256 * 1024, dead_sizes
