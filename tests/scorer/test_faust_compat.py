"""What the scorer relies on in faust-streaming's internals (vitals.scorer.faust_compat), pinned.

The unit checks read the pinned version's own constants; the broker tests run compat_worker.py
(a tiny Faust app using faust_compat the way the scorer does) as real worker processes and check,
on the changelog and in RocksDB, where each write landed: after a restart from the changelog
alone, and across a rebalance from one worker to two.
"""

from __future__ import annotations

import importlib
import inspect
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import orjson
import pytest
import rocksdict
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from e2e.services import await_for, kill9, running
from faust.stores.rocksdb import Store
from faust.tables.recovery import Recovery
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.producer import ProducerBuffer

from vitals.platform.partitioning import partition_for
from vitals.platform.settings import Settings
from vitals.platform.topics import TopicSpec, ensure_topics
from vitals.scorer import faust_compat
from vitals.scorer.faust_compat import OFFSET_KEY, PINNED_FAUST, set_producer_buffer

WORKER = Path(__file__).with_name("compat_worker.py")
# Joining the group and recovering take seconds; a rebalance adds a few more on 2 busy cores.
STEP_TIMEOUT_S = 240.0


def test_the_pinned_version_is_installed_and_another_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert faust.__version__ == PINNED_FAUST
    monkeypatch.setattr(faust, "__version__", "0.99.0")
    with pytest.raises(ImportError, match=r"written for faust-streaming 0\.15\.3, found 0\.99\.0"):
        importlib.reload(faust_compat)


def test_offset_key_is_the_rocksdb_stores() -> None:
    assert Store.offset_key == OFFSET_KEY


def test_producer_buffer_size_is_a_class_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ProducerBuffer, "max_messages", ProducerBuffer.max_messages)
    set_producer_buffer(12_345)
    assert ProducerBuffer().max_messages == 12_345


def test_recovery_completion_is_replaced_because_it_resumes_streams_before_its_seek() -> None:
    """The pinned Faust resumes the stream partitions, then seeks, then resumes flow control
    (which clears the agents' queues): what is fetched in between is lost. The replacement,
    installed by both workers, pauses them until the seek and the clear are done."""
    faust_compat.resume_streams_after_the_seek()
    replaced = Recovery.on_recovery_completed
    original = inspect.getsource(replaced._vitals_original)  # type: ignore[attr-defined]
    steps = ["consumer.resume_partitions(", "consumer.perform_seek()", "flow_control.resume()"]
    assert sorted(steps, key=original.index) == steps
    ours = inspect.getsource(replaced)
    reordered = ["consumer.pause_partitions(", "consumer.perform_seek()", "flow_control.resume()"]
    assert sorted(reordered, key=ours.index) == reordered
    assert ours.index("flow_control.resume()") < ours.index("consumer.resume_partitions(")


@pytest.mark.integration
async def test_seek_to_committed_puts_partitions_never_committed_back_to_the_beginning(
    settings: Settings,
) -> None:
    """aiokafka's seek_to_committed leaves a partition without a committed offset (or at 0)
    where the fetcher got to, so the records Faust fetched and then dropped (a rebalance, a
    pause) were lost for good; with faust_compat's seek they are read again."""
    faust_compat.seek_uncommitted_to_the_beginning()
    patched = AIOKafkaConsumerThread.seek_to_committed
    original = patched._vitals_original  # type: ignore[attr-defined]
    await _produce(settings, settings.topic_events, {f"k{i}": f"v{i}" for i in range(40)})
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"{settings.scorer_app_id}-seek",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        tps = [TopicPartition(settings.topic_events, p) for p in range(settings.partitions)]
        consumer.assign(tps)
        await consumer.getmany(timeout_ms=5000)  # fetched (and, in Faust, dropped)
        fetched = {tp: await consumer.position(tp) for tp in tps}
        assert any(fetched.values())

        async def call_thread(method: Any, *args: Any) -> Any:
            return await method(*args)

        thread = SimpleNamespace(
            app=SimpleNamespace(conf=SimpleNamespace(consumer_auto_offset_reset="earliest")),
            _ensure_consumer=lambda: consumer,
            call_thread=call_thread,
        )
        assert set((await original(thread)).values()) <= {None, -1}
        assert {tp: await consumer.position(tp) for tp in tps} == fetched  # the loss
        await patched(thread)
        assert {tp: await consumer.position(tp) for tp in tps} == dict.fromkeys(tps, 0)
    finally:
        await consumer.stop()


async def _changelog(settings: Settings, topic: str) -> list[tuple[int, int, bytes, bytes]]:
    """(partition, offset, key, value) of every record in ``topic``."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
        tps = [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]
        if not tps:
            return []  # not created yet
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[tuple[int, int, bytes, bytes]] = []
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, messages in batch.items():
                out.extend((tp.partition, m.offset, m.key, m.value) for m in messages)
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        return out
    finally:
        await consumer.stop()


async def _produce(settings: Settings, topic: str, records: dict[str, str]) -> None:
    """Keyed records, on the partition Kafka's default partitioner picks."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in records.items():
            await producer.send(topic, value.encode(), key=key.encode())
        await producer.flush()
    finally:
        await producer.stop()


def _worker(
    name: str,
    settings: Settings,
    datadir: Path,
    dumps: Path,
    ahead: bool = False,
    source: str | None = None,
) -> list[str]:
    return [
        str(WORKER),
        name,
        settings.kafka_bootstrap,
        settings.scorer_app_id,
        source or settings.topic_events,
        str(settings.partitions),
        str(datadir),
        str(dumps),
        *(["ahead"] if ahead else []),
    ]


def _latest_dump(dumps: Path, name: str) -> dict[str, Any] | None:
    files = sorted(dumps.glob(f"{name}-*.json"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return orjson.loads(files[-1].read_bytes()) if files else None


def _changelog_topic(settings: Settings) -> str:
    return f"{settings.scorer_app_id}-customers-changelog"


async def _create_changelog(settings: Settings) -> None:
    # As `vitals scorer` does: left to Faust, a consumer whose metadata predates the topic sees
    # it with 0 partitions and the first table writes fail (PartitionsMismatch).
    spec = TopicSpec(_changelog_topic(settings), settings.partitions, {"cleanup.policy": "compact"})
    await ensure_topics(settings, extra=[spec])


def _records(tag: str, count: int) -> dict[str, str]:
    # Half through the per-key table API ("t:"), half through the batched write.
    return {f"{'t:' if i % 2 else ''}c{i}": f"{tag}{i}" for i in range(count)}


async def _produce_until_written(settings: Settings, records: dict[str, str], what: str) -> None:
    """Produce ``records`` to `events` and wait until every (key, value) is on the changelog, by
    whichever worker. Not a count: after a rebalance the new holder re-processes records the old
    one had not committed, and those repeated writes would make up a count before the last new
    ones land."""
    await _produce(settings, settings.topic_events, records)

    async def all_written() -> bool:
        written = {
            (key.decode(), value.decode().split(":", 1)[1])
            for _, _, key, value in await _changelog(settings, _changelog_topic(settings))
        }
        return written >= records.items()

    await await_for(all_written, timeout=STEP_TIMEOUT_S, what=what)


@pytest.mark.integration
@pytest.mark.parametrize("restore", ["faust", "ahead"])
async def test_writes_land_on_their_partition_and_restore_from_the_changelog_alone(
    settings: Settings, tmp_path: Path, restore: str
) -> None:
    """Restored by Faust's own recovery, or ahead of it by faust_compat (as the scorer does)."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    await _create_changelog(settings)
    records = _records("v", 200)
    with running(
        "compat-1", [], settings, tmp_path, python=_worker("w1", settings, tmp_path / "d1", dumps)
    ):
        await _produce_until_written(settings, records, "every write on the changelog")
    changelog = await _changelog(settings, _changelog_topic(settings))
    landed = {key.decode(): (partition, value.decode()) for partition, _, key, value in changelog}
    # Each key on its own partition (the source record's), raw value, nothing else written.
    assert landed == {
        key: (partition_for(key, settings.partitions), f"w1:{value}")
        for key, value in records.items()
    }
    assert len(changelog) == len(records)
    last_offsets = {p: max(o for q, o, _, _ in changelog if q == p) for p, *_ in changelog}

    # A new container: no datadir. Faust's own recovery rebuilds every partition from our records,
    # and the persisted offset in each database is the changelog's last.
    shutil.rmtree(tmp_path / "d1")
    with running(
        "compat-2",
        [],
        settings,
        tmp_path,
        python=_worker("w2", settings, tmp_path / "d2", dumps, ahead=restore == "ahead"),
    ):

        async def recovered() -> dict[str, Any] | None:
            dump = _latest_dump(dumps, "w2")
            return dump if dump and len(dump) == settings.partitions else None

        dump = await await_for(recovered, timeout=STEP_TIMEOUT_S, what="the restored table")
    restored = {
        key: (int(p), value) for p, part in dump.items() for key, value in part["items"].items()
    }
    assert restored == landed
    assert {int(p): part["offset"] for p, part in dump.items()} == {
        p: last_offsets.get(p) for p in range(settings.partitions)
    }
    ahead = f"restored {len(records)} changelog records ahead of Faust"
    assert (ahead in (tmp_path / "compat-2.log").read_text()) == (restore == "ahead")
    if restore == "ahead":
        # The restore's listener heard each partition start empty, every record it applied
        # (the table it ends with), and the offset the database ended at.
        heard = {int(p): part["heard"] for p, part in dump.items()}
        assert {p: h["begins"][0] for p, h in heard.items()} == {
            p: [None, True] for p in range(settings.partitions)
        }
        assert {p: h["items"] for p, h in heard.items()} == {
            int(p): part["items"] for p, part in dump.items()
        }
        assert {p: h["ends"][-1] for p, h in heard.items()} == {
            int(p): part["offset"] for p, part in dump.items()
        }


@pytest.mark.integration
async def test_what_a_restore_ahead_wrote_is_on_disk_when_the_worker_is_killed_right_after(
    settings: Settings, tmp_path: Path
) -> None:
    """The restore writes without RocksDB's log and flushes at its end: a worker killed once
    recovered (long before a memtable would fill and flush on its own) keeps every state and
    the persisted offsets in its databases."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    await _create_changelog(settings)
    records = {f"c{i}": f"v{i}" for i in range(200)}  # all through the batched path
    with running(
        "compat-1", [], settings, tmp_path, python=_worker("w1", settings, tmp_path / "d1", dumps)
    ):
        await _produce_until_written(settings, records, "every write on the changelog")
    changelog = await _changelog(settings, _changelog_topic(settings))
    last_offsets = {p: max(o for q, o, _, _ in changelog if q == p) for p, *_ in changelog}
    # The second worker reads an empty source: nothing but the restore writes to its databases.
    quiet = f"{settings.topic_events}.quiet"
    await ensure_topics(settings, extra=[TopicSpec(quiet, settings.partitions, {})])
    worker = _worker("w2", settings, tmp_path / "d2", dumps, ahead=True, source=quiet)
    with running("compat-2", [], settings, tmp_path, python=worker) as proc:

        async def recovered() -> dict[str, Any] | None:
            dump = _latest_dump(dumps, "w2")
            return dump if dump and len(dump) == settings.partitions else None

        await await_for(recovered, timeout=STEP_TIMEOUT_S, what="the restored table")
        kill9(proc)
    on_disk: dict[str, tuple[int, str]] = {}
    offsets: dict[int, int | None] = {}
    for partition in range(settings.partitions):
        [path] = (tmp_path / "d2").rglob(f"customers-{partition}.db")
        db = rocksdict.Rdict(str(path), options=rocksdict.Options(raw_mode=True))
        try:
            for key, value in db.items():
                if key != OFFSET_KEY:
                    on_disk[key.decode()] = (partition, value.decode())
            raw = db.get(OFFSET_KEY)
            offsets[partition] = int(raw) if raw is not None else None
        finally:
            db.close()
    assert on_disk == {
        key: (partition_for(key, settings.partitions), f"w1:{value}")
        for key, value in records.items()
    }
    assert offsets == {p: last_offsets.get(p) for p in range(settings.partitions)}


@pytest.mark.integration
async def test_after_a_rebalance_each_worker_writes_to_the_partition_it_holds(
    settings: Settings, tmp_path: Path
) -> None:
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    await _create_changelog(settings)
    first, second = _records("a", 200), _records("b", 200)
    with running(
        "compat-a", [], settings, tmp_path, python=_worker("wa", settings, tmp_path / "da", dumps)
    ):
        await _produce_until_written(settings, first, "the first writes on the changelog")
        with running(
            "compat-b",
            [],
            settings,
            tmp_path,
            python=_worker("wb", settings, tmp_path / "db", dumps),
        ):

            async def split() -> tuple[dict[str, Any], dict[str, Any]] | None:
                # Both recovered after the rebalance, holding complementary partitions.
                a, b = _latest_dump(dumps, "wa"), _latest_dump(dumps, "wb")
                if a is None or not b or len(list(dumps.glob("wa-*.json"))) < 2:
                    return None
                if set(a) & set(b) or len(a) + len(b) != settings.partitions:
                    return None
                return a, b

            _, held = await await_for(split, timeout=STEP_TIMEOUT_S, what="a rebalance to two")
            await _produce_until_written(settings, second, "the second writes on the changelog")
    # B recovered the first writes of its partitions from A's records.
    b_partitions = {int(p) for p in held}
    assert b_partitions and b_partitions != set(range(settings.partitions))
    assert {k: v for part in held.values() for k, v in part["items"].items()} == {
        key: f"wa:{value}"
        for key, value in first.items()
        if partition_for(key, settings.partitions) in b_partitions
    }
    # Every second write is on its key's partition, written by the worker holding it.
    changelog = await _changelog(settings, _changelog_topic(settings))
    second_writes = {
        key.decode(): (partition, value.decode())
        for partition, _, key, value in changelog
        if value.decode().split(":", 1)[1].startswith("b")
    }
    assert second_writes == {
        key: (
            partition_for(key, settings.partitions),
            f"{'wb' if partition_for(key, settings.partitions) in b_partitions else 'wa'}:{value}",
        )
        for key, value in second.items()
    }
