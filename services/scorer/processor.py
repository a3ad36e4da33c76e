"""Scoring records of one partition, free of Faust.

The processor decodes, folds each event into its customer's state through the store seam, fires
the partition's due silence timers, re-scores every customer that changed once, runs the alert
rules, schedules each customer's next timer, and hands back what must be published: snapshots for
`scores`, alerts for `alerts`, dead letters for `events.dead`. The Faust agent only moves bytes in
and out, so all of this is tested without a broker.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from vitals.core.alert_rules import evaluate_rules
from vitals.core.config import ScoringConfig
from vitals.core.events import Event
from vitals.core.fold import ApplyStatus, Position, apply_event
from vitals.core.growth_events import GROWTH_EVENT_TYPES
from vitals.core.params import ScoringParams
from vitals.core.published import Snapshot
from vitals.core.snapshot import evaluate
from vitals.core.state import CustomerState
from vitals.core.timers import next_check

from . import metrics
from .records import Decoded, Rejected, dead_letter, decode_record
from .store import BatchStore, StateStore
from .timers import TimerIndex

logger = logging.getLogger(__name__)

# An event this far behind the scoring clock is history being loaded (a backfill, a consumer
# catching up): its evaluation updates scores but raises no alerts, or every customer would page
# their CSM once per old event. Silence timers still fire afterwards, at the predicted moments.
BACKFILL_LAG_S = 6 * 3600.0
# ...and the rules run on a timer this long after the customer's last backfilled event.
BACKFILL_RECHECK_S = 30.0
# On the stream clock a batch is scored in segments of at most this much event time, so a
# customer changed by events is evaluated (and alerted) no later than this after its events —
# the bound that makes a fast replay alert like the live stream did.
STREAM_SEGMENT_SPAN_S = 3_600.0
# Timers fired per record at most: a partition that wakes up after a long pause catches up over
# the next records and ticks instead of stalling on one.
MAX_TIMERS_PER_RECORD = 1_000


@functools.cache
def _events_counter(status: str) -> Any:
    # The labelled child, looked up once per status: ``labels()`` costs a lock and a dict
    # lookup with key building, on every event of the hot loop.
    return metrics.EVENTS.labels(status=status)


@functools.cache
def _alerts_counter(rule: str) -> Any:
    return metrics.ALERTS.labels(rule=rule)


@dataclass
class Output:
    snapshots: list[tuple[bytes, bytes]] = field(default_factory=list)  # (key, value) for `scores`
    alerts: list[tuple[bytes, bytes]] = field(default_factory=list)  # for `alerts`
    dead: list[tuple[bytes | None, bytes]] = field(default_factory=list)  # for `events.dead`
    changed: list[CustomerState] = field(default_factory=list)
    timers_fired: int = 0
    # Events per fold status: the metric is incremented once per status per batch (each
    # increment takes a lock: once per event was a few % of the processor). A plain dict: a
    # Counter's Python-level __init__ was a measurable part of a one-record call.
    statuses: dict[str, int] = field(default_factory=dict)


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
        """Records of ONE partition, in offset order.

        Each changed customer is evaluated once per segment of the batch. On the wall clock the
        whole batch is one segment. On the stream clock a segment spans at most
        STREAM_SEGMENT_SPAN_S of event time, and timers due before a record's events fire before
        that record is folded, at their due time: a replay whose batches span days of event time
        still alerts each silent customer at its predicted crossing, on the state it had then.
        """
        batch = BatchStore(self._store)
        out = Output()
        params = self._params()
        partition = records[-1].partition
        stream = self._clock == "stream"
        for segment in self._segments(records):
            changed: set[str] = set()
            for record, decoded, latest in segment:
                if stream and latest is not None:
                    self._fire_due_timers(partition, latest, batch, out, params, changed)
                self._fold(record, decoded, batch, out, changed)
            now = self._now(partition)
            self._fire_due_timers(partition, now, batch, out, params, changed)
            for cid in sorted(changed):
                state = batch.get_or_create(cid)
                self._score(state, max(now, state.last_ts), params, out, predicted_at=None)
        out.changed = batch.flush()
        for status, count in out.statuses.items():
            _events_counter(status).inc(count)
        if out.timers_fired:
            metrics.TIMERS_FIRED.inc(out.timers_fired)
        return out

    def _segments(
        self, records: list[SourceRecord]
    ) -> list[list[tuple[SourceRecord, Decoded, float | None]]]:
        """The decoded records in segments, each with its latest event time (None: no event)."""
        partitions = self._partitions
        items: list[tuple[SourceRecord, Decoded, float | None]] = []
        earliest: list[float | None] = []
        for record in records:
            decoded = decode_record(record.value, record.partition, partitions)
            events = decoded.events
            if not events:
                items.append((record, decoded, None))
                earliest.append(None)
            elif len(events) == 1:
                ts = events[0][1].ts
                items.append((record, decoded, ts))
                earliest.append(ts)
            else:
                times = [event.ts for _, event in events]
                items.append((record, decoded, max(times)))
                earliest.append(min(times))
        if self._clock != "stream":
            return [items]
        segments: list[list[tuple[SourceRecord, Decoded, float | None]]] = [[]]
        start: float | None = None
        for item, first in zip(items, earliest, strict=True):
            latest = item[2]
            if latest is not None and start is not None and latest - start > STREAM_SEGMENT_SPAN_S:
                segments.append([])
                start = None
            if first is not None and start is None:
                start = first
            segments[-1].append(item)
        return segments

    def _score(
        self,
        state: CustomerState,
        at: float,
        params: ScoringParams,
        out: Output,
        predicted_at: float | None,
    ) -> None:
        """Evaluate, run the alert rules, schedule the next timer, queue the snapshot."""
        cid = state.customer_id
        key = cid.encode()
        snapshot = self.snapshot(state, at, params)
        if predicted_at is not None or at - state.last_ts <= BACKFILL_LAG_S:
            for alert in evaluate_rules(
                state, snapshot, at, self.config, self._public_url, predicted_at
            ):
                _alerts_counter(alert["rule"]).inc()
                out.alerts.append((key, orjson.dumps(alert)))
            due = next_check(state, at, params, self.config)
        else:
            due = at + BACKFILL_RECHECK_S
        state.next_check_ts = due
        position = state.position
        if position:
            self.timers.schedule(position[0], cid, due)
        out.snapshots.append((key, orjson.dumps(snapshot)))

    def _fire_due_timers(
        self,
        partition: int,
        now: float,
        batch: BatchStore,
        out: Output,
        params: ScoringParams,
        changed_by_events: set[str],
    ) -> None:
        fired = 0
        for cid, due in self.timers.pop_due(partition, now, MAX_TIMERS_PER_RECORD):
            state = batch.get_or_create(cid)
            if state.next_check_ts != due or not state.events or cid in changed_by_events:
                continue  # rescheduled since, gone with a rebalance, or re-scored after this batch
            at = max(due, state.last_ts) if self._clock == "stream" else max(now, state.last_ts)
            self._score(state, at, params, out, predicted_at=due)
            batch.mark_dirty(cid)
            fired += 1
        out.timers_fired += fired

    def fold_event(
        self, event: Event, position: Position, states: BatchStore
    ) -> ApplyStatus | None:
        """Fold one decoded event into its customer's state, read through ``states``: the one
        fold of the live scorer and of offline scoring (scorer/offline.py). None: a growth event,
        not folded here. Advances the partition's watermark on an applied event; counts nothing
        (the live loop exports the statuses, an offline replay does not)."""
        if event.type in GROWTH_EVENT_TYPES:
            return None  # leads, referrals, experiments: the growth agent's, not a customer score
        state = states.get_or_create(event.customer_id)
        status = apply_event(
            state,
            event,
            self.config,
            position,
            max_ts=self._wall() + self.config.stream.max_future_skew_s,
        )
        if status == "applied":
            partition = position[0]
            self.watermarks[partition] = max(self.watermarks.get(partition, 0.0), event.ts)
        return status

    def snapshot(self, state: CustomerState, at: float, params: ScoringParams) -> Snapshot:
        """The customer's snapshot at ``at``: the one evaluation of live and offline scoring."""
        return evaluate(state, at, params, self.config, self._clock)

    def _fold(
        self,
        record: SourceRecord,
        decoded: Decoded,
        batch: BatchStore,
        out: Output,
        changed: set[str],
    ) -> None:
        for rejected in decoded.rejected:
            self._reject(record, rejected, out)
        statuses = out.statuses
        for index, event in decoded.events:
            status = self.fold_event(event, (record.partition, record.offset, index), batch)
            if status is None:
                continue
            statuses[status] = statuses.get(status, 0) + 1
            if status == "replayed":
                continue
            batch.mark_dirty(event.customer_id)
            if status != "future":  # nothing changed but the position: no snapshot to publish
                changed.add(event.customer_id)
            if status == "late":
                state = batch.get_or_create(event.customer_id)
                behind = (state.last_ts - event.ts) / 3600.0
                reason = f"late: {behind:.1f} h behind the customer's latest event (not applied)"
                payload = event.model_dump(exclude_none=True)
                self._reject(record, Rejected(index, reason, payload), out)
            elif status == "future":
                ahead = (event.ts - self._wall()) / 3600.0
                reason = (
                    f"future: stamped {ahead:.1f} h ahead of the scorer's clock (a wrong device "
                    "clock?); not applied"
                )
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
