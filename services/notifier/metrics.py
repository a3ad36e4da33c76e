"""Prometheus metrics of alert delivery. One ``AlertMetrics`` per registry; tests pass their own
``CollectorRegistry`` so they can read values without touching the process-wide one."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

# Delivery latency is measured from the alert's raised_at to the platform's 2xx: seconds when
# healthy, minutes when retrying, so the buckets span 0.1 s to the 10-minute retry budget.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)
# Timer-driven alerts (gone quiet, repurchase) from the predicted crossing to the 2xx: the scorer's
# timers fire within seconds of the moment when all is well; a scorer catching up after downtime
# or a long retry can take hours, so the buckets go from 1 s to a day.
CROSSING_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 86400)


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.deliveries = Counter(
            "vitals_alert_deliveries_total",
            "Alert deliveries by destination kind and outcome "
            "(delivered, dead, duplicate, acked, snoozed).",
            ["kind", "outcome"],
            registry=registry,
        )
        self.attempts = Counter(
            "vitals_alert_delivery_attempts_total",
            "HTTP attempts to deliver alert messages by kind and result (ok/retryable/permanent).",
            ["kind", "result"],
            registry=registry,
        )
        self.latency = Histogram(
            "vitals_alert_delivery_latency_seconds",
            "Seconds from an alert's raised_at to its delivery.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.crossing_to_delivery = Histogram(
            "vitals_alert_crossing_to_delivery_seconds",
            "Seconds from a timer alert's predicted crossing (predicted_at_ts) to its delivery.",
            ["kind"],
            buckets=CROSSING_BUCKETS,
            registry=registry,
        )
        self.suppressed = Counter(
            "vitals_alert_suppressed_total",
            "Alerts not delivered because a CSM acknowledged them or snoozed their rule for the "
            "customer, by reason (acked, snoozed); counted once per alert.",
            ["reason"],
            registry=registry,
        )
        self.queue_depth = Gauge(
            "vitals_alert_queue_depth",
            "Alerts waiting to be delivered, per destination.",
            ["destination"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "vitals_alert_dead_letters_total",
            "Alerts given up on for a destination, by kind.",
            ["kind"],
            registry=registry,
        )
        self.digests = Counter(
            "vitals_alert_digests_total",
            "Digest messages sent instead of single alerts, by kind.",
            ["kind"],
            registry=registry,
        )


_default: AlertMetrics | None = None


def default_metrics() -> AlertMetrics:
    """The process-wide metrics on the default registry (created once, on first use)."""
    global _default
    if _default is None:
        _default = AlertMetrics()
    return _default
