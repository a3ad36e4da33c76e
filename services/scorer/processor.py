"""Scoring records of one partition, free of Faust.

The processor decodes, folds each event into its customer's state through the store seam, fires
the partition's due silence timers, re-scores every customer that changed once, runs the alert
rules, schedules each customer's next timer, and hands back what must be published: snapshots for
`scores`, alerts for `alerts`, dead letters for `events.dead`. The Faust agent only moves bytes in
and out, so all of this is tested without a broker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from vitals.core.alert_rules import evaluate_rules
from vitals.core.config import ScoringConfig
from vitals.core.fold import apply_event
from vitals.core.params import ScoringParams
from vitals.core.snapshot import evaluate
from vitals.core.state import CustomerState
from vitals.core.timers import next_check

from . import metrics
from .records import Rejected, dead_letter, decode_record
from .store import BatchStore, StateStore
from .timers import TimerIndex

logger = logging.getLogger(__name__)

# An event this far behind the scoring clock is history being loaded (a backfill, a consumer
# catching up): its evaluation updates scores but raises no alerts, or every customer would page
# their CSM once per old event. Silence timers still fire afterwards, at the predicted moments.
BACKFILL_LAG_S = 6 * 3600.0
# ...and the rules run on a timer this long after the customer's last backfilled event.
BACKFILL_RECHECK_S = 30.0
# Timers fired per record at most: a partition that wakes up after a long pause catches up over
# the next records and ticks instead of stalling on one.
MAX_TIMERS_PER_RECORD = 1_000


@dataclass
class Output:
    snapshots: list[tuple[bytes, bytes]] = field(default_factory=list)  # (key, value) for `scores`
    alerts: list[tuple[bytes, bytes]] = field(default_factory=list)  # for `alerts`
    dead: list[tuple[bytes | None, bytes]] = field(default_factory=list)  # for `events.dead`
    changed: list[CustomerState] = field(default_factory=list)
    timers_fired: int = 0


@dataclass(frozen=True)
class SourceRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class RecordProcessor:
    """Applies records to states; ``now(partition)`` is the scoring clock (wall or watermark)."""

    def __init__(
        self,
        store: StateStore,
        config: ScoringConfig,
        params: Callable[[], ScoringParams],
        partitions: int,
        clock: str,
        now: Callable[[int], float],
        wall: Callable[[], float],
        public_url: str = "http://127.0.0.1:8080",
        timers: TimerIndex | None = None,
    ) -> None:
        self._store = store
        self.config = config
        self._params = params
        self._partitions = partitions
        self._clock = clock
        self._now = now
        self._wall = wall
        self._public_url = public_url
        self.timers = timers if timers is not None else TimerIndex()
        # Latest event time applied per partition: the stream clock.
        self.watermarks: dict[int, float] = {}

    def process(self, records: list[SourceRecord]) -> Output:
        """Records of ONE partition, in offset order."""
        batch = BatchStore(self._store)
        out = Output()
        for record in records:
            self._fold_record(record, batch, out)
        partition = records[-1].partition
        now = self._now(partition)
        predicted = self._fire_due_timers(partition, now, batch, out)
        params = self._params()
        for cid in sorted(batch.dirty):
            state = batch.get_or_create(cid)
            at = max(now, state.last_ts)
            snapshot = evaluate(state, at, params, self.config, self._clock)
            if cid in predicted or at - state.last_ts <= BACKFILL_LAG_S:
                for alert in evaluate_rules(
                    state, snapshot, at, self.config, self._public_url, predicted.get(cid)
                ):
                    metrics.ALERTS.labels(rule=alert["rule"]).inc()
                    out.alerts.append((cid.encode(), orjson.dumps(alert)))
                state.next_check_ts = next_check(state, at, params, self.config)
            else:
                state.next_check_ts = at + BACKFILL_RECHECK_S
            out.snapshots.append((cid.encode(), orjson.dumps(snapshot)))
        out.changed = batch.flush()
        for state in out.changed:
            self.timers.schedule(partition, state.customer_id, state.next_check_ts)
        return out

    def _fire_due_timers(
        self, partition: int, now: float, batch: BatchStore, out: Output
    ) -> dict[str, float]:
        predicted: dict[str, float] = {}
        for cid, due in self.timers.pop_due(partition, now, MAX_TIMERS_PER_RECORD):
            state = batch.get_or_create(cid)
            if state.next_check_ts != due or not state.events:
                continue  # rescheduled since (a newer event) or gone with a rebalance
            predicted[cid] = due
            batch.mark_dirty(cid)
        out.timers_fired = len(predicted)
        metrics.TIMERS_FIRED.inc(len(predicted))
        return predicted

    def _fold_record(self, record: SourceRecord, batch: BatchStore, out: Output) -> None:
        decoded = decode_record(record.value, record.partition, self._partitions)
        for rejected in decoded.rejected:
            self._reject(record, rejected, out)
        for index, event in decoded.events:
            state = batch.get_or_create(event.customer_id)
            status = apply_event(
                state, event, self.config, (record.partition, record.offset, index)
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
                payload = event.model_dump(exclude_none=True)
                self._reject(record, Rejected(index, reason, payload), out)

    def _reject(self, record: SourceRecord, rejected: Rejected, out: Output) -> None:
        kind = rejected.reason.split(":", 1)[0]
        metrics.DEAD_LETTERS.labels(reason=kind if kind in metrics.DEAD_KINDS else "invalid").inc()
        out.dead.append(
            (
                record.key,
                dead_letter(rejected, record.topic, record.partition, record.offset, self._wall()),
            )
        )
