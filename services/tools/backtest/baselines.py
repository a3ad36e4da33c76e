"""Naive baselines a scoring model has to beat, computed from raw events in one pass.

- ``days_since_last_activity``: days from the customer's latest event (any type) to as_of.
  Higher = more likely to churn. The "who has gone quiet" list every team starts with.
- ``usage_14d``: usage events in (as_of − 14 days, as_of]. Lower = more likely to churn.

They read the raw stream as it is (resends and late events included), as a naive report would;
events after as_of are ignored so the same file can be fed whole.
"""

from __future__ import annotations

from dataclasses import dataclass

SECONDS_PER_DAY = 86_400.0
# The usage window of the "recent usage" baseline: two weeks covers weekly rhythms twice.
USAGE_WINDOW_DAYS = 14.0


@dataclass
class _Seen:
    last_ts: float
    usage_recent: int


class BaselineAccumulator:
    """Feed events with ``add``; read the baselines at ``as_of_ts`` with ``result``."""

    def __init__(self, as_of_ts: float, usage_window_days: float = USAGE_WINDOW_DAYS) -> None:
        self.as_of_ts = as_of_ts
        self._window_start = as_of_ts - usage_window_days * SECONDS_PER_DAY
        self._seen: dict[str, _Seen] = {}

    def add(self, customer_id: str, event_type: str, ts: float) -> None:
        """Count one event (Unix seconds); events after as_of are ignored."""
        if ts > self.as_of_ts:
            return
        seen = self._seen.get(customer_id)
        if seen is None:
            seen = self._seen[customer_id] = _Seen(ts, 0)
        elif ts > seen.last_ts:
            seen.last_ts = ts
        if event_type == "usage" and ts > self._window_start:
            seen.usage_recent += 1

    def result(self) -> dict[str, dict[str, float]]:
        """customer_id -> {"days_since_last_activity": days, "usage_14d": count}."""
        return {
            cid: {
                "days_since_last_activity": (self.as_of_ts - seen.last_ts) / SECONDS_PER_DAY,
                "usage_14d": float(seen.usage_recent),
            }
            for cid, seen in self._seen.items()
        }
