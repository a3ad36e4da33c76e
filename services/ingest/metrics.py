"""Prometheus metrics of the ingest service, on a registry of their own per app.

A registry per app (not the process-global one) lets tests build many apps in one process and
keeps /metrics to this service's numbers.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from vitals.core.events import Event
from vitals.platform.http_metrics import RequestMetrics

# Request latency buckets (seconds): validation of a full batch takes milliseconds, acks=all a
# few more; the top buckets catch waits on an unhealthy Kafka up to the delivery timeout.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.events_accepted = Counter(
            "vitals_ingest_events_accepted",
            "Events validated and acknowledged by Kafka.",
            registry=self.registry,
        )
        self.events_rejected = Counter(
            "vitals_ingest_events_rejected",
            "Events that broke the contract, by the field at fault.",
            ["reason"],
            registry=self.registry,
        )
        self.events_ignored = Counter(
            "vitals_ingest_events_ignored",
            "Well-formed items with nothing to score (alias, identify in B2B mode, ...).",
            registry=self.registry,
        )
        self.batches = Counter(
            "vitals_ingest_batches",
            "POST /v1/batch requests by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.produce_failures = Counter(
            "vitals_ingest_produce_failures",
            "Batches Kafka did not acknowledge (answered 503), by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.http = RequestMetrics("ingest", LATENCY_BUCKETS, self.registry)

    def rejected(self, field: str | None, is_object: bool) -> None:
        """Count a rejected event under the contract field at fault, "not_object" or
        "unknown_field": a bounded label set, so made-up field names cannot blow it up."""
        if not is_object:
            reason = "not_object"
        elif field in Event.model_fields:
            reason = str(field)
        else:
            reason = "unknown_field"
        self.events_rejected.labels(reason=reason).inc()
