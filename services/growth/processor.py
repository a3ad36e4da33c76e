"""Growth records of one partition, free of Faust: decode, fold, and hand back snapshots.

The growth state store is a seam (a Faust table in the scorer, a dict in tests). An entity gets
a snapshot when one of its facts may have changed. Healing: if the process died after its table
write but before the projection write, the redelivered records change nothing in the state and
would publish nothing; so for ``HEAL_WINDOW_S`` after start-up or a rebalance (``heal()``), when
redelivered records arrive, every entity touched gets a snapshot (the projection ignores the ones
it has already).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, MutableMapping

from vitals.scorer.records import decode_record

from .aggregate import Snapshot
from .config import GrowthConfig
from .facts import arrival, facts, referrer_cohort
from .fold import apply_growth_event
from .state import GrowthState

# Every event type is folded: support, feedback and profile events move only first/last seen,
# but those are facts (acquisition day and cohort, "retained at the horizon"), and a tenant's
# first event is often a profile or a ticket. Skipping them put an entity in the wrong cohort
# and funnel day (tests/growth/test_processor_bruteforce.py found it).
# Redelivered records (since the last committed offset) come first after an assignment; Faust
# commits every few seconds, so a minute covers them with room for a slow recovery.
HEAL_WINDOW_S = 60.0


class GrowthProcessor:
    def __init__(
        self,
        table: MutableMapping[bytes, bytes],
        config: GrowthConfig,
        partitions: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table = table
        self._clock = clock
        self._heal_until = clock() + HEAL_WINDOW_S
        self.config = config
        self.partitions = partitions
        # Latest event time folded: the stream clock for experiment decisions in replays.
        self.watermark = 0.0

    def heal(self) -> None:
        """Publish every touched entity for a while (call on start-up and after a rebalance)."""
        self._heal_until = self._clock() + HEAL_WINDOW_S

    def process(self, values: Iterable[tuple[int, bytes | None]]) -> list[Snapshot]:
        """``values``: (partition, record value) in offset order. Returns one snapshot per
        entity touched; invalid records are the scorer's to dead-letter, skipped here."""
        states: dict[str, GrowthState] = {}
        changed: set[str] = set()
        stored: set[str] = set()
        for partition, value in values:
            decoded = decode_record(value, partition, self.partitions)
            for _, event in decoded.events:
                cid = event.customer_id
                state = states.get(cid)
                if state is None:
                    raw = self.table.get(cid.encode())
                    state = GrowthState.from_bytes(raw) if raw else GrowthState(cid)
                    states[cid] = state
                self.watermark = max(self.watermark, event.ts)
                status = apply_growth_event(state, event, self.config)
                if status == "changed":
                    changed.add(cid)
                if status != "unchanged":
                    stored.add(cid)
        publish = set(states) if self._clock() < self._heal_until else changed
        snapshots = [snapshot_of(states[cid], self.config) for cid in sorted(publish)]
        # After facts(): it refreshes the state's facts_due cache, which is stored with it.
        for cid in stored | changed:
            self.table[cid.encode()] = states[cid].to_bytes()
        return snapshots

    def process_each(
        self, values: Iterable[tuple[int, bytes | None]]
    ) -> tuple[list[Snapshot], list[int]]:
        """``process`` one record at a time, for a batch that keeps failing as a whole: a record
        that raises is left out and the others are kept. Returns the snapshots in order (an
        entity may come more than once; the projection keeps the latest version) and the
        positions of the records that failed."""
        snapshots: list[Snapshot] = []
        failed: list[int] = []
        for position, item in enumerate(values):
            try:
                snapshots += self.process([item])
            except Exception:
                failed.append(position)
        return snapshots, failed


def snapshot_of(state: GrowthState, config: GrowthConfig) -> Snapshot:
    """What the projection keeps of an entity: its facts, and what K-factor reads of a referrer."""
    arrived = arrival(state, config)
    return Snapshot(
        state.entity_id,
        state.version,
        facts(state, config),
        arrived,
        referrer_cohort(state, arrived),
    )
