"""Growth records of one partition, free of Faust: decode, fold, and hand back snapshots.

The growth state store is a seam (a Faust table in the scorer, a dict in tests). Every entity
touched by a batch gets a snapshot, changed or not: if the process died after its table write
but before the projection write, the redelivered records change nothing in the state, and the
snapshot still reaches Redis (the projection ignores it when it has it already).
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping

from vitals.scorer.records import decode_record

from .config import GrowthConfig
from .facts import arrival, facts
from .fold import apply_growth_event
from .projection import Snapshot
from .state import GrowthState

# Events that can change a growth state (support, feedback and profile events only move
# first/last seen, which every entity already has from its other events: skipped for speed).
GROWTH_TYPES = frozenset({"lead", "referral", "experiment", "usage", "purchase", "subscription"})


class GrowthProcessor:
    def __init__(
        self, table: MutableMapping[bytes, bytes], config: GrowthConfig, partitions: int
    ) -> None:
        self.table = table
        self.config = config
        self.partitions = partitions
        # Latest event time folded: the stream clock for experiment decisions in replays.
        self.watermark = 0.0

    def process(self, values: Iterable[tuple[int, bytes | None]]) -> list[Snapshot]:
        """``values``: (partition, record value) in offset order. Returns one snapshot per
        entity touched; invalid records are the scorer's to dead-letter, skipped here."""
        states: dict[str, GrowthState] = {}
        changed: set[str] = set()
        for partition, value in values:
            decoded = decode_record(value, partition, self.partitions)
            for _, event in decoded.events:
                if event.type not in GROWTH_TYPES:
                    continue
                cid = event.customer_id
                state = states.get(cid)
                if state is None:
                    raw = self.table.get(cid.encode())
                    state = GrowthState.from_bytes(raw) if raw else GrowthState(cid)
                    states[cid] = state
                self.watermark = max(self.watermark, event.ts)
                if apply_growth_event(state, event, self.config) == "changed":
                    changed.add(cid)
        for cid in changed:
            self.table[cid.encode()] = states[cid].to_bytes()
        return [
            Snapshot(cid, s.version, facts(s, self.config), arrival(s, self.config))
            for cid, s in sorted(states.items())
        ]
