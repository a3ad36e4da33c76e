"""Prometheus metrics of the scorer (served on its metrics port)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter("vitals_scorer_events_total", "Events seen by the scorer, by outcome", ["status"])
DEAD_LETTERS = Counter(
    "vitals_scorer_dead_letters_total", "Records and events sent to events.dead", ["reason"]
)
DEAD_KINDS = frozenset({"late", "future", "not JSON", "envelope", "empty record (no value)"})
SNAPSHOTS = Counter("vitals_scorer_snapshots_total", "Score snapshots published to scores")
BATCH_SECONDS = Histogram(
    "vitals_scorer_batch_seconds",
    "Time to score one batch of records (fold + evaluate + publish)",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
)
EVENT_LAG = Histogram(
    "vitals_scorer_event_lag_seconds",
    "Wall-clock time from an event's timestamp to its snapshot being published",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 300, 3600, 86400),
)
WATERMARK = Gauge("vitals_scorer_watermark_seconds", "Latest event time applied", ["partition"])
PROJECTED = Counter("vitals_projector_snapshots_total", "Snapshots written to Redis")
ALERTS = Counter("vitals_alerts_raised_total", "Alerts raised by the scorer, by rule", ["rule"])
TIMERS_FIRED = Counter("vitals_scorer_timers_fired_total", "Silence timers fired")
TIMERS_PENDING = Gauge("vitals_scorer_timers_pending", "Silence timers scheduled on this worker")
