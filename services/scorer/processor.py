"""Scoring one Kafka record (or a batch of records of one partition), free of Faust.

The processor decodes, folds each event into its customer's state through the store seam,
re-scores every customer that changed once, and hands back what must be published: snapshots for
`scores`, dead letters for `events.dead`. The Faust agent only moves bytes in and out, so this is
tested without a broker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from vitals.core.config import ScoringConfig
from vitals.core.fold import apply_event
from vitals.core.params import ScoringParams
from vitals.core.snapshot import evaluate
from vitals.core.state import CustomerState

from . import metrics
from .records import Rejected, dead_letter, decode_record
from .store import BatchStore, StateStore

logger = logging.getLogger(__name__)


@dataclass
class Output:
    snapshots: list[tuple[bytes, bytes]] = field(default_factory=list)  # (key, value) for `scores`
    dead: list[tuple[bytes | None, bytes]] = field(default_factory=list)  # for `events.dead`
    changed: list[CustomerState] = field(default_factory=list)


@dataclass(frozen=True)
class SourceRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class RecordProcessor:
    """Applies records to states; ``now`` is the scoring clock (wall or stream watermark)."""

    def __init__(
        self,
        store: StateStore,
        config: ScoringConfig,
        params: Callable[[], ScoringParams],
        partitions: int,
        clock: str,
        now: Callable[[int], float],
        wall: Callable[[], float],
    ) -> None:
        self._store = store
        self._config = config
        self._params = params
        self._partitions = partitions
        self._clock = clock
        self._now = now
        self._wall = wall
        # Latest event time applied per partition: the stream clock.
        self.watermarks: dict[int, float] = {}

    def process(self, records: list[SourceRecord]) -> Output:
        batch = BatchStore(self._store)
        out = Output()
        for record in records:
            self._fold_record(record, batch, out)
        out.changed = batch.flush()
        params = self._params()
        for state in out.changed:
            partition = state.position[0] if state.position else records[-1].partition
            now = max(self._now(partition), state.last_ts)
            snapshot = evaluate(state, now, params, self._config, self._clock)
            out.snapshots.append((state.customer_id.encode(), orjson.dumps(snapshot)))
        return out

    def _fold_record(self, record: SourceRecord, batch: BatchStore, out: Output) -> None:
        decoded = decode_record(record.value, record.partition, self._partitions)
        for rejected in decoded.rejected:
            self._reject(record, rejected, out)
        for index, event in decoded.events:
            state = batch.get_or_create(event.customer_id)
            status = apply_event(
                state, event, self._config, (record.partition, record.offset, index)
            )
            metrics.EVENTS.labels(status=status).inc()
            if status == "replayed":
                continue
            batch.mark_dirty(event.customer_id)
            if status == "applied":
                mark = self.watermarks.get(record.partition, 0.0)
                self.watermarks[record.partition] = max(mark, event.ts)
            elif status == "late":
                behind = (state.last_ts - event.ts) / 3600.0
                reason = f"late: {behind:.1f} h behind the customer's latest event (not applied)"
                self._reject(record, Rejected(index, reason, event.model_dump(exclude_none=True)), out)

    def _reject(self, record: SourceRecord, rejected: Rejected, out: Output) -> None:
        kind = rejected.reason.split(":", 1)[0]
        metrics.DEAD_LETTERS.labels(reason=kind if kind in metrics.DEAD_KINDS else "invalid").inc()
        out.dead.append(
            (
                record.key,
                dead_letter(rejected, record.topic, record.partition, record.offset, self._wall()),
            )
        )
