"""The scorer's record processor over an in-memory store: scoring without Kafka or RocksDB.

``vitals backtest``, the purchase backtest, the simulator checks and the tests drive events through
``OfflineScorer``; it folds each event with ``RecordProcessor.fold_event`` and evaluates with
``RecordProcessor.snapshot``, the same two calls the live scorer makes behind its Faust table, so
there is one fold and one evaluation and both give the same snapshots for the same input.

What it leaves out of the live loop: silence timers and alert rules (a backtest asks for the
scores as of one instant, not for the alerts on the way), dead letters, and the future-stamp
check, which needs a wall clock to distrust (``wall``: default none, every event is folded).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from vitals.core.config import DEFAULT_CONFIG, ScoringConfig
from vitals.core.events import Event
from vitals.core.fold import ApplyStatus, Position
from vitals.core.params import DEFAULT_PARAMS, ScoringParams, refit
from vitals.core.published import Snapshot
from vitals.core.state import CustomerState

from .processor import RecordProcessor
from .store import BatchStore, MemoryStore

# Offline, every customer lives on one partition: positions only order a customer's events.
PARTITION = 0


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    # None: a growth event, which the scorer leaves to the growth worker.
    status: ApplyStatus | None
    customer_id: str


class OfflineScorer:
    """Customer states in memory, the stream watermark, and the current parameters."""

    def __init__(
        self,
        config: ScoringConfig = DEFAULT_CONFIG,
        params: ScoringParams = DEFAULT_PARAMS,
        clock: str = "stream",
        wall: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.params = params
        self.clock = clock
        self._store = MemoryStore()
        # The read-through cache the processor folds into; written back to the store before
        # anything reads the store (``_flushed``), not after every event.
        self._states = BatchStore(self._store)
        self.processor = RecordProcessor(
            store=self._store,
            config=config,
            params=lambda: self.params,
            partitions=1,
            clock=clock,
            now=lambda _partition: self.watermark,
            wall=wall if wall is not None else (lambda: math.inf),
        )
        self._offset = 0

    @property
    def states(self) -> dict[str, CustomerState]:
        return self._flushed().states

    @states.setter
    def states(self, states: dict[str, CustomerState]) -> None:
        self._flushed().states = states

    def _flushed(self) -> MemoryStore:
        self._states.flush()
        return self._store

    @property
    def watermark(self) -> float:
        """The latest event time applied: "now" for reads when the caller gives none."""
        return self.processor.watermarks.get(PARTITION, 0.0)

    @watermark.setter
    def watermark(self, ts: float) -> None:
        self.processor.watermarks[PARTITION] = ts

    def apply(self, event: Event, position: Position | None = None) -> ApplyOutcome:
        """Fold one event at ``position`` (default: the next offset of the one partition)."""
        if position is None:
            position = (PARTITION, self._offset, 0)
        self._offset = max(self._offset, position[1] + 1)
        status = self.processor.fold_event(event, position, self._states)
        if status is not None:
            self._states.mark_dirty(event.customer_id)
        return ApplyOutcome(status, event.customer_id)

    def apply_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.apply(event)

    def snapshot(self, customer_id: str, now: float | None = None) -> Snapshot:
        """The customer's snapshot at ``now`` (default: the watermark). KeyError if unknown."""
        at = self.watermark if now is None else now
        return self.processor.snapshot(self.states[customer_id], at, self.params)

    def refit(self, now: float | None = None) -> ScoringParams:
        self.params = refit(
            self.states.values(), self.watermark if now is None else now, self.config, self.params
        )
        return self.params

    def customer_ids(self) -> Iterator[str]:
        return iter(self.states)
