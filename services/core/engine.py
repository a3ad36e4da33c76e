"""An in-memory scoring engine over the pure core: the offline twin of the scorer.

``vitals backtest``, the simulator checks and the tests drive events through it; the live scorer
runs the same ``fold.apply_event`` and ``snapshot.evaluate`` behind its Kafka/RocksDB store, so
both give the same snapshots for the same input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .config import DEFAULT_CONFIG, ScoringConfig
from .events import Event
from .fold import ApplyStatus, Position, apply_event
from .params import DEFAULT_PARAMS, ScoringParams, refit
from .published import Snapshot
from .snapshot import evaluate
from .state import CustomerState


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    status: ApplyStatus
    customer_id: str


class ScoringEngine:
    """Customer states in a dict, the stream watermark, and the current parameters."""

    def __init__(
        self,
        config: ScoringConfig = DEFAULT_CONFIG,
        params: ScoringParams = DEFAULT_PARAMS,
        clock: str = "stream",
    ) -> None:
        self.config = config
        self.params = params
        self.clock = clock
        self.states: dict[str, CustomerState] = {}
        # The latest event time seen: "now" for reads when the caller gives none.
        self.watermark = 0.0

    def apply(
        self, event: Event, position: Position | None = None, max_ts: float | None = None
    ) -> ApplyOutcome:
        """Fold one event; ``max_ts`` refuses events stamped later (see ``fold.apply_event``)."""
        state = self.states.get(event.customer_id)
        if state is None:
            state = self.states[event.customer_id] = CustomerState(event.customer_id)
        status = apply_event(state, event, self.config, position, max_ts)
        if status == "applied":
            self.watermark = max(self.watermark, event.ts)
        return ApplyOutcome(status, event.customer_id)

    def apply_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.apply(event)

    def snapshot(self, customer_id: str, now: float | None = None) -> Snapshot:
        """The customer's snapshot at ``now`` (default: the watermark). KeyError if unknown."""
        return evaluate(
            self.states[customer_id],
            self.watermark if now is None else now,
            self.params,
            self.config,
            self.clock,
        )

    def refit(self, now: float | None = None) -> ScoringParams:
        self.params = refit(
            self.states.values(), self.watermark if now is None else now, self.config, self.params
        )
        return self.params

    def customer_ids(self) -> Iterator[str]:
        return iter(self.states)
