"""A minimal Faust worker for tests/scorer/test_faust_compat.py: the scorer's use of Faust's
internals (faust_compat) without the scoring, so what lands where is easy to check.

Every record of the source topic is keyed by a table key; its value is written under that key,
prefixed with this worker's name. Keys starting with ``t:`` go through the per-key table API
inside ``filing_under(group's last event)``; the others through ``PartitionedTable.write`` (one
changelog batch + one RocksDB WriteBatch per partition), as the scorer does. After each recovery
the worker writes its active partitions' contents to ``<dump dir>/<name>-<n>.json``.

    python compat_worker.py NAME BOOTSTRAP APP_ID SOURCE_TOPIC PARTITIONS DATADIR DUMP_DIR [ahead]

With ``ahead``, the worker restores from the changelog ahead of Faust (restore_ahead_of_faust) as
the scorer does, with a listener that records what each restore told it (in the dumps, under
``heard``); without it, Faust's own recovery does it all.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faust
import orjson

from vitals.scorer.faust_compat import (
    ChangelogRecord,
    PartitionedTable,
    filing_under,
    restore_ahead_of_faust,
)


class Heard:
    """A restore listener that keeps what it was told, per partition: every ``begin`` (persisted
    offset, empty), the records folded into key -> value (None deletes), every ``end``."""

    def __init__(self) -> None:
        self.begins: dict[int, list[tuple[int | None, bool]]] = {}
        self.items: dict[int, dict[bytes, bytes]] = {}
        self.ends: dict[int, list[int | None]] = {}

    def begin(self, partition: int, persisted: int | None, empty: bool) -> None:
        self.begins.setdefault(partition, []).append((persisted, empty))

    def records(self, partition: int, records: Sequence[ChangelogRecord]) -> None:
        items = self.items.setdefault(partition, {})
        for record in records:
            if record.value is None:
                items.pop(record.key, None)
            else:
                items[record.key] = record.value

    def end(self, partition: int, persisted: int | None) -> None:
        self.ends.setdefault(partition, []).append(persisted)

    def of(self, partition: int) -> dict[str, Any]:
        return {
            "begins": self.begins.get(partition, []),
            "items": {k.decode(): v.decode() for k, v in self.items.get(partition, {}).items()},
            "ends": self.ends.get(partition, []),
        }


def main() -> None:
    name, bootstrap, app_id, source, partitions, datadir, dump_dir = sys.argv[1:8]
    Path(datadir).mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        store="rocksdb://",
        datadir=datadir,
        topic_partitions=int(partitions),
        processing_guarantee="at_least_once",
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10.0,
    )
    topic = app.topic(
        source, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    table = app.Table(
        "customers", default=None, partitions=int(partitions), key_type=bytes, value_type=bytes
    )
    heard: Heard | None = None
    if sys.argv[8:] == ["ahead"]:
        heard = Heard()
        restore_ahead_of_faust(app, table, bootstrap, listener=heard)
    states = PartitionedTable(app, table)
    dumps = itertools.count()

    async def dump() -> None:
        contents: dict[str, Any] = {
            str(p): {
                "items": {k.decode(): v.decode() for k, v in states.items(p)},
                "offset": states.persisted_offset(p),
                **({"heard": heard.of(p)} if heard is not None else {}),
            }
            for p in states.active_partitions()
        }
        path = Path(dump_dir) / f"{name}-{next(dumps)}.json"
        path.write_bytes(orjson.dumps(contents))

    table.on_recover(dump)

    @app.agent(topic, name="compat")
    async def write(stream: faust.StreamT[bytes]) -> Any:
        async for events in stream.take_events(500, within=0.05):
            groups: dict[int, list[faust.EventT[bytes]]] = {}
            for event in events:
                groups.setdefault(event.message.partition, []).append(event)
            for partition, group in groups.items():
                batched: list[tuple[bytes, bytes]] = []
                for event in group:
                    key = event.message.key
                    value = f"{name}:".encode() + event.value
                    if key.startswith(b"t:"):
                        with filing_under(group[-1]):
                            table[key] = value
                    else:
                        batched.append((key, value))
                await states.write(partition, batched)
            yield len(events)

    worker = faust.Worker(app, loglevel="info", quiet=True)  # info: the restore line
    worker.execute_from_commandline()


if __name__ == "__main__":
    asyncio.set_event_loop(asyncio.new_event_loop())
    main()
