"""Population totals from entity facts, kept exactly under at-least-once delivery.

The projection stores, per entity, the version and facts of its latest snapshot, and per metric
a hash of ``day|slot -> total``. Applying a snapshot replaces the entity's facts: totals move by
(new - old) for every field. A snapshot older than the stored one is ignored; the same snapshot
twice moves nothing. ``Totals.apply`` is the in-memory twin of the Redis script in
``projection.py`` (tests hold the two to the same results).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

# metric -> "day|slot" -> total
Aggregates = dict[str, dict[str, int]]
V = TypeVar("V")


def split(fact: str) -> tuple[str, str]:
    metric, _, rest = fact.partition("|")
    return metric, rest


@dataclass(frozen=True)
class Snapshot:
    """What an entity contributes: its facts, and what the K-factor reads of it as a referrer
    (arrival as a customer, acquisition cohort)."""

    entity: str
    version: int
    facts: dict[str, int]
    arrival: float | None
    cohort: str | None


@dataclass
class Totals:
    """Per-metric totals plus each entity's last applied (version, facts)."""

    metrics: Aggregates = field(default_factory=dict)
    entities: dict[str, tuple[int, dict[str, int]]] = field(default_factory=dict)
    arrivals: dict[str, float] = field(default_factory=dict)
    cohorts: dict[str, str] = field(default_factory=dict)

    def apply(
        self,
        entity: str,
        version: int,
        facts: dict[str, int],
        arrival: float | None = None,
        cohort: str | None = None,
    ) -> bool:
        stored = self.entities.get(entity)
        if stored is not None and stored[0] > version:
            return False
        old = stored[1] if stored is not None else {}
        for fact in set(old) | set(facts):
            delta = facts.get(fact, 0) - old.get(fact, 0)
            if delta:
                metric, rest = split(fact)
                bucket = self.metrics.setdefault(metric, {})
                value = bucket.get(rest, 0) + delta
                if value:
                    bucket[rest] = value
                else:
                    del bucket[rest]
                    if not bucket:
                        del self.metrics[metric]
        self.entities[entity] = (version, dict(facts))
        _keep(self.arrivals, entity, arrival)
        _keep(self.cohorts, entity, cohort)
        return True

    def apply_snapshot(self, snap: Snapshot) -> bool:
        return self.apply(snap.entity, snap.version, snap.facts, snap.arrival, snap.cohort)


def _keep(cards: dict[str, V], entity: str, value: V | None) -> None:
    """Set or clear an entity's field, as the script's HSET/HDEL does."""
    if value is None:
        cards.pop(entity, None)
    else:
        cards[entity] = value


def from_facts(all_facts: Iterable[dict[str, int]]) -> Aggregates:
    """Plain sums (the brute-force reference: one fact set per entity, no history)."""
    out: Aggregates = {}
    for entity_facts in all_facts:
        for fact, value in entity_facts.items():
            metric, rest = split(fact)
            bucket = out.setdefault(metric, {})
            bucket[rest] = bucket.get(rest, 0) + value
    return {m: {k: v for k, v in b.items() if v} for m, b in out.items()}
