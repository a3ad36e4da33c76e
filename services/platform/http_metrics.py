"""Prometheus metrics of an HTTP service: latency and requests by route, method and status.

A plain ASGI middleware (not ``BaseHTTPMiddleware``, which costs a task per request), used by
ingest and the API alike. The route label is the matched route's path template
(``/v1/customers/{customer_id}``), never the raw path, so a scan of ids or of made-up paths cannot
blow up the number of series. Collectors live on a registry the caller passes (one per app), so
several apps in one process (tests) do not collide and /metrics shows the service's own numbers.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Label of requests that matched no route (404s of any path).
UNMATCHED_ROUTE = "unmatched"


class RequestMetrics:
    """``vitals_<service>_request_duration_seconds`` and ``vitals_<service>_requests_total``."""

    def __init__(
        self, service: str, buckets: tuple[float, ...], registry: CollectorRegistry
    ) -> None:
        self.registry = registry
        self.latency = Histogram(
            f"vitals_{service}_request_duration_seconds",
            f"Time to answer a {service} request, by route template and method.",
            ("route", "method"),
            buckets=buckets,
            registry=registry,
        )
        self.requests = Counter(
            f"vitals_{service}_requests",
            f"{service} requests answered, by route template, method and HTTP status.",
            ("route", "method", "status"),
            registry=registry,
        )


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            label = getattr(route, "path", None) or UNMATCHED_ROUTE
            method = scope.get("method", "")
            self.metrics.latency.labels(label, method).observe(time.perf_counter() - start)
            self.metrics.requests.labels(label, method, str(status)).inc()
